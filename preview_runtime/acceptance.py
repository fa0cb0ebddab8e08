"""Running a project's acceptance checks (`.forja/checks/*.spec.js`) against its running app, in headless Chromium.

Each test of a check file gets a fresh browser context on the app's origin only (`verify.own_origin_only`), and its
steps (`preview_runtime.check_script`) are performed one by one through Playwright: only the page, locator, keyboard
and assertion methods named below can be reached, and a step that opens another origin is refused. A test has
`timeout_s` in all; each action and assertion waits at most STEP_TIMEOUT_S, opening a page NAVIGATION_TIMEOUT_S.
What a check saw at its end (or where it failed) is kept as a screenshot.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any

from playwright.async_api import BrowserContext, Locator, Page, expect
from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel, Field

from preview_runtime.check_script import Expr, Member, Name, Regex, ScriptError, ScriptTest, Value, parse_checks
from preview_runtime.patterns import LinearPattern, PatternError, compile_pattern
from preview_runtime.verify import VIEWPORT, Expect, PageChecker, origin_of, own_origin_only

STEP_TIMEOUT_S = 5.0
NAVIGATION_TIMEOUT_S = 15.0
# Screenshots that show a check's end in the conversation: smaller than the page check's, one a check.
SHOT_QUALITY = 60
MOST_CHECKS = 20

_LOCATE = {"getByRole", "getByText", "getByLabel", "getByPlaceholder", "getByTestId", "getByTitle", "getByAltText", "locator"}
PAGE_METHODS = _LOCATE | {"goto", "reload", "goBack", "goForward", "waitForTimeout", "waitForLoadState", "title", "url"}
LOCATOR_METHODS = _LOCATE | {
    "first", "last", "nth", "filter",
    "click", "dblclick", "fill", "press", "pressSequentially", "type", "check", "uncheck", "setChecked",
    "selectOption", "hover", "focus", "blur", "clear", "scrollIntoViewIfNeeded",
    "textContent", "innerText", "inputValue", "count", "isVisible", "isHidden", "isChecked", "isEnabled",
    "getAttribute", "allTextContents", "allInnerTexts",
}  # fmt: skip
KEYBOARD_METHODS = {"press", "type", "insertText", "down", "up"}
PAGE_ASSERTIONS = {"toHaveTitle", "toHaveURL"}
LOCATOR_ASSERTIONS = {
    "toBeVisible", "toBeHidden", "toBeChecked", "toBeEnabled", "toBeDisabled", "toBeEditable", "toBeEmpty",
    "toBeFocused", "toBeAttached", "toHaveText", "toContainText", "toHaveValue", "toHaveValues", "toHaveCount",
    "toHaveAttribute", "toHaveClass", "toHaveId",
}  # fmt: skip
VALUE_ASSERTIONS = {
    "toBe", "toEqual", "toContain", "toBeTruthy", "toBeFalsy", "toBeGreaterThan", "toBeGreaterThanOrEqual",
    "toBeLessThan", "toBeLessThanOrEqual", "toMatch", "toHaveLength",
}  # fmt: skip
# Methods that are properties in Playwright for Python.
_PROPERTIES = {"first", "last", "url"}


class AcceptanceOutcome(BaseModel):
    """How one acceptance check (one test of a check file) went."""

    path: str = Field(description="The check's file, e.g. .forja/checks/01-add-booking.spec.js.")
    title: str = Field(description="The test's title: what a visitor does and sees.")
    passed: bool
    message: str = Field(default="", description="Why it failed, in a sentence: the step and what Playwright said.")
    detail: str = Field(default="", description="For the model: the error's whole text and the page's visible text.")
    duration_s: float = 0.0
    screenshot: bytes | None = Field(default=None, exclude=True)


class CheckFailed(Exception):
    """A step could not be done or an assertion did not hold; the message is for the person."""


def _snake(name: str) -> str:
    return {"and": "and_", "or": "or_", "toHaveURL": "to_have_url"}.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _regex(value: Regex) -> re.Pattern[str]:
    flags = (re.IGNORECASE if "i" in value.flags else 0) | (re.MULTILINE if "m" in value.flags else 0)
    try:
        return re.compile(value.pattern, flags | (re.DOTALL if "s" in value.flags else 0))
    except re.error as exc:
        raise CheckFailed(f"/{value.pattern}/ is not a pattern Forja can use ({exc}).") from None


def _linear(pattern: re.Pattern[str]) -> LinearPattern:
    """A check's pattern for `toMatch`, which Forja runs itself (a locator's assertions run theirs in the browser):
    with RE2, so a page's text cannot make it backtrack for minutes on the event loop."""
    flags = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
    try:
        return compile_pattern(pattern.pattern, "".join(name for name, bit in flags.items() if pattern.flags & bit))
    except PatternError as exc:
        raise CheckFailed(f"/{pattern.pattern}/: {exc}") from None


def _plain(value: object) -> object:
    """A literal as Playwright for Python takes it: patterns compiled, option names in snake case."""
    if isinstance(value, Regex):
        return _regex(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_snake(str(k)): _plain(v) for k, v in value.items()}
    return value


class _Handle:
    """A value the script holds: the page, a locator, the keyboard, or an `expect(...)` of one of them."""

    def __init__(self, kind: str, target: Any, negated: bool = False) -> None:
        self.kind = kind
        self.target = target
        self.negated = negated


class _Steps:
    """Performs one test's steps on one page."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.names: dict[str, object] = {"page": _Handle("page", page)}

    async def run(self, expr: Expr) -> object:
        if isinstance(expr, Value):
            return _plain(expr.value)
        if isinstance(expr, Regex):
            return _regex(expr)
        if isinstance(expr, Name):
            if expr.name not in self.names:
                raise CheckFailed(f"`{expr.name}` is not defined in this check.")
            return self.names[expr.name]
        if isinstance(expr, Member):
            return await self._member(await self.run(expr.target), expr.name)
        if isinstance(expr.target, Name) and expr.target.name == "expect":
            if len(expr.args) != 1:
                raise CheckFailed("`expect(...)` takes one value: a locator, the page or a value.")
            subject = await self.run(expr.args[0])
            kind = f"expect-{subject.kind}" if isinstance(subject, _Handle) else "expect-value"
            return _Handle(kind, subject.target if isinstance(subject, _Handle) else subject)
        if not isinstance(expr.target, Member):
            raise CheckFailed("a check calls methods of `page`, of a locator, or of `expect(...)` only.")
        target = await self.run(expr.target.target)
        args = [await self.run(arg) for arg in expr.args]
        return await self._call(target, expr.target.name, args)

    async def _member(self, target: object, name: str) -> object:
        if isinstance(target, _Handle) and target.kind == "page" and name == "keyboard":
            return _Handle("keyboard", self.page.keyboard)
        if isinstance(target, _Handle) and target.kind.startswith("expect-") and name == "not" and not target.negated:
            return _Handle(target.kind, target.target, negated=True)
        raise CheckFailed(f"`.{name}` cannot be read here; call a method instead (e.g. `.first()`).")

    async def _call(self, target: object, method: str, args: list[object]) -> object:
        if not isinstance(target, _Handle):
            raise CheckFailed(f"`.{method}(...)` is called on a plain value; call it on `page` or a locator.")
        allowed = {
            "page": PAGE_METHODS,
            "locator": LOCATOR_METHODS,
            "keyboard": KEYBOARD_METHODS,
            "expect-page": PAGE_ASSERTIONS,
            "expect-locator": LOCATOR_ASSERTIONS,
            "expect-value": VALUE_ASSERTIONS,
        }[target.kind]
        if method not in allowed:
            raise CheckFailed(f"`.{method}(...)` is not one of the steps a Forja check can use here.")
        if target.kind == "expect-value":
            _assert_value(target.target, method, args, target.negated)
            return None
        options: dict[str, Any] = {}
        if args and isinstance(args[-1], dict):
            options = dict(args.pop())  # type: ignore[arg-type]  # a literal object: its keys are strings
        # Each step waits at most STEP_TIMEOUT_S (the context's default for actions), whatever the script asks.
        if target.kind.startswith("expect-") or "timeout" in options:
            options["timeout"] = min(float(options.get("timeout") or STEP_TIMEOUT_S * 1000), STEP_TIMEOUT_S * 1000)
        if method == "goto":
            args = [self._own(str(args[0]) if args else "/")]
        if method == "waitForTimeout":
            await asyncio.sleep(min(float(args[0] if args else 0) / 1000, STEP_TIMEOUT_S))  # type: ignore[arg-type]
            return None
        subject = expect(target.target) if target.kind.startswith("expect-") else target.target
        # Playwright for Python names a locator's `type` press_sequentially; the keyboard's keeps its name.
        snake = "press_sequentially" if method == "type" and target.kind == "locator" else _snake(method)
        name = ("not_" if target.negated else "") + snake
        attribute = getattr(subject, name)
        result = attribute if method in _PROPERTIES else attribute(*args, **options)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, Locator):
            return _Handle("locator", result)
        return None if method == "goto" else result

    def _own(self, url: str) -> str:
        if url.startswith(("http://", "https://", "//")) and not url.startswith(self.origin + "/") and url != self.origin:
            raise CheckFailed(f"a check opens the app's own pages only, by their path (like '/'), not {url}.")
        return url


def _assert_value(actual: object, method: str, args: list[object], negated: bool) -> None:
    expected = args[0] if args else None
    checks = {
        "toBe": lambda: actual == expected,
        "toEqual": lambda: actual == expected,
        "toContain": lambda: expected in actual,  # type: ignore[operator]
        "toBeTruthy": lambda: bool(actual),
        "toBeFalsy": lambda: not actual,
        "toBeGreaterThan": lambda: actual > expected,  # type: ignore[operator]
        "toBeGreaterThanOrEqual": lambda: actual >= expected,  # type: ignore[operator]
        "toBeLessThan": lambda: actual < expected,  # type: ignore[operator]
        "toBeLessThanOrEqual": lambda: actual <= expected,  # type: ignore[operator]
        "toMatch": lambda: (
            _linear(expected).search(str(actual)) if isinstance(expected, re.Pattern) else str(expected) in str(actual)
        ),
        "toHaveLength": lambda: len(actual) == expected,  # type: ignore[arg-type]
    }
    try:
        held = checks[method]()
    except TypeError:
        raise CheckFailed(f"`{method}` cannot compare {actual!r} with {expected!r}.") from None
    if held == negated:
        raise CheckFailed(f"expected {actual!r} {'not ' if negated else ''}{method} {expected!r}.")


async def _visible_text(page: Page) -> str:
    try:
        return (await page.locator("body").inner_text(timeout=1000))[:1500]
    except PlaywrightError:
        return ""


async def _run_test(context: BrowserContext, origin: str, path: str, test: ScriptTest, timeout_s: float) -> AcceptanceOutcome:
    started = time.monotonic()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(error.message))
    steps = _Steps(page, origin)
    failure, detail, step = "", "", None
    try:
        async with asyncio.timeout(timeout_s):
            for step in test.statements:
                value = await steps.run(step.expr)
                if step.binds:
                    steps.names[step.binds] = value
    except TimeoutError:
        failure = f"it did not finish within {timeout_s:.0f} s"
    except CheckFailed as exc:
        failure = str(exc)
    except (PlaywrightError, AssertionError, TypeError, ValueError) as exc:
        text = str(exc).strip()
        failure = text.splitlines()[0] if text else type(exc).__name__
        detail = text[:1500]
    if failure and step is not None:
        failure = f"line {step.line} (`{step.source}`): {failure}"
    shot = None
    try:
        shot = await page.screenshot(type="jpeg", quality=SHOT_QUALITY, timeout=STEP_TIMEOUT_S * 1000)
    except PlaywrightError:
        pass
    if failure:
        if errors:
            detail += "\nErrors the page threw:\n" + "\n".join(errors[:5])
        detail += f"\nThe page's visible text at that moment:\n{await _visible_text(page)}"
    return AcceptanceOutcome(
        path=path,
        title=test.title,
        passed=not failure,
        message=failure,
        detail=detail.strip(),
        duration_s=round(time.monotonic() - started, 3),
        screenshot=shot,
    )


async def run_acceptance(
    checker: PageChecker,
    url: str,
    scripts: Mapping[str, str],
    timeout_s: float,
    cookie: str = "",
    tell: Expect | None = None,
    first_failure: bool = False,
) -> list[AcceptanceOutcome]:
    """Each test of each check file (by path order) against the app at `url`; a file Forja cannot read is one failed
    check that says why. With `first_failure`, none after the first that fails (a grade needs no more). Raises
    BrowserUnavailable when there is no browser."""
    outcomes: list[AcceptanceOutcome] = []
    browser = await checker.browser()
    for path in sorted(scripts):
        try:
            tests = parse_checks(scripts[path])
        except ScriptError as exc:
            name = path.rsplit("/", 1)[-1]
            outcomes.append(AcceptanceOutcome(path=path, title=name, passed=False, message=f"Forja cannot read it: {exc}"))
            continue
        for test in tests:
            if len(outcomes) >= MOST_CHECKS:
                return outcomes
            # The clipboard as a person's browser has it: a "Copy" button works, and a check can see it say so.
            context = await browser.new_context(
                viewport=VIEWPORT,  # type: ignore[arg-type]
                base_url=url,
                service_workers="block",
                permissions=["clipboard-read", "clipboard-write"],
            )
            context.set_default_timeout(STEP_TIMEOUT_S * 1000)
            # A dev server may build a page's modules on its first visit, on a busy machine too: opening a page may
            # take longer than a step on the page.
            context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_S * 1000)
            try:
                await own_origin_only(context, origin_of(url), cookie, tell)
                outcomes.append(await _run_test(context, origin_of(url), path, test, timeout_s))
            finally:
                await context.close()
            if first_failure and not outcomes[-1].passed:
                return outcomes
    return outcomes
