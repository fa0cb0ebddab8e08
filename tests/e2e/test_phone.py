"""The workspace on a phone (390x844) and a tablet (820x1180): one pane at a time, a bottom tab bar.

Below 1024 px (Radix's `md`) the workspace shows one pane; an upright tablet gets that layout too.

At desktop width the workspace keeps its three panes; these tests take its screenshots too, light
and dark, so a change for phones that leaks into the desktop layout shows.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import ARTIFACTS, Traffic, choose_example, reopens_on_the_tab_chosen

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 820, "height": 1180}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}

# Every visible element that reaches past the viewport's left or right edge, as "tag#id.class right".
# Inside Monaco wide lines are clipped by the editor itself; elements clipped by a scrolling or
# clipping ancestor that fits the screen are not "cut off" from the page.
OVERFLOWING = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('[class*="monaco"]')) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed' && rect.top > window.innerHeight) continue;
    if (rect.right <= width + 0.5 && rect.left >= -0.5) continue;
    let clipped = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const ox = getComputedStyle(up).overflowX;
      if (ox !== 'visible') {
        const box = up.getBoundingClientRect();
        clipped = box.right <= width + 0.5 && box.left >= -0.5 && up !== document.querySelector('.workspace-page');
        break;
      }
    }
    if (!clipped) out.push(`${el.tagName.toLowerCase()}#${el.id}.${String(el.className).slice(0, 60)} ${Math.round(rect.left)}..${Math.round(rect.right)}`);
  }
  return out;
}"""

# Every visible control (button, link, field, tab) that is not wholly on screen, or that a clipping
# (not scrolling) ancestor cuts off: a toolbar too narrow for its buttons hides them this way.
CUT_OFF_CONTROLS = """() => {
  const width = window.innerWidth, height = window.innerHeight;
  const out = [];
  for (const el of document.body.querySelectorAll('button, a, input, textarea, [role=tab], [role=combobox]')) {
    if (el.closest('[class*="monaco"]')) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    let bad = rect.left < -0.5 || rect.right > width + 0.5;
    for (let up = el.parentElement; !bad && up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll' || style.overflowY === 'auto' || style.overflowY === 'scroll') break;
      if (style.overflowX !== 'visible') {
        const box = up.getBoundingClientRect();
        bad = rect.left < box.left - 0.5 || rect.right > box.right + 0.5;
      }
    }
    if (bad) out.push(`${el.tagName.toLowerCase()}#${el.id} "${el.textContent.trim().slice(0, 30)}" ${Math.round(rect.left)}..${Math.round(rect.right)}`);
  }
  return out;
}"""


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def assert_fits(page: Page, where: str) -> None:
    """No horizontal scrolling, and nothing visible cut off at the sides."""
    scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"{where}: the page scrolls sideways ({scroll_width} > {inner_width})"
    assert page.evaluate(OVERFLOWING) == [], f"{where}: elements reach past the screen's edge"
    assert page.evaluate(CUT_OFF_CONTROLS) == [], f"{where}: controls are cut off"


PANES = {
    "chat": ".conversation-pane",
    "preview": "#preview-frame",
    "code": "#file-tree",
    "logs": "#logs",
    "history": "#diff-totals",
}


def expect_only_pane(page: Page, shown: str) -> None:
    """`shown` is the one pane on screen, once the page has switched to it (a tap's switch takes a round trip)."""
    for name, selector in PANES.items():
        if name == shown:
            expect(page.locator(selector).first).to_be_visible()
        else:
            expect(page.locator(selector).first).to_be_hidden()


def assert_tab_bar(page: Page) -> None:
    bar = page.locator("#phone-tabs")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and abs(box["y"] + box["height"] - page.viewport_size["height"]) <= 1, box  # type: ignore[index]
    for tab in bar.get_by_role("tab").all():
        tab_box = tab.bounding_box()
        assert tab_box is not None and tab_box["height"] >= 44 and tab_box["width"] >= 44, tab_box
    expect(page.locator("#desktop-tabs")).to_be_hidden()


def test_phone_one_pane_at_a_time(forja: str, page: Page, traffic: Traffic) -> None:
    page.set_viewport_size(PHONE)
    page.goto(forja)
    # The home page at phone width: Build it is on the screen, not past its edge beside the note on how Forja builds.
    expect(page.locator("#build-button")).to_be_in_viewport(ratio=1)
    assert_fits(page, "home")
    choose_example(page, "A todo list with dark mode")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)

    # The generation's switch to Preview works on a phone: the Preview pane is the one shown.
    expect(page.locator("#phone-tab-preview")).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Todo List", timeout=120_000)
    expect_only_pane(page, "preview")
    assert_tab_bar(page)
    # The header: the name truncates, the project menu is in reach.
    expect(page.locator("#project-name")).to_be_visible()
    expect(page.locator("#project-menu")).to_be_in_viewport()
    assert_fits(page, "preview")

    page.locator("#phone-tab-chat").click()
    expect(page.locator('.chat-entry[data-kind="check"]')).to_contain_text("Checked: runs, no errors.", timeout=120_000)
    expect(page.locator(".conversation-pane")).to_be_visible()
    expect(page.locator("#followup")).to_be_in_viewport()  # offline too: renames, texts, colours need no model
    expect_only_pane(page, "chat")
    assert_fits(page, "chat")

    page.locator("#phone-tab-code").click()
    expect(page.locator('[data-path="package.json"]')).to_be_visible()
    expect(page.locator(".monaco-editor .view-lines")).not_to_be_empty()
    expect(page.locator(".monaco-editor").first).to_be_in_viewport()
    expect_only_pane(page, "code")
    assert_fits(page, "code")

    page.locator("#phone-tab-logs").click()
    expect(page.locator(".log-line").first).to_be_visible()
    expect_only_pane(page, "logs")
    assert_fits(page, "logs")

    page.locator("#phone-tab-history").click()
    expect(page.locator("#diff-totals")).to_be_visible()
    expect_only_pane(page, "history")
    assert_fits(page, "history")

    page.locator("#phone-tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Todo List")
    expect_only_pane(page, "preview")
    assert_tab_bar(page)

    # Screenshots, light and dark, of every pane; the menu opens on a phone.
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for pane in ("chat", "preview", "code", "logs", "history"):
            page.locator(f"#phone-tab-{pane}").click()
            expect(page.locator(f"#phone-tab-{pane}")).to_have_attribute("aria-selected", "true")
            page.wait_for_timeout(400)
            assert_fits(page, f"{pane}, {scheme}")
            shot(page, f"phone-{pane}-{scheme}")
    page.emulate_media(color_scheme="light")
    page.locator("#project-menu").click()
    expect(page.locator("#menu-rename")).to_be_in_viewport()
    page.keyboard.press("Escape")

    # On a phone too, a project opens on the pane last chosen in it; another on its app.
    reopens_on_the_tab_chosen(page, forja, project_id)
    expect_only_pane(page, "code")

    # A tablet held upright: the same one-pane layout, every pane whole at its width.
    page.set_viewport_size(TABLET)
    assert_tab_bar(page)
    for pane in ("chat", "preview", "code", "logs", "history"):
        page.locator(f"#phone-tab-{pane}").click()
        expect(page.locator(f"#phone-tab-{pane}")).to_have_attribute("aria-selected", "true")
        expect_only_pane(page, pane)
        page.wait_for_timeout(300)
        assert_fits(page, f"tablet {pane}")
        if pane in ("chat", "code"):
            shot(page, f"tablet-{pane}-light")

    # The desktop: both panes and the tab row, no bottom bar; the same tab state drives it.
    page.set_viewport_size(DESKTOP)
    page.locator("#tab-preview").click()
    expect(page.locator("#desktop-tabs")).to_be_visible()
    expect(page.locator("#phone-tabs")).to_be_hidden()
    expect(page.locator(".conversation-pane")).to_be_visible()
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Todo List")
    assert page.locator(".conversation-pane").bounding_box()["width"] == 360  # type: ignore[index]
    assert_fits(page, "desktop")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(400)
        shot(page, f"desktop-workspace-{scheme}")
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"
