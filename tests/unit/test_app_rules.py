"""The rules of an app's data (builder/app_backend/rules.py): every action against every rule and every kind of
viewer, as a table written out by hand; each mistake in `.forja/data.json` refused with its own sentence; and the
words the owner reads before publishing about rules that let anyone in."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import ACTIONS, Action, DataRules, allows, parse_rules, read_filter, risks
from builder.errors import ForjaError, RulesError

ANN, BOB, CAT = "u-ann", "u-bob", "u-cat"
# The row's owner is Ann; Bob is another user of the app; Cat is the app's admin; and someone not signed in.
VIEWERS = {
    "owner": AppViewer(user_id=ANN),
    "other": AppViewer(user_id=BOB),
    "admin": AppViewer(user_id=CAT, role="admin"),
    "anonymous": AppViewer(user_id=None),
}

# action, rule ("-": the action is left out), then whether the owner, another user, an admin, someone not signed in
# may do it on Ann's row (for "create": on a new row, which has no owner yet). "owner" cannot be a create rule.
ALLOWS = """
read    public     yes yes yes yes
read    signed-in  yes yes yes no
read    owner      yes no  yes no
read    admin      no  no  yes no
read    -          no  no  no  no
create  public     yes yes yes yes
create  signed-in  yes yes yes no
create  admin      no  no  yes no
create  -          no  no  no  no
update  public     yes yes yes yes
update  signed-in  yes yes yes no
update  owner      yes no  yes no
update  admin      no  no  yes no
update  -          no  no  no  no
delete  public     yes yes yes yes
delete  signed-in  yes yes yes no
delete  owner      yes no  yes no
delete  admin      no  no  yes no
delete  -          no  no  no  no
"""

# The rule for "read", then what a list holds for the owner, another user, an admin, someone not signed in.
LISTS = """
public     all  all  all  all
signed-in  all  all  all  none
owner      own  own  all  none
admin      none none all  none
-          none none none none
"""


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def one_rule(action: Action, who: str) -> DataRules:
    actions = {} if who == "-" else {action: who}
    return parse_rules(json.dumps({"collections": {"bookings": actions}}).encode())


ALLOWS_CASES = [
    pytest.param(action, who, viewer, answer == "yes", id=f"{action}-{who}-{viewer}")
    for action, who, *answers in table(ALLOWS)
    for viewer, answer in zip(VIEWERS, answers, strict=True)
]


def test_the_table_covers_every_action_rule_and_viewer() -> None:
    covered = {(action, who, viewer) for action, who, viewer, _ in (case.values for case in ALLOWS_CASES)}
    assert len(covered) == len(ALLOWS_CASES) == 4 * 5 * 4 - 4


@pytest.mark.parametrize(("action", "who", "viewer", "expected"), ALLOWS_CASES)
def test_who_may_do_what(action: Action, who: str, viewer: str, expected: bool) -> None:
    owner = None if action == "create" else ANN
    assert allows(one_rule(action, who), "bookings", action, VIEWERS[viewer], owner) is expected


@pytest.mark.parametrize(
    ("who", "viewer", "expected"),
    [
        pytest.param(who, viewer, answer, id=f"{who}-{viewer}")
        for who, *answers in table(LISTS)
        for viewer, answer in zip(VIEWERS, answers, strict=True)
    ],
)
def test_what_a_list_may_hold(who: str, viewer: str, expected: str) -> None:
    assert read_filter(one_rule("read", who), "bookings", VIEWERS[viewer]) == expected


@pytest.mark.parametrize("who", ["public", "signed-in", "owner", "admin", "-"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_a_list_holds_exactly_the_rows_the_viewer_may_read(who: str, viewer: str) -> None:
    # The data API filters lists in its query by read_filter and reads one row by allows: they must never disagree.
    rules, seen = one_rule("read", who), VIEWERS[viewer]
    rows = [ANN, BOB, CAT, None]
    readable = [owner for owner in rows if allows(rules, "bookings", "read", seen, owner)]
    listed = {"all": rows, "own": [owner for owner in rows if owner == seen.user_id], "none": []}
    assert listed[read_filter(rules, "bookings", seen)] == readable


@pytest.mark.parametrize("action", ["read", "update", "delete"])
def test_no_one_owns_a_row_without_an_owner_and_the_anonymous_own_nothing(action: Action) -> None:
    rules = one_rule(action, "owner")
    assert not allows(rules, "bookings", action, VIEWERS["anonymous"], None)
    assert not allows(rules, "bookings", action, VIEWERS["owner"], None)
    assert allows(rules, "bookings", action, VIEWERS["admin"], None)


def test_an_admin_role_without_a_user_is_no_one() -> None:
    nobody = AppViewer(user_id=None, role="admin")
    assert not allows(one_rule("read", "admin"), "bookings", "read", nobody, None)
    assert not allows(one_rule("delete", "owner"), "bookings", "delete", nobody, ANN)
    assert read_filter(one_rule("read", "owner"), "bookings", nobody) == "none"
    assert allows(one_rule("read", "public"), "bookings", "read", nobody, ANN)


def test_what_the_file_does_not_name_no_one_may_do_not_even_an_admin() -> None:
    rules = parse_rules(b'{"collections": {"bookings": {"read": "public", "create": "public"}, "notes": {}}}')
    admin = VIEWERS["admin"]
    for collection in ("notes", "recipes", "Bookings", ""):
        assert read_filter(rules, collection, admin) == "none"
        for action in ACTIONS:
            assert not allows(rules, collection, action, admin, ANN)
    assert not allows(rules, "bookings", "update", admin, ANN)
    assert not allows(rules, "bookings", "delete", admin, ANN)
    assert not allows(parse_rules(b"{}"), "bookings", "read", admin, ANN)


def test_the_example_of_the_docs_reads_as_it_says() -> None:
    rules = parse_rules(
        b'{"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"}}}'
    )
    assert rules.collections == {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"}}
    # Saved by an editor that starts its files with a byte-order mark.
    assert parse_rules(b'\xef\xbb\xbf{"collections": {}}') == DataRules()


@pytest.mark.parametrize("name", ["a", "bookings", "team-votes", "recipe_box2", "x" * 63])
def test_a_collection_name_is_a_safe_identifier(name: str) -> None:
    assert name in parse_rules(json.dumps({"collections": {name: {"read": "owner"}}}).encode()).collections


HOW_TO_NAME = (
    "cannot name a collection: use lower-case letters, digits, _ and -, starting with a letter, at most 63 characters "
    '(for example "bookings").'
)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("", '""'),
        ("Bookings", '"Bookings"'),
        ("2nd", '"2nd"'),
        ("_private", '"_private"'),
        ("my bookings", '"my bookings"'),
        ("a.b", '"a.b"'),
        ("a/../b", '"a/../b"'),
        ("bookings\n", '"bookings\\n"'),
        ("x" * 64, '"' + "x" * 40 + '..."'),
        ("réservations", '"r\\u00e9servations"'),
    ],
)
def test_a_collection_name_that_is_not_safe_is_refused_by_name(name: str, shown: str) -> None:
    with pytest.raises(RulesError) as refused:
        parse_rules(json.dumps({"collections": {name: {"read": "owner"}}}).encode())
    assert refused.value.message == f"{shown} {HOW_TO_NAME}"


WHO_WORDS = '"public", "signed-in", "owner" or "admin" (or leave it out, and no one may).'
EXAMPLE = '{"collections": {"bookings": {"read": "owner"}}}'


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (b"", f".forja/data.json is not valid JSON (line 1, column 1: expecting value); write it like {EXAMPLE}."),
        (
            b'{"collections": {"bookings": {"read": "owner",}}}',
            ".forja/data.json is not valid JSON (line 1, column 47: expecting property name enclosed in double quotes);"
            f" write it like {EXAMPLE}.",
        ),
        (b"\xff\xfe{}", ".forja/data.json is not UTF-8 text; save it as UTF-8."),
        (b"[" * 50_000, ".forja/data.json nests too deep to be rules; write one object of collections."),
        (b"[]", f".forja/data.json must be one object, like {EXAMPLE}."),
        (b"null", f".forja/data.json must be one object, like {EXAMPLE}."),
        (
            b'{"collections": {}, "users": {}}',
            '.forja/data.json knows only "collections" at its top, not "users"; move or remove it.',
        ),
        (
            b'{"collections": ["bookings"]}',
            '"collections" must be an object of collections by name, like {"bookings": {"read": "owner"}}.',
        ),
        (
            b'{"collections": {"bookings": "owner"}}',
            'Collection "bookings" must be an object of actions, like {"read": "owner", "create": "signed-in"}.',
        ),
        (
            b'{"collections": {"bookings": {"write": "owner"}}}',
            'In collection "bookings", "write" is not an action; write "read", "create", "update" or "delete".',
        ),
        (b'{"collections": {"bookings": {"read": "everyone"}}}', f'In collection "bookings", "read" must be {WHO_WORDS}'),
        (b'{"collections": {"bookings": {"read": "Public"}}}', f'In collection "bookings", "read" must be {WHO_WORDS}'),
        (b'{"collections": {"bookings": {"update": null}}}', f'In collection "bookings", "update" must be {WHO_WORDS}'),
        (b'{"collections": {"bookings": {"delete": true}}}', f'In collection "bookings", "delete" must be {WHO_WORDS}'),
        (
            b'{"collections": {"bookings": {"read": ["owner", "admin"]}}}',
            f'In collection "bookings", "read" must be {WHO_WORDS}',
        ),
        (
            b'{"collections": {"bookings": {"create": "owner"}}}',
            'In collection "bookings", "create" cannot be "owner": a row has no owner before it is made; write '
            '"signed-in" (each new row then belongs to the user who adds it) or "admin".',
        ),
        (
            b'{"collections": {"bookings": {"read": "owner", "read": "public"}}}',
            '.forja/data.json names "read" twice in one object; keep only one of them.',
        ),
        (
            b'{"collections": {"bookings": {}}, "collections": {}}',
            '.forja/data.json names "collections" twice in one object; keep only one of them.',
        ),
        (b" " * (64 * 1024 + 1), ".forja/data.json is larger than 64 KB; keep its rules shorter."),
    ],
    ids=lambda value: value[:40].decode(errors="replace") if isinstance(value, bytes) else "",
)
def test_each_mistake_in_the_file_is_refused_with_its_sentence(raw: bytes, sentence: str) -> None:
    with pytest.raises(RulesError) as refused:
        parse_rules(raw)
    assert refused.value.message == sentence
    assert isinstance(refused.value, ForjaError) and refused.value.status == 422


def test_the_file_names_at_most_two_hundred_collections() -> None:
    def named(count: int) -> bytes:
        return json.dumps({"collections": {f"c{n}": {"read": "owner"} for n in range(count)}}).encode()

    assert len(parse_rules(named(200)).collections) == 200
    with pytest.raises(RulesError) as refused:
        parse_rules(named(201))
    assert refused.value.message == ".forja/data.json names more than 200 collections; keep at most 200."


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
WORDS = st.sampled_from(["collections", "bookings", "read", "create", "update", "delete", "owner", "public", "admin"])
SHAPED = st.dictionaries(
    WORDS, st.dictionaries(WORDS, st.dictionaries(WORDS, JSON | WORDS, max_size=4) | JSON, max_size=3), max_size=2
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | (JSON | SHAPED).map(lambda value: json.dumps(value).encode()))
def test_any_file_is_either_rules_or_one_sentence(raw: bytes) -> None:
    # Whatever a person or the model writes there, the answer is rules or a RulesError: never another exception.
    try:
        parse_rules(raw)
    except RulesError as refused:
        assert refused.message.endswith(".") and "\n" not in refused.message


def test_safe_rules_give_the_owner_nothing_to_worry_about() -> None:
    rules = parse_rules(
        b'{"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"},'
        b' "staff": {"read": "admin", "create": "admin", "update": "admin", "delete": "admin"}, "empty": {}}}'
    )
    assert risks(rules) == []


def test_each_rule_that_lets_anyone_in_or_reaches_others_rows_is_said_in_words() -> None:
    rules = parse_rules(
        b'{"collections": {'
        b'"bookings": {"read": "public", "create": "public", "update": "public", "delete": "public"},'
        b'"votes": {"read": "signed-in", "create": "signed-in", "update": "signed-in", "delete": "signed-in"},'
        b'"recipes": {"read": "owner", "create": "signed-in", "update": "signed-in", "delete": "owner"}}}'
    )
    assert risks(rules) == [
        "Anyone, even without signing in, can see every row of 'bookings'.",
        "Anyone, even without signing in, can add rows to 'bookings'.",
        "Anyone, even without signing in, can change any row of 'bookings'.",
        "Anyone, even without signing in, can delete any row of 'bookings'.",
        "Anyone who signs in can see every row of 'votes', not only their own.",
        "Anyone who signs in can change any row of 'votes', not only their own.",
        "Anyone who signs in can delete any row of 'votes', not only their own.",
        "Anyone who signs in can change any row of 'recipes', not only their own.",
    ]
