"""The app's data rules (`.forja/data.json`) as review findings: what they let anyone, or any user, do to rows of
others. One finding per kind of risk, naming every collection it touches (a change to the file makes them all stale).

- anyone (not signed in) may add, change or delete rows: critical, it stops a publish;
- anyone may read every row: high;
- any signed-in user may change or delete any row, not only their own: high;
- any signed-in user may read every row, not only their own: medium (the bookings starter's `taken` times, which
  hold no names, are such a case on purpose).
A file that cannot be read is one critical finding with the sentence that says what to write (a publish of it is
refused before its build anyway).
"""

from __future__ import annotations

import json

from builder.app_backend.rules import ACTIONS, RULES_PATH, Action, DataRules, parse_rules
from builder.errors import RulesError
from builder.review.findings import Finding, Severity
from builder.wording import joined

CHECK = "rules"

_DOES: dict[Action, str] = {
    "read": "see every row of {}",
    "create": "add rows to {}",
    "update": "change any row of {}",
    "delete": "delete any row of {}",
}
# kind -> (who, whose actions, severity, the opening of its sentence, what the model is asked to change)
_KINDS: dict[str, tuple[str, tuple[Action, ...], Severity, str, str]] = {
    "public-write": (
        "public",
        ("create", "update", "delete"),
        Severity.critical,
        "Anyone, even without signing in, can",
        "let only signed-in users add rows (\"signed-in\") and only a row's owner or the app's admins change or delete it "
        '("owner" or "admin")',
    ),
    "public-read": (
        "public",
        ("read",),
        Severity.high,
        "Anyone, even without signing in, can",
        'let users see only their own rows ("owner"), or only signed-in users ("signed-in") if every row is meant for all',
    ),
    "signed-in-write": (
        "signed-in",
        ("update", "delete"),
        Severity.high,
        "Anyone who signs in can",
        'let only a row\'s owner or the app\'s admins change or delete it ("owner" or "admin")',
    ),
    "signed-in-read": (
        "signed-in",
        ("read",),
        Severity.medium,
        "Anyone who signs in can",
        'let users see only their own rows ("owner"), unless every row is meant for every user',
    ),
}


def rules_findings(raw: bytes | None) -> list[Finding]:
    """The findings of a `.forja/data.json`'s bytes (None: the version has no rules file, so no data API rows)."""
    if raw is None:
        return []
    try:
        rules = parse_rules(raw)
    except RulesError as exc:
        return [
            Finding(
                check=CHECK,
                kind="unreadable",
                severity=Severity.critical,
                message=f"The app's data rules cannot be read, so it cannot be published: {exc.message}",
                file=RULES_PATH,
                fix=f"Rewrite {RULES_PATH} so it can be read: {exc.message}",
            )
        ]
    text = raw.decode("utf-8-sig")
    findings = []
    for kind, (who, actions, severity, opening, change) in _KINDS.items():
        doings = _doings(rules, who, actions)
        if not doings:
            continue
        names = list(dict.fromkeys(name for name, _ in doings))
        findings.append(
            Finding(
                check=CHECK,
                kind=kind,
                severity=severity,
                message=f"{opening} {joined([_DOES[action].format(repr(name)) for name, action in doings])}"
                + (", not only their own." if who == "signed-in" else "."),
                file=RULES_PATH,
                line=_line_of(text, names[0]),
                fix=f"In {RULES_PATH}, for {joined([repr(name) for name in names])}: {change}.",
            )
        )
    return findings


def _doings(rules: DataRules, who: str, actions: tuple[Action, ...]) -> list[tuple[str, Action]]:
    return [
        (name, action)
        for name, rule in rules.collections.items()
        for action in ACTIONS
        if action in actions and rule.get(action) == who
    ]


def _line_of(text: str, name: str) -> int | None:
    """The line that names the collection (its key, quoted as JSON writes it)."""
    at = text.find(json.dumps(name))
    return text.count("\n", 0, at) + 1 if at >= 0 else None
