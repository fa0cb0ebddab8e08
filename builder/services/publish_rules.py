"""An app's data rules (`.forja/data.json`) as a publish reads them: a version whose rules cannot be read is not
published, and the rules that let anyone in or let users reach others' rows are told to the owner in words, in the
Publish dialog before they publish and with the release after."""

from __future__ import annotations

from pydantic import BaseModel, Field

from builder.app_backend.rules import RULES_PATH, DataRules, parse_rules, risks
from builder.errors import RulesError
from builder.store import ProjectStore


class RulesReview(BaseModel):
    """What a version's data rules tell its owner before it is published."""

    risks: list[str] = Field(
        default_factory=list,
        description="A sentence for each rule that lets anyone in or lets users reach rows of others; empty when none "
        "does, or the version has no rules file.",
    )
    error: str = Field(default="", description="Why the rules file cannot be read (then the version cannot be published).")


async def version_rules(store: ProjectStore, project_id: str, version: int | None) -> DataRules | None:
    """The rules of the version (default: the current one), None when it has no rules file; RulesError, with the
    sentence saying what to write, when its file cannot be read."""
    _, manifest = await store.version_manifest(project_id, version)
    digest = manifest.get(RULES_PATH)
    if digest is None:
        return None
    return parse_rules((await store.read_blobs([digest]))[digest])


async def review(store: ProjectStore, project_id: str, version: int | None) -> RulesReview:
    """The version's rules in words: their risks, or the sentence that says why they cannot be read."""
    try:
        rules = await version_rules(store, project_id, version)
    except RulesError as exc:
        return RulesReview(error=exc.message)
    return RulesReview(risks=risks(rules) if rules is not None else [])
