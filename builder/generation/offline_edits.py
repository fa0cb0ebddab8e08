"""Follow-ups offline starter mode can make without a model: plain edits of a rendered starter's files.

"call it Luna Bakery", "make it green", "dark theme", "change the tagline to ...", and
'replace "old" with "new"' are found in the request and applied where the starters put those
values (see templates/*/files). A request with none of them gets no change, so the caller can say
how to connect a model instead of saving nothing silently.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

COLOURS = {
    "red": "#dc2626", "orange": "#ea580c", "amber": "#d97706", "yellow": "#ca8a04", "green": "#16a34a",
    "teal": "#0d9488", "cyan": "#0891b2", "blue": "#2563eb", "indigo": "#4f46e5", "purple": "#9333ea",
    "violet": "#7c3aed", "pink": "#db2777", "rose": "#e11d48", "brown": "#92400e", "black": "#111827", "gray": "#4b5563",
}  # fmt: skip

_VERBS = r"make|use|switch|turn|change|set|give|call|name|rename|replace|add|remove|put|show|let|include|title"
# "and" splits a request only before a verb, so "call it Salt and Pepper" keeps its name whole.
_PARTS = re.compile(rf"[,;]|\.\s|(?<!\s)\s+then\s+|(?<!\s)\s+and\s+(?=(?:{_VERBS})\b)", re.IGNORECASE)
_RENAME = re.compile(
    r"\b(?:call\s+it|name\s+it|rename\s+(?:it\s+)?(?:to\s+)?|title\s+it|change\s+the\s+(?:name|title)\s+to)\s*"
    r"[\"\u201c']?(?P<name>[^\"\u201d]+?)[\"\u201d']?\s*[.!]?$",
    re.IGNORECASE,
)
_TAGLINE = re.compile(
    r"\b(?:tagline|subtitle|slogan|description)\s+(?:to|into|:)\s*[\"\u201c']?(?P<text>[^\"\u201d]+?)[\"\u201d']?\s*[.!]?$",
    re.IGNORECASE,
)
_REPLACE = re.compile(
    r"\b(?:replace|change)\s+[\"\u201c](?P<old>[^\"\u201d]+)[\"\u201d]\s+(?:with|to|into|by)\s+[\"\u201c](?P<new>[^\"\u201d]+)[\"\u201d]",
    re.IGNORECASE,
)
_HEX = r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b"
_ACCENT = re.compile(rf"--(?:color-)?accent:\s*(?P<hex>{_HEX})")
_DARK = re.compile(r"\bdark\b", re.IGNORECASE)
_LIGHT = re.compile(r"\b(?:light\s+(?:theme|mode)|make\s+it\s+light|no\s+dark)\b", re.IGNORECASE)
_HTML_TAG = re.compile(r"<html\b(?P<attrs>[^>]*)>")
_DARK_CLASS = ' class="dark"'
_SITE_DATA = re.compile(r"(?:^|/)site\.js(?:on)?$")


@dataclass
class Change:
    """The files a follow-up changed, what was done, and the parts of the request that were not."""

    files: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    title: str = ""


def colour_named(text: str) -> str | None:
    """The first colour of COLOURS the text names as a word ("green", not "evergreen")."""
    return next((name for name in COLOURS if re.search(rf"\b{name}\b", text, re.IGNORECASE)), None)


def _forms(path: str, text: str) -> str:
    """`text` as the starters write it into this kind of file (see starters._environment)."""
    if path.endswith((".js", ".json")):
        return json.dumps(text, ensure_ascii=False)[1:-1]
    if path.endswith((".html", ".htm", ".svg", ".xml")):
        return html.escape(text)
    if path.endswith(".md"):
        return text.replace("<", "&lt;").replace(">", "&gt;")
    return text


def _site_value(files: Mapping[str, str], key: str) -> str:
    """The starter's title or tagline: from site.js / site.json, else the HTML <title> or description."""
    for path, text in files.items():
        if _SITE_DATA.search(path):
            match = re.search(rf"[\"']?{key}[\"']?\s*:\s*(\"(?:[^\"\\]|\\.)*\")", text)
            if match:
                return str(json.loads(match.group(1)))
    pattern = r"<title>(.*?)</title>" if key == "title" else r'<meta name="description" content="(.*?)"'
    for path, text in files.items():
        if path.endswith(".html") and (match := re.search(pattern, text)):
            return html.unescape(match.group(1))
    return ""


def _replace_everywhere(files: dict[str, str], old: str, new: str) -> bool:
    changed = False
    for path, text in files.items():
        before, after = _forms(path, old), _forms(path, new)
        if before and before in text:
            files[path] = text.replace(before, after)
            changed = True
    return changed


def _rename(files: dict[str, str], new: str) -> bool:
    old = _site_value(files, "title")
    if not old or not _replace_everywhere(files, old, new):
        return False
    # The logo and the favicon show the title's first letter.
    letter = html.escape(new[:1].upper())
    for path, text in files.items():
        text = re.sub(r'(<span class="logo" aria-hidden="true">)[^<]*(</span>)', rf"\g<1>{letter}\g<2>", text)
        if path.endswith("favicon.svg"):
            text = re.sub(r"(<text[^>]*>)[^<]*(</text>)", rf"\g<1>{letter}\g<2>", text)
        files[path] = text
    return True


def _recolour(files: dict[str, str], new: str) -> bool:
    old = next((m.group("hex") for text in files.values() if (m := _ACCENT.search(text))), "")
    if not old:
        return False
    for path, text in files.items():
        files[path] = re.sub(re.escape(old), new, text, flags=re.IGNORECASE)
    return old.lower() != new.lower()


def _theme(files: dict[str, str], dark: bool) -> bool:
    changed = False
    for path, text in files.items():
        if path.endswith(".html") and text.lstrip().lower().startswith("<!doctype"):

            def tag(match: re.Match[str]) -> str:
                # A server template (flask's base.html) sets its class from site.json, which is edited instead.
                if "{{" in match.group("attrs"):
                    return match.group(0)
                attrs = match.group("attrs").replace(_DARK_CLASS, "")
                return f"<html{attrs}{_DARK_CLASS if dark else ''}>"

            updated = _HTML_TAG.sub(tag, text, count=1)
        elif path.endswith("site.json"):
            updated = re.sub(r'"dark":\s*(?:true|false)', f'"dark": {json.dumps(dark)}', text)
        else:
            continue
        changed = changed or updated != text
        files[path] = updated
    return changed


def _one(part: str, files: dict[str, str], change: Change) -> bool:
    """Apply one part of the request; False when it is nothing offline mode can do here."""
    if match := _RENAME.search(part):
        name = " ".join(match.group("name").split())[:120]
        if name and _rename(files, name):
            change.title = name
            change.done.append(f"renamed it \u201c{name}\u201d")
            return True
        return False
    if match := _REPLACE.search(part):
        old, new = match.group("old"), match.group("new")
        if _replace_everywhere(files, old, new):
            change.done.append(f"replaced \u201c{old}\u201d with \u201c{new}\u201d")
            return True
        return False
    if match := _TAGLINE.search(part):
        old, new = _site_value(files, "tagline"), match.group("text").strip()
        if old and _replace_everywhere(files, old, new):
            change.done.append(f"changed the tagline to \u201c{new}\u201d")
            return True
        return False
    actions: list[tuple[Callable[[], bool], str]] = []
    colour = colour_named(part)
    hexa = re.search(_HEX, part)
    if colour or hexa:
        value = COLOURS[colour] if colour else hexa.group(0) if hexa else ""
        actions.append((lambda: _recolour(files, value), f"made the accent colour {colour or value}"))
    if _LIGHT.search(part):
        actions.append((lambda: _theme(files, dark=False), "switched to the light theme"))
    elif _DARK.search(part):
        actions.append((lambda: _theme(files, dark=True), "switched to the dark theme"))
    done = False
    for apply, words in actions:
        if apply():
            change.done.append(words)
            done = True
    return done


def edit(request: str, files: Mapping[str, str]) -> Change:
    """The follow-up applied to a copy of `files`; `change.files` holds only the files that differ."""
    working = dict(files)
    change = Change()
    for part in (p.strip() for p in _PARTS.split(request)):
        if part and not _one(part, working, change):
            change.not_done.append(part)
    change.files = {path: text for path, text in working.items() if text != files.get(path)}
    return change
