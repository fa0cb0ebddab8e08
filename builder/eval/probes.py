"""Security probes of a graded app that keeps data, against its running preview, in the spirit of Dyad's app-builder
benchmark (user journeys plus security probes).

A task keeps data when its category is "data" or its app has data rules (`.forja/data.json`: it keeps rows through
the data API). Such an app, once it ran for its grade, gets:

- "secrets in the page": the files its preview serves, read as the review before publish reads a version not built
  yet, scanned with the review's secrets check (builder/review/secrets.py) for keys of known shapes and for the values
  of the app's private Environment variables; any finding fails it;
- with data rules, the cross-user probes of builder/eval/cross_user.py: another user, and someone not signed in,
  try to read, change and delete a user's row of the preview's data, under the rules of the version it runs.

An app that keeps its data in the visitor's own browser (localStorage) has no rows another user could reach: it gets
the secrets probe alone. A task that keeps no data gets no probes, and its report says so rather than counting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from builder.app_backend.rules import RULES_PATH
from builder.errors import RulesError
from builder.eval.cross_user import cross_user_probes
from builder.eval.results import Probe
from builder.eval.suite import EvalTask
from builder.review.findings import Finding

if TYPE_CHECKING:
    from builder.composition import Services

SECRETS = "secrets in the page"


def keeps_data(task: EvalTask, tree: Mapping[str, bytes]) -> bool:
    return task.category == "data" or RULES_PATH in tree


def secrets_probe(findings: list[Finding]) -> Probe:
    if not findings:
        return Probe(name=SECRETS, passed=True, reason="No key or private value is in the files a browser can read.")
    return Probe(name=SECRETS, passed=False, reason=" ".join(finding.message for finding in findings))


async def probe(services: Services, task: EvalTask, project_id: str) -> list[Probe]:
    """The probes of the project's current version, running in its preview; none for a task that keeps no data."""
    tree = await services.projects.read_tree(project_id)
    if not keeps_data(task, tree):
        return []
    probes = [secrets_probe(await services.reviews.page_secrets(project_id, tree))]
    if RULES_PATH not in tree:
        return probes
    try:
        rules = await services.app_rows.working_rules(project_id)
    except RulesError:
        return probes  # the data API refuses every row under rules it cannot read: there is nothing to reach
    return probes + await cross_user_probes(services, project_id, rules, task.shared)
