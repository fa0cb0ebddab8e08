"""builder.state.tab_memory: a project opens on the tab last chosen in it, in this browser, else on its app."""

from __future__ import annotations

import json

from builder.state.preview import BrowserFacts
from builder.state.tab_memory import KEPT, chosen_tabs, opening_tab, remember


def test_a_choice_is_kept_per_project_and_the_latest_wins() -> None:
    stored = remember("", "aaa", "code")
    stored = remember(stored, "bbb", "logs")
    stored = remember(stored, "aaa", "history")
    assert chosen_tabs(stored) == {"bbb": "logs", "aaa": "history"}
    # A tab that is not the page's own is not kept, and forgets the project's last choice.
    assert chosen_tabs(remember(stored, "aaa", "settings")) == {"bbb": "logs"}


def test_the_oldest_choices_go_past_the_limit() -> None:
    stored = ""
    for number in range(KEPT + 5):
        stored = remember(stored, f"p{number}", "code")
    kept = chosen_tabs(stored)
    assert len(kept) == KEPT and "p0" not in kept and f"p{KEPT + 4}" in kept
    # Choosing an old one again makes it the latest: it stays when the next ones come.
    stored = remember(stored, "p5", "logs")
    stored = remember(stored, "new", "code")
    assert chosen_tabs(stored)["p5"] == "logs"


def test_what_the_browser_holds_is_read_as_untrusted() -> None:
    assert chosen_tabs("") == {}
    assert chosen_tabs("not json {") == {}
    assert chosen_tabs('["code"]') == {}
    assert chosen_tabs(json.dumps({"a": "code", "b": "<script>", "c": 3, "d": ["logs"]})) == {"a": "code"}
    assert chosen_tabs(remember("garbage", "x", "terminal")) == {"x": "terminal"}


def test_a_project_opens_on_its_app_unless_the_person_chose_a_tab_this_page_shows() -> None:
    desktop = {"phone": False, "has_files": True, "can_edit": True}
    assert opening_tab(None, **desktop) == "preview"
    assert opening_tab("code", **desktop) == "code"
    assert opening_tab("terminal", **desktop) == "terminal"
    # The conversation is beside every tab on a desktop: its phone pane opens the app there.
    assert opening_tab("chat", **desktop) == "preview"
    assert opening_tab("chat", phone=True, has_files=True, can_edit=True) == "chat"
    # A viewer has no Terminal; a made-up tab is no choice.
    assert opening_tab("terminal", phone=False, has_files=True, can_edit=False) == "preview"
    assert opening_tab("settings", **desktop) == "preview"
    # A phone with nothing to preview yet opens on the chat that makes the app; a desktop shows both anyway.
    assert opening_tab(None, phone=True, has_files=False, can_edit=True) == "chat"
    assert opening_tab(None, phone=False, has_files=False, can_edit=True) == "preview"
    assert opening_tab(None, phone=True, has_files=True, can_edit=True) == "preview"


def test_the_browsers_answer_as_a_project_opens_is_read_as_untrusted() -> None:
    assert BrowserFacts.read({"phone": True, "webcontainers": True}) == BrowserFacts(phone=True, webcontainers=True)
    # Anything else reads as a desktop that runs no WebContainer: the server runner, never a boot on a made-up word.
    for sent in ("phone", None, 7, ["phone"], {"phone": "yes", "webcontainers": 1}):
        assert BrowserFacts.read(sent) == BrowserFacts(phone=False, webcontainers=False)
