"""The rules of an app's data: who may read, add, change and delete the rows of each of its collections.

A project writes them in `.forja/data.json`:

    {"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"}}}

Each action names who may do it: `public` (anyone, signed in or not), `signed-in` (any user of the app), `owner` (the
user who made the row) or `admin` (the app's admins). Whatever the file does not name is refused to everyone, admins
included: a collection it leaves out has no rows to give, an action it leaves out is done by no one. Where an action is
named, an admin may do it on every row. Pure (no I/O): the data API reads the file and asks `allows` and `read_filter`.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails

from builder.app_backend.identity import AppViewer
from builder.errors import RulesError

RULES_PATH = ".forja/data.json"
MAX_BYTES = 64 * 1024
MAX_COLLECTIONS = 200

Who = Literal["public", "signed-in", "owner", "admin"]
Action = Literal["read", "create", "update", "delete"]
ACTIONS: tuple[Action, ...] = ("read", "create", "update", "delete")
ReadFilter = Literal["all", "own", "none"]
CollectionName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]

_WHO_WORDS = '"public", "signed-in", "owner" or "admin"'
_ACTION_WORDS = '"read", "create", "update" or "delete"'


class DataRules(BaseModel):
    """The whole rules file: each collection by name, and who may do each action on its rows."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    collections: dict[CollectionName, dict[Action, Who]] = Field(default_factory=dict, max_length=MAX_COLLECTIONS)

    @model_validator(mode="after")
    def _no_owner_before_the_row(self) -> DataRules:
        for name, actions in self.collections.items():
            if actions.get("create") == "owner":
                # A row has no owner until it is made, so "owner" here would be a rule no one ever passes.
                raise ValueError(
                    f'In collection {_shown(name)}, "create" cannot be "owner": a row has no owner before it is '
                    'made; write "signed-in" (each new row then belongs to the user who adds it) or "admin".'
                )
        return self


def parse_rules(raw: bytes) -> DataRules:
    """The rules in a `.forja/data.json`'s bytes; RulesError, with one sentence saying what to write, otherwise."""
    if len(raw) > MAX_BYTES:
        raise RulesError(f"{RULES_PATH} is larger than {MAX_BYTES // 1024} KB; keep its rules shorter.")
    try:
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_repeats)
    except UnicodeDecodeError:
        raise RulesError(f"{RULES_PATH} is not UTF-8 text; save it as UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"{RULES_PATH} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg.lower()}); "
            'write it like {"collections": {"bookings": {"read": "owner"}}}.'
        ) from None
    except RecursionError:
        raise RulesError(f"{RULES_PATH} nests too deep to be rules; write one object of collections.") from None
    try:
        return DataRules.model_validate(data)
    except ValidationError as exc:
        raise RulesError(_sentence(exc.errors()[0])) from None


def _no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads keeps the last of two equal keys silently: a "read" written twice would hide the first rule.
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise RulesError(f"{RULES_PATH} names {_shown(key)} twice in one object; keep only one of them.")
        seen[key] = value
    return seen


def _shown(key: object) -> str:
    """A key from the file, quoted and cut short, for a sentence (it may be long or hold control characters)."""
    text = str(key)
    return json.dumps(text if len(text) <= 40 else text[:40] + "...")


def _sentence(error: ErrorDetails) -> str:
    """The first thing pydantic refused in the file, as a sentence naming where it is and what to write there."""
    loc, kind = error["loc"], error["type"]
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if not loc:
        return f'{RULES_PATH} must be one object, like {{"collections": {{"bookings": {{"read": "owner"}}}}}}.'
    if loc[0] != "collections":
        return f'{RULES_PATH} knows only "collections" at its top, not {_shown(loc[0])}; move or remove it.'
    if len(loc) == 1 and kind == "too_long":
        return f"{RULES_PATH} names more than {MAX_COLLECTIONS} collections; keep at most {MAX_COLLECTIONS}."
    if len(loc) == 1:
        return '"collections" must be an object of collections by name, like {"bookings": {"read": "owner"}}.'
    name = _shown(loc[1])
    if loc[-1] == "[key]" and len(loc) == 3:
        return (
            f"{name} cannot name a collection: use lower-case letters, digits, _ and -, starting with a letter, "
            'at most 63 characters (for example "bookings").'
        )
    if len(loc) == 2:
        return f'Collection {name} must be an object of actions, like {{"read": "owner", "create": "signed-in"}}.'
    if loc[-1] == "[key]":
        return f"In collection {name}, {_shown(loc[2])} is not an action; write {_ACTION_WORDS}."
    return f"In collection {name}, {_shown(loc[2])} must be {_WHO_WORDS} (or leave it out, and no one may)."


def _rule(rules: DataRules, collection: str, action: Action) -> Who | None:
    return rules.collections.get(collection, {}).get(action)


def _is_admin(viewer: AppViewer) -> bool:
    # An admin is a signed-in user: a role without a user (never made by sign-in) counts for nothing.
    return viewer.user_id is not None and viewer.role == "admin"


def _passes(who: Who, viewer: AppViewer, owner: str | None) -> bool:
    match who:
        case "public":
            return True
        case "signed-in":
            return viewer.user_id is not None
        case "owner":
            # Someone not signed in owns nothing, not even a row made by someone not signed in (owner None).
            return viewer.user_id is not None and viewer.user_id == owner
        case "admin":
            return _is_admin(viewer)


def allows(rules: DataRules, collection: str, action: Action, viewer: AppViewer, owner: str | None) -> bool:
    """Whether `viewer` may do `action` on a row of `collection` made by `owner` (None: no owner, or a new row)."""
    who = _rule(rules, collection, action)
    return who is not None and (_is_admin(viewer) or _passes(who, viewer, owner))


def read_filter(rules: DataRules, collection: str, viewer: AppViewer) -> ReadFilter:
    """Which rows of `collection` a list for `viewer` may hold: all of them, only those they made, or none.

    It agrees with `allows(..., "read", ...)` row by row, so the data API can filter in its query.
    """
    who = _rule(rules, collection, "read")
    if who is None:
        return "none"
    if _passes(who, viewer, None) or _is_admin(viewer):
        return "all"
    return "own" if who == "owner" and viewer.user_id is not None else "none"


_WHO_IN_WORDS: dict[Who, str] = {"public": "Anyone, even without signing in,", "signed-in": "Anyone who signs in"}
_DOES_IN_WORDS: dict[Action, str] = {
    "read": "can see every row of '{}'",
    "create": "can add rows to '{}'",
    "update": "can change any row of '{}'",
    "delete": "can delete any row of '{}'",
}


def risks(rules: DataRules) -> list[str]:
    """A sentence for the app's owner, before publishing, for each rule that lets anyone in or lets users reach rows
    of others: whatever `public` allows, and `signed-in` reading, changing or deleting."""
    sentences: list[str] = []
    for name, actions in rules.collections.items():
        for action in ACTIONS:
            who = actions.get(action)
            if who == "public" or (who == "signed-in" and action != "create"):
                mine = ", not only their own" if who == "signed-in" else ""
                sentences.append(f"{_WHO_IN_WORDS[who]} {_DOES_IN_WORDS[action].format(name)}{mine}.")
    return sentences
