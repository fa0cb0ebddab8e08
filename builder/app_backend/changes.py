"""What a change stream of an app's data sends: which changes of the log (builder/store/app_changes.py) a viewer hears,
as server-sent events, and where in the log a stream has read to. Pure (no I/O): builder/services/app_changes.py polls.

A change is heard only by a viewer the rules let read its row (`allows(..., "read", ...)` with the row's owner, as for
a get): a made or changed row is sent whole as it is now (nothing if it was deleted since: its delete follows), a
deleted one by its id alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules, allows

Kind = Literal["create", "update", "delete"]
# Ids are taken in one order and committed in another (PostgreSQL's concurrent writes): a change committed this long
# after one with a higher id is still heard; the cursor only moves past an id once it has been seen this long.
GRACE_S = 3.0


@dataclass
class Cursor:
    """Where a stream has read the log to: every change up to `floor` is settled; those above it already seen are in
    `seen` (with when they were first seen), so a change is sent once even when it is read again."""

    floor: int
    seen: dict[int, float] = field(default_factory=dict)

    def fresh(self, change_id: int, now: float) -> bool:
        """Whether `change_id` is new to this stream (and from now on, it is not)."""
        if change_id <= self.floor or change_id in self.seen:
            return False
        self.seen[change_id] = now
        return True

    def settle(self, now: float, full: bool = False) -> None:
        """Move past the changes seen GRACE_S ago or more; past all seen when a whole page held nothing new (`full`),
        so a busy log never keeps a stream rereading one page."""
        settled = [cid for cid, when in self.seen.items() if full or now - when >= GRACE_S]
        if settled:
            self.floor = max(self.floor, *settled)
            self.seen = {cid: when for cid, when in self.seen.items() if cid > self.floor}


def hears(rules: DataRules, collection: str, viewer: AppViewer, owner: str | None) -> bool:
    return allows(rules, collection, "read", viewer, owner)


def event(change_id: int, kind: Kind, body: dict[str, object]) -> str:
    """One server-sent event: its id is the change's, so a browser that reconnects resumes after it (Last-Event-ID)."""
    return f"id: {change_id}\nevent: {kind}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def last_event_id(header: str | None) -> int | None:
    """The change a reconnecting browser heard last (its Last-Event-ID), or None for a new stream or a value that is
    not one of ours (a stream then starts from now rather than refusing a browser's own retry)."""
    if header is None or not header.isdigit() or len(header) > 18:
        return None
    return int(header)
