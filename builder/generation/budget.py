"""The cost governor: a model request is sent only if, at its largest, it stays within the budgets.

A request's largest cost is known before it is sent (its input, and `max_tokens` of output at
the model's price), so the budgets stop a generation before they are exceeded, not after.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from builder.errors import BudgetExceeded
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import ModelRequest, UsageReport
from builder.settings import settings
from builder.store import ProjectStore

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3  # on the short side of English and code, so the estimate errs high
# A picture costs at most about 1,600 input tokens with Claude (it is scaled down to ~1.15 megapixels).
TOKENS_PER_IMAGE = 1600


def largest_cost(model: str, request: ModelRequest) -> float | None:
    """The most `request` can cost: its whole input uncached, and every output token it may use."""
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    images = sum(len(m.images) for m in request.messages)
    tokens = chars // CHARS_PER_TOKEN + 1 + images * TOKENS_PER_IMAGE
    return estimate_cost(model, UsageReport(input_tokens=tokens, output_tokens=request.max_tokens))


def _dollars(value: float) -> str:
    return f"${value:.2f}" if value >= 0.01 else f"${value:.4f}"


async def check_budget(store: ProjectStore, project_id: str, model: str, request: ModelRequest, running: float) -> None:
    """BudgetExceeded when the request could take the project's or the day's spending past its budget.

    `running`: what this generation has spent so far and is not yet recorded.
    """
    if not settings.budget_project_usd and not settings.budget_daily_usd:
        return
    largest = largest_cost(model, request)
    if largest is None:
        log.warning("no price is known for model %s: the budgets cannot limit it", model)
        return
    limits = []
    if settings.budget_project_usd:
        spent = (await store.usage(project_id)).cost_usd + running
        limits.append(("This project", spent, settings.budget_project_usd, "FORJA_BUDGET_PROJECT_USD"))
    if settings.budget_daily_usd:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = (await store.usage(since=midnight)).cost_usd + running
        limits.append(("Today's generations", spent, settings.budget_daily_usd, "FORJA_BUDGET_DAILY_USD"))
    for who, spent, budget, setting in limits:
        if spent + largest > budget:
            raise BudgetExceeded(
                f"{who} used {_dollars(spent)} of the {_dollars(budget)} budget, and the next request to the model could "
                f"cost up to {_dollars(largest)}, so it was not sent. Raise {setting} to go on"
                f"{', or wait until tomorrow (UTC)' if setting == 'FORJA_BUDGET_DAILY_USD' else ''}."
            )
