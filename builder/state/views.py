"""What the workspace page shows, computed from the services' data: no Reflex state here.

Kept apart from the state classes so each view can be tested on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from typing import Literal

from builder.generation.who_connects import for_reader, tells_admin
from builder.logview import LogEntry, path_prefixes, relative_paths
from builder.models import Author
from builder.schemas import CodeReference, FileDiff, GenerationInfo, Usage, VerificationInfo, VersionInfo
from builder.settings import settings
from builder.wording import DUPLICATED_FROM, plural
from preview_runtime.logs import LogLine
from preview_runtime.runner import PreviewInfo, PreviewState

# A diff longer than this is cut: the page would not show tens of thousands of lines usefully.
MAX_DIFF_LINES = 2000
AUTHOR_LABELS = {Author.user: "You", Author.ai: "Forja AI", Author.template: "Starter", Author.import_: "Import"}


def author_label(author: Author, message: str) -> str:
    """Who made a version, in a word. A duplicate is stored as an import (its files came from
    elsewhere), but "Import" beside "Duplicated from Menu version 2" told a person the wrong story."""
    if author == Author.import_ and message.startswith(DUPLICATED_FROM):
        return "Copy"
    return AUTHOR_LABELS[author]


PREVIEW_WORDS = {
    PreviewState.starting: "Starting the preview...",
    PreviewState.installing: "Installing dependencies...",
    PreviewState.running: "Starting the dev server...",
    PreviewState.reconnecting: "Reconnecting to the app... Its connection stopped, and Forja is bringing it back.",
    PreviewState.not_answering: "The app stopped answering. Its log may say why; restarting the preview starts it again.",
}
WAKING_WORDS = "Waking the app up: it was parked after a while unused..."
# The file a person most likely wants to see first, best first.
FIRST_FILES = (
    "src/App.jsx",
    "src/App.tsx",
    "src/App.vue",
    "src/App.svelte",
    "index.html",
    "app.py",
    "main.py",
    "server.js",
    "README.md",
)


@dataclasses.dataclass
class TreeRow:
    path: str
    name: str
    depth: int
    is_dir: bool
    expanded: bool


Tone = Literal["gray", "blue", "red", "orange", "green", "amber", "violet", "iris"]


@dataclasses.dataclass
class AcceptanceRow:
    """One acceptance check under a check in the conversation: what it tried, whether it held, the page at its end."""

    title: str
    passed: bool
    message: str
    image: str


@dataclasses.dataclass
class AskedQuestion:
    """A planner's question as the plan's form shows it: its options (none: answered in words), whether the person may
    answer in their own words too, and what they chose or typed so far (once answered, `chosen` is the answer)."""

    question: str
    options: list[str]
    # Whether it has options to pick, and whether it takes an answer in words (it has no options, or allows others).
    choice: bool
    words: bool
    chosen: str = ""
    own: str = ""


def asked_question(question: str, options: list[str], other: bool, answer: str = "") -> AskedQuestion:
    return AskedQuestion(question, options, bool(options), not options or other, answer)


@dataclasses.dataclass
class DiffLine:
    kind: str  # "add", "remove", "hunk", "meta" or "context"
    text: str


@dataclasses.dataclass
class DiffFileView:
    path: str
    status: str
    summary: str
    lines: list[DiffLine]


def diff_lines(diff: str) -> list[DiffLine]:
    lines = []
    for text in diff.splitlines()[:MAX_DIFF_LINES]:
        if text.startswith(("+++", "---")):
            kind = "meta"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "remove"
        else:
            kind = "context"
        lines.append(DiffLine(kind, text))
    return lines


def diff_views(files: Sequence[FileDiff]) -> list[DiffFileView]:
    """Files' changes as the page shows them: a badge, a path, +/- counts and coloured lines."""
    return [
        DiffFileView(
            path=f.path,
            status=f.status,
            summary="binary" if f.binary else f"+{f.lines_added} \u2212{f.lines_removed}",
            lines=diff_lines(f.diff),
        )
        for f in files
    ]


@dataclasses.dataclass
class StepRow:
    """One step of an agent run: what it did, whether it went well, more on it folded, and a page's screenshot."""

    number: int
    label: str
    ok: bool
    detail: str
    image: str


@dataclasses.dataclass
class CodeLink:
    """A place an answer relies on: opens its file at its line in the Code tab."""

    label: str
    path: str
    line: int


@dataclasses.dataclass
class ChatEntry:
    kind: str  # "prompt", "repair", "version", "check", "answer", "steps", "approval", "questions" or "error"
    author: str
    message: str
    time: str
    detail: str
    # A check's screenshot (an API path), and whether "Fix this" is offered for its problems.
    image: str = ""
    fixable: bool = False
    # Radix colour of its badge and background.
    tone: Tone = "gray"
    # Pictures the person sent with the prompt (API paths).
    pictures: list[str] = dataclasses.field(default_factory=list)
    # A check's acceptance checks (the project's `.forja/checks/`), each with its own screenshot.
    acceptance: list[AcceptanceRow] = dataclasses.field(default_factory=list)
    # An answer's places (Ask mode), each opening the Code tab at its line.
    links: list[CodeLink] = dataclasses.field(default_factory=list)
    # An agent run's steps; for its change waiting for approval or its questions, the run; the change's diff.
    steps: list[StepRow] = dataclasses.field(default_factory=list)
    run_id: int = 0
    diff: list[DiffFileView] = dataclasses.field(default_factory=list)
    # Set from `message`: the page folds a long one to its first lines behind "Show all"; one that tells an admin
    # to connect a model links the admin page's Models section.
    long: bool = dataclasses.field(init=False, default=False)
    links_models: bool = dataclasses.field(init=False, default=False)

    def __post_init__(self) -> None:
        self.long = is_long_message(self.message)
        self.links_models = tells_admin(self.message)


# A 20,000-character prompt made a 9,760 px bubble; past these, a message is folded. The CSS
# (.chat-message) shows the same number of lines.
LONG_MESSAGE_CHARS = 600
LONG_MESSAGE_LINES = 8


def is_long_message(message: str) -> bool:
    return len(message) > LONG_MESSAGE_CHARS or message.count("\n") >= LONG_MESSAGE_LINES


@dataclasses.dataclass
class ProviderOption:
    value: str
    label: str


# Preview folders are cut from the paths the Logs tab shows: a path reads as the Code tab names it.
_PREVIEW_DIRS = path_prefixes(settings.data_dir)


def log_fields(line: LogLine) -> tuple[int, str, str, str, str]:
    return line.seq, line.time.strftime("%H:%M:%S"), line.level.value, line.source, relative_paths(line.text, _PREVIEW_DIRS)


def logs_text(entries: list[LogEntry]) -> str:
    """The Logs tab as plain text, for the clipboard."""
    return "\n".join(f"{e.time} [{e.level}] {e.source}: {e.text}" for e in entries)


def tree_rows(paths: list[str], collapsed: set[str]) -> list[TreeRow]:
    """Flatten paths into visible rows: folders first, then files, hiding collapsed folders."""
    nested: dict = {}
    for path in paths:
        node = nested
        for part in path.split("/")[:-1]:
            node = node.setdefault(part + "/", {})
        node[path.rsplit("/", 1)[-1]] = path

    rows: list[TreeRow] = []

    def walk(node: dict, prefix: str, depth: int) -> None:
        for key in sorted(node, key=lambda k: (not k.endswith("/"), k.lower())):
            if key.endswith("/"):
                folder = prefix + key[:-1]
                rows.append(TreeRow(folder, key[:-1], depth, True, folder not in collapsed))
                if folder not in collapsed:
                    walk(node[key], folder + "/", depth + 1)
            else:
                rows.append(TreeRow(node[key], key, depth, False, False))

    walk(nested, "", 0)
    return rows


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b, %H:%M")


def _cost(made_by: GenerationInfo) -> str:
    tokens = f" \u00b7 {made_by.input_tokens + made_by.output_tokens:,} tokens"
    return tokens + (f" \u00b7 about ${made_by.cost_usd:.3f}" if made_by.cost_usd is not None else " \u00b7 cost unknown")


def answer_entry(answer: str, references: Sequence[CodeReference], when: str) -> ChatEntry:
    """Ask mode's answer in the conversation, with a link to each place it relies on."""
    links = [CodeLink(f"{r.path}:{r.line}" + (f" \u00b7 {r.note}" if r.note else ""), r.path, r.line) for r in references]
    return ChatEntry("answer", "Forja", answer, when, "Answered from the files; nothing was changed.", links=links)


def steps_entry(g: GenerationInfo, when: str) -> ChatEntry:
    """An agent run's steps, in order, under its prompt."""
    base = f"/api/projects/{g.project_id}/agent/{g.id}/steps"
    rows = [StepRow(s.number, s.label, s.ok, s.detail, f"{base}/{s.number}/screenshot" if s.screenshot else "") for s in g.steps]
    failed = sum(1 for s in g.steps if not s.ok)
    detail = f"{plural(failed, 'step')} went wrong and the agent went on." if failed else ""
    return ChatEntry("steps", "Agent", f"Worked in {plural(len(rows), 'step')}.", when, detail, tone="iris", steps=rows)


def approval_entry(g: GenerationInfo, when: str, diff: list[DiffFileView]) -> ChatEntry:
    """An agent run's change that waits for the person: its summary, what it changes, and its diff."""
    pending = g.pending
    files = len(pending.writes) + len(pending.deletes) if pending else 0
    summary = pending.summary if pending else g.summary
    detail = f"Waiting for your approval: {plural(files, 'file')} changed. Accept it to save it as a version."
    return ChatEntry("approval", "Agent", summary, when, detail, tone="amber", run_id=g.id, diff=diff)


def questions_entry(g: GenerationInfo, when: str) -> ChatEntry:
    """The questions an agent run asked: the page's form answers them while they wait (ConversationState.agent_asking);
    once answered, each with its answer."""
    told = "\n".join(f"{n}. {q.question}" + (f" {q.answer}" if q.answer else "") for n, q in enumerate(g.questions, 1))
    waiting = not any(q.answer for q in g.questions)
    message = "The agent has questions before it goes on." if waiting else "The agent asked, and you answered:"
    return ChatEntry("questions", "Agent", message, when, "" if waiting else told, tone="amber", run_id=g.id)


def asking_run(generations: Sequence[GenerationInfo]) -> GenerationInfo | None:
    """The agent run whose questions wait for answers, if it is the last the person asked for (repairs aside)."""
    last = next((g for g in reversed(generations) if g.kind != "repair"), None)
    return last if last is not None and last.questions and not any(q.answer for q in last.questions) else None


# What marks a plan's request in the conversation: the plan waiting to be built shows below the last one.
PLAN_ASKED = "Plan mode: asked for a plan"


def plan_request(prompt: str, when: str) -> ChatEntry:
    return ChatEntry("prompt", "You", prompt, when, PLAN_ASKED, tone="violet")


def chat_entries(
    versions: list[VersionInfo],
    generations: list[GenerationInfo],
    checks: Sequence[VerificationInfo] = (),
    names: Mapping[str, str] | None = None,
    me: str = "",
    diffs: Mapping[int, Sequence[FileDiff]] | None = None,
    admin: bool = False,
) -> list[ChatEntry]:
    """The conversation: each prompt, then what came of it (a version or an error), each check of a version with
    its screenshot, and Forja's repair rounds, in time order. "Fix this" is offered on the last check only.

    A prompt is "You" for the person `me` (and when who asked is unknown), else the asker's name from `names` (user id
    -> name): in a team, everyone sees who asked for what. An agent run lists its steps; its change waiting for
    approval shows with its diff from `diffs` (generation id -> unified diff). Replies and refusals are worded for
    the reader: an `admin` is told to connect a model themselves (who_connects.py)."""
    names = names or {}
    diffs = diffs or {}

    def asker(g: GenerationInfo) -> str:
        return "You" if not g.user_id or g.user_id == me else names.get(g.user_id, "Someone")

    timed: list[tuple[datetime, int, ChatEntry]] = []
    for g in generations:
        when = _when(g.created_at)
        if g.kind == "repair":
            timed.append((g.created_at, 0, ChatEntry("repair", "Forja", g.prompt, when, "Automatic repair", tone="orange")))
        elif g.kind == "plan":
            timed.append((g.created_at, 0, plan_request(g.prompt, when)))
        elif g.kind == "ask":
            timed.append((g.created_at, 0, ChatEntry("prompt", asker(g), g.prompt, when, "Ask mode: a question", tone="violet")))
            if g.outcome == "saved":
                timed.append((g.created_at, 1, answer_entry(g.summary, g.references, when)))
        else:
            pictures = [f"/api/pictures/{digest}" for digest in g.pictures]
            mode = "Agent mode" if g.kind == "agent" else ""
            timed.append((g.created_at, 0, ChatEntry("prompt", asker(g), g.prompt, when, mode, tone="blue", pictures=pictures)))
        if g.steps:
            timed.append((g.created_at, 1, steps_entry(g, when)))
        if g.questions:
            timed.append((g.created_at, 1, questions_entry(g, when)))
        if g.outcome == "awaiting":
            timed.append((g.created_at, 1, approval_entry(g, when, diff_views(diffs.get(g.id, ())))))
        elif g.outcome == "rejected":
            timed.append(
                (g.created_at, 1, ChatEntry("error", "Forja", "You rejected this change.", when, "Nothing was changed."))
            )
        if g.outcome == "failed":
            timed.append(
                (
                    g.created_at,
                    1,
                    ChatEntry("error", "Forja", for_reader(g.error, admin), when, "Nothing was changed.", tone="red"),
                )
            )
        elif g.outcome == "stopped":
            timed.append(
                (g.created_at, 1, ChatEntry("error", "Forja", "Stopped by you.", when, "Nothing was changed.", tone="red"))
            )
    for v in versions:
        detail = f"version {v.number} \u00b7 {plural(v.files_changed, 'file')} changed"
        made_by = next((g for g in generations if g.version == v.number), None)
        if made_by and made_by.provider != "offline":
            detail += _cost(made_by)
        timed.append(
            (
                v.created_at,
                2,
                ChatEntry(
                    "version",
                    author_label(v.author, v.message),
                    for_reader(v.message, admin) or "(no message)",
                    _when(v.created_at),
                    detail,
                    tone="orange" if v.author == Author.ai else "gray",
                ),
            )
        )
    for index, check in enumerate(checks):
        # A failed start's one problem is already the headline: listed again below it, it reads twice.
        # Failed acceptance checks are listed as such, with their reason, below the other problems.
        listed = [p.message for p in check.problems if p.message not in check.headline and p.kind != "acceptance"]
        problems = "\n".join([*(f"\u2022 {message}" for message in listed), *([check.note] if check.note else [])])
        last = index == len(checks) - 1
        entry = ChatEntry(
            "check",
            "Forja",
            check.headline,
            _when(check.created_at),
            problems,
            image=check.screenshot or "",
            fixable=last and check.status in ("problems", "failed"),
            tone="green" if check.status == "passed" else "amber",
            acceptance=[AcceptanceRow(a.title, a.passed, a.message, a.screenshot or "") for a in check.acceptance],
        )
        timed.append((check.created_at, 3, entry))
    return [entry for *_, entry in sorted(timed, key=lambda t: (t[0], t[1]))]


def usage_words(usage: Usage) -> str:
    """The project's spending in one line: "3 generations · 12,345 tokens · about $0.042"."""
    if not usage.input_tokens and not usage.output_tokens:  # none yet, or only offline starters
        return ""
    words = f"{plural(usage.generations, 'generation')} \u00b7 {usage.input_tokens + usage.output_tokens:,} tokens"
    if usage.cost_usd or not usage.cost_unknown:
        words += f" \u00b7 about ${usage.cost_usd:.3f}"
    if usage.cost_unknown:
        words += f" ({usage.cost_unknown} at an unknown price)"
    return words


def default_file(paths: list[str], binary: Set[str] = frozenset()) -> str:
    """The file a person most likely wants to see first; `binary`: the paths whose content is bytes."""
    for name in FIRST_FILES:
        if name in paths:
            return name
    return next((p for p in paths if p not in binary), paths[0])


# The first bytes of the pictures a browser shows, and their types; read from the content, since a picture
# may come without an extension.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)


def image_type(data: bytes) -> str | None:
    """The picture type of `data` ("image/png"), or None when it is no picture a browser shows."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return next((kind for magic, kind in _IMAGE_MAGIC if data.startswith(magic)), None)


def preview_words(info: PreviewInfo, waking: bool = False) -> str:
    """The waiting message of the Preview tab; empty once the preview answers (PreviewService.follow gives it a url).

    `waking`: the preview was parked, and this start wakes it.
    """
    if info.state == PreviewState.failed:
        # One sentence here; the log tail that may follow it is in the Logs tab.
        first = info.detail.split("\n", 1)[0].removesuffix(" Last lines:").rstrip(".")
        if first[1:2].islower():  # a sentence of its own goes on after the colon in lower case
            first = first[0].lower() + first[1:]
        return f"The preview failed: {first or 'see the Logs tab'}."
    if info.url:
        return ""
    return WAKING_WORDS if waking or info.state == PreviewState.parked else PREVIEW_WORDS.get(info.state, "")
