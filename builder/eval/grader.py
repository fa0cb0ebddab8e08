"""Grading one app with a task's own checks: its preview started as the Preview tab starts it (in the runner's
sandbox), the checks performed in headless Chromium on its origin only, as acceptance checks are."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from builder.errors import ForjaError
from builder.eval.results import Grade

if TYPE_CHECKING:
    from builder.services.verification import VerificationService


async def grade(
    verifications: VerificationService, project_id: str, checks: dict[str, str], first_failure: bool = False
) -> tuple[Grade, bytes | None]:
    """The grade of the project's current version, and its page's screenshot; an app that does not start fails. With
    `first_failure` the checks stop at the first that fails (a broken copy's grade needs no more)."""
    started = time.monotonic()
    try:
        outcomes, screenshot = await verifications.grade(project_id, checks, first_failure)
    except (ForjaError, TimeoutError) as exc:
        return did_not_run(exc), None
    finally:
        elapsed = round(time.monotonic() - started, 3)
    failed = [f"{o.title}: {o.message}" for o in outcomes if not o.passed]
    passed = bool(outcomes) and not failed
    return Grade(passed=passed, checks=len(outcomes), failed=failed, duration_s=elapsed), screenshot


def did_not_run(exc: ForjaError | TimeoutError) -> Grade:
    """The grade of an app whose preview did not start (or whose checking browser could not)."""
    why = str(exc) or "it did not start within FORJA_PREVIEW_START_TIMEOUT_S"
    return Grade(passed=False, checks=0, failed=[f"The app did not run: {why}"])
