"""The cost governor: a model request is sent only if, at its largest, it stays within the budgets.

A request's largest cost is known before it is sent (its input, and `max_tokens` of output at
the model's price), so the budgets stop a generation before they are exceeded, not after.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from builder.errors import BudgetExceeded, QuotaExceeded
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import ModelRequest, UsageReport
from builder.settings import settings
from builder.store import ProjectStore

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3  # on the short side of English and code, so the estimate errs high
# A picture costs at most about 1,600 input tokens with Claude (it is scaled down to ~1.15 megapixels).
TOKENS_PER_IMAGE = 1600


@dataclass(frozen=True)
class Allowance:
    """One person's daily model quotas on a server with accounts (0: no limit)."""

    user_id: str
    tokens_day: int
    cost_day_usd: float


def largest_input(request: ModelRequest) -> int:
    """The most input tokens `request` can count: its text at a few characters a token, and each picture."""
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    # Agent mode: the calls' inputs and what they gave back are input too, a page's screenshot a picture.
    chars += sum(len(c.arguments) for m in request.messages for c in m.tool_calls)
    chars += sum(len(r.content) for m in request.messages for r in m.tool_results)
    images = sum(len(m.images) + sum(len(r.images) for r in m.tool_results) for m in request.messages)
    return chars // CHARS_PER_TOKEN + 1 + images * TOKENS_PER_IMAGE


def largest_usage(request: ModelRequest) -> UsageReport:
    """The most `request` can use: its whole input uncached, and every output token it may use."""
    return UsageReport(input_tokens=largest_input(request), output_tokens=request.max_tokens)


def largest_relayed(body: bytes) -> UsageReport:
    """The most an external agent's request can use, read from its body as the relay passes it on (any model API's
    JSON, builder/services/engine_run.py): all of it counted as input, and the output it asks for at most, or Forja's
    own answer size when it names none."""
    asked = 0
    with contextlib.suppress(ValueError):
        fields = json.loads(body)
        if isinstance(fields, dict):
            named = (fields.get(name) for name in ("max_tokens", "max_output_tokens", "max_completion_tokens"))
            asked = next((value for value in named if isinstance(value, int) and value > 0), 0)
    return UsageReport(input_tokens=len(body) // CHARS_PER_TOKEN + 1, output_tokens=asked or settings.max_output_tokens)


def largest_cost(model: str, request: ModelRequest) -> float | None:
    """The most `request` can cost: its whole input uncached, and every output token it may use."""
    return estimate_cost(model, largest_usage(request))


def _dollars(value: float) -> str:
    return f"${value:.2f}" if value >= 0.01 else f"${value:.4f}"


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def check_budget(
    store: ProjectStore,
    project_id: str,
    model: str,
    request: ModelRequest,
    running: UsageReport,
    allowance: Allowance | None = None,
) -> None:
    """BudgetExceeded when the request could take the project's or the day's spending past its budget, QuotaExceeded
    when it could take the person's tokens or cost today past their quota.

    `running`: what this generation has used so far and is not yet recorded.
    """
    await check_spend(store, project_id, model, largest_usage(request), running, allowance)


async def check_spend(
    store: ProjectStore,
    project_id: str,
    model: str,
    request: UsageReport,
    running: UsageReport,
    allowance: Allowance | None = None,
) -> None:
    """check_budget for a request known only by the most it can use (`request`): an external agent's, whose requests
    Forja relays but did not write (builder/services/engine_run.py)."""
    if allowance is not None:
        await _check_allowance(store, allowance, model, request, running)
    if not settings.budget_project_usd and not settings.budget_daily_usd:
        return
    largest = estimate_cost(model, request)
    if largest is None:
        log.warning("no price is known for model %s: the budgets cannot limit it", model)
        return
    spent_now = estimate_cost(model, running) or 0.0
    limits = []
    if settings.budget_project_usd:
        spent = (await store.usage(project_id)).cost_usd + spent_now
        limits.append(("This project", spent, settings.budget_project_usd, "FORJA_BUDGET_PROJECT_USD"))
    if settings.budget_daily_usd:
        spent = (await store.usage(since=today())).cost_usd + spent_now
        limits.append(("Today's generations", spent, settings.budget_daily_usd, "FORJA_BUDGET_DAILY_USD"))
    for who, spent, budget, setting in limits:
        if spent + largest > budget:
            raise BudgetExceeded(
                f"{who} used {_dollars(spent)} of the {_dollars(budget)} budget, and the next request to the model could "
                f"cost up to {_dollars(largest)}, so it was not sent. Raise {setting} to go on"
                f"{', or wait until tomorrow (UTC)' if setting == 'FORJA_BUDGET_DAILY_USD' else ''}."
            )


async def _check_allowance(
    store: ProjectStore, allowance: Allowance, model: str, request: UsageReport, running: UsageReport
) -> None:
    used = await store.usage(since=today(), user_id=allowance.user_id)
    if allowance.tokens_day:
        tokens = used.input_tokens + used.output_tokens + running.input_tokens + running.output_tokens
        largest = request.input_tokens + request.output_tokens
        if tokens + largest > allowance.tokens_day:
            raise QuotaExceeded(
                f"You used {tokens:,} of your {allowance.tokens_day:,} model tokens today, and the next request could use "
                f"up to {largest:,}, so it was not sent. Your quota starts again at midnight (UTC); an admin can raise it.",
                "tokens_day",
                tokens,
                allowance.tokens_day,
            )
    if allowance.cost_day_usd:
        largest_usd = estimate_cost(model, request)
        if largest_usd is None:
            log.warning("no price is known for model %s: the daily cost quota cannot limit it", model)
            return
        spent = used.cost_usd + (estimate_cost(model, running) or 0.0)
        if spent + largest_usd > allowance.cost_day_usd:
            raise QuotaExceeded(
                f"You used {_dollars(spent)} of your {_dollars(allowance.cost_day_usd)} a day of model cost, and the next "
                f"request could cost up to {_dollars(largest_usd)}, so it was not sent. Your quota starts again at "
                "midnight (UTC); an admin can raise it.",
                "cost_day_usd",
                round(spent, 4),
                allowance.cost_day_usd,
            )
