"""A search of a project's text files for the lines a pattern matches: agent mode's `search_code`.

The pattern is the model's and the files may be anyone's (an imported project, a file planted to stall a worker), so the
search is bounded three ways: RE2 matches in time linear in each line (preview_runtime/patterns.py), at most
SEARCHED_BYTES of text are read, and it stops counting at MOST_COUNTED matches. Even so, a large project takes tens of
milliseconds: callers on the event loop run it in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from builder.filetree import human_size, text_of
from builder.wording import plural
from preview_runtime.patterns import LinearPattern

SHOWN_MATCHES = 80
LINE_CHARS = 200
SEARCHED_BYTES = 8 * 1024 * 1024
MOST_COUNTED = 1000


@dataclass
class Found:
    """The lines found (`path:line: text`, the first SHOWN_MATCHES), how many matched, and where the search stopped."""

    lines: list[str] = field(default_factory=list)
    matches: int = 0
    # Files left unread: reading them would have gone past SEARCHED_BYTES.
    unread: int = 0
    # True when it stopped counting at MOST_COUNTED.
    stopped: bool = False

    def summary(self) -> str:
        """What the lines do not say: how many more matched, what was left unread."""
        notes = []
        if self.matches > len(self.lines):
            more = self.matches - len(self.lines)
            notes.append(f"... and {'at least ' if self.stopped else ''}{more} more matches")
        if self.unread:
            notes.append(
                f"... {plural(self.unread, 'file')} not searched (a search reads at most {human_size(SEARCHED_BYTES)}); "
                "give a folder to search them."
            )
        return "\n".join(notes)


def search_files(tree: Mapping[str, bytes], pattern: LinearPattern, folder: str = "") -> Found:
    """The lines of the text files in `tree` (under `folder`) that `pattern` matches, in path order."""
    found = Found()
    budget = SEARCHED_BYTES
    paths = [path for path in sorted(tree) if not folder or path.startswith(folder + "/")]
    for path in paths:
        data = tree[path]
        if len(data) > budget:
            found.unread += 1
            continue
        text = text_of(data)
        if text is None:
            continue
        budget -= len(data)
        for number, line in enumerate(text.splitlines(), 1):
            if not pattern.search(line):
                continue
            found.matches += 1
            if len(found.lines) < SHOWN_MATCHES:
                found.lines.append(f"{path}:{number}: {line.strip()[:LINE_CHARS]}")
            if found.matches >= MOST_COUNTED:
                found.stopped = True
                return found
    return found
