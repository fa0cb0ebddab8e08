"""What the admin page shows, as rows and words: builder.services.admin's answers turned into what its tables and
forms hold, and the quota form's fields read back into quotas."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from pydantic import ValidationError

from builder.errors import InvalidInput
from builder.eval.report import RunRow
from builder.filetree import human_size
from builder.schemas import QuotaSet
from builder.services.admin import DayUsage, LiveAppFindings, Person, PublishedAppRow, RunningPreview

QUOTA_FIELDS = ("tokens_day", "cost_day_usd", "previews", "projects", "storage_mb", "published_apps", "build_minutes_day")
QUOTA_LABELS = {
    "tokens_day": "Model tokens a day",
    "cost_day_usd": "Model cost a day (US$)",
    "previews": "Previews at once",
    "projects": "Projects",
    "storage_mb": "Storage (MB)",
    "published_apps": "Published apps live",
    "build_minutes_day": "Build minutes a day",
}


@dataclasses.dataclass
class PersonRow:
    id: str
    name: str
    email: str
    role: str
    disabled: bool
    last_sign_in: str
    projects: int
    storage: str
    tokens_today: str
    cost_today: str
    is_you: bool


@dataclasses.dataclass
class InvitationRow:
    id: int
    email: str
    expires: str


@dataclasses.dataclass
class DayRow:
    day: str  # "3 Mar", under each bar
    date: str  # "2025-03-03"
    tokens: int
    cost: float
    generations: int
    previews: int
    tokens_text: str  # "12,345"
    cost_text: str  # "$1.25"


@dataclasses.dataclass
class EvalRow:
    id: str
    suite: str
    what: str  # "reference", "broken", or the provider and model
    passed: str  # "12 of 30 (40%)"
    cost: str
    started: str
    report: str  # the report's address


def eval_row(run: RunRow) -> EvalRow:
    percent = f" ({round(100 * run.passed / run.total)}%)" if run.total else ""
    cost = money(run.cost_usd) if run.mode == "model" and run.cost_usd is not None else ""
    return EvalRow(
        id=run.id,
        suite=run.suite,
        what=run.model or run.mode,
        passed=f"{run.passed} of {run.total}{percent}" + ("" if run.finished else ", unfinished"),
        cost=cost,
        started=run.started_at,
        report=f"/api/admin/evals/{run.id}/report.html",
    )


@dataclasses.dataclass
class PreviewRow:
    id: str
    project_id: str
    project: str
    owner: str
    runner: str
    version: int
    state: str
    age: str
    memory: str


@dataclasses.dataclass
class HealthRow:
    name: str
    state: str  # ok, off or problem
    detail: str


def when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M") if moment is not None else "Never"


def age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def money(value: float) -> str:
    return f"${value:.2f}" if value >= 0.01 or not value else f"${value:.4f}"


def field_text(value: int | float | None) -> str:
    """A quota as its form field shows it: empty for "the default"."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def shown(value: int | float | None) -> str:
    """A quota as words: "1,000,000", "5", "no limit" for 0."""
    if not value:
        return "no limit"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def quotas_of(fields: dict[str, str]) -> QuotaSet:
    """The form's fields as quotas: empty is the default, 0 no limit; anything else must be a number of at least 0."""
    values: dict[str, int | float | None] = {}
    for name in QUOTA_FIELDS:
        text = fields.get(name, "").strip().replace(",", "").removeprefix("$")
        if not text:
            values[name] = None
            continue
        try:
            number = float(text) if name == "cost_day_usd" else int(text)
        except ValueError:
            raise InvalidInput(
                f"{QUOTA_LABELS[name]}: type a whole number{' of dollars' if name == 'cost_day_usd' else ''} "
                "(0 for no limit), or leave it empty for the default."
            ) from None
        if number < 0:
            raise InvalidInput(f"{QUOTA_LABELS[name]}: a limit cannot be below 0 (0 is no limit).")
        values[name] = number
    try:
        return QuotaSet.model_validate(values)
    except ValidationError as exc:
        # Past what the store holds, or Infinity and NaN (which float() reads): said for the field, in words.
        first = exc.errors()[0]
        label = QUOTA_LABELS.get(str(first["loc"][0]), "A quota") if first["loc"] else "A quota"
        raise InvalidInput(f"{label}: {first['msg'].lower()} (0 is no limit).") from None


def person_row(person: Person, you: str) -> PersonRow:
    return PersonRow(
        id=person.id,
        name=person.name,
        email=person.email,
        role=person.role.value,
        disabled=person.disabled,
        last_sign_in=when(person.last_sign_in_at),
        projects=person.projects,
        storage=human_size(person.storage_bytes),
        tokens_today=f"{person.tokens_today:,}",
        cost_today=money(person.cost_today_usd),
        is_you=person.id == you,
    )


def day_row(day: DayUsage) -> DayRow:
    date = datetime.strptime(day.day, "%Y-%m-%d")
    return DayRow(
        day=f"{date.day} {date:%b}",
        date=day.day,
        tokens=day.tokens,
        cost=round(day.cost_usd, 4),
        generations=day.generations,
        previews=day.previews,
        tokens_text=f"{day.tokens:,}",
        cost_text=money(day.cost_usd),
    )


def preview_row(preview: RunningPreview) -> PreviewRow:
    return PreviewRow(
        id=preview.preview_id,
        project_id=preview.project_id,
        project=preview.project_name or preview.project_id,
        owner=preview.owner_email or "\u2014",
        runner=preview.runner,
        version=preview.version,
        state=preview.state,
        age=age(preview.age_s),
        memory=human_size(preview.memory_bytes) if preview.memory_bytes is not None else "unknown",
    )


@dataclasses.dataclass
class AppRow:
    project_id: str
    project: str
    name: str
    url: str
    owner: str
    release: str  # "Release 3 (v7)", or a dash when nothing is live
    size: str  # the live release's built files
    disk: str  # every kept release, compressed forms included
    state: str  # live, unpublished, none or trashed
    state_label: str


APP_STATES = {"live": "Live", "unpublished": "Taken down", "none": "Never built", "trashed": "In the trash"}


def app_row(app: PublishedAppRow) -> AppRow:
    return AppRow(
        project_id=app.project_id,
        project=app.project_name or app.project_id,
        name=app.name,
        url=app.url,
        owner=app.owner_email or "\u2014",
        release=f"Release {app.live_release} (v{app.live_version})" if app.live_release is not None else "\u2014",
        size=human_size(app.live_size_bytes) if app.live_size_bytes is not None else "\u2014",
        disk=human_size(app.disk_bytes),
        state=app.state,
        state_label=APP_STATES.get(app.state, app.state),
    )


@dataclasses.dataclass
class LiveFindingsRow:
    project_id: str
    name: str
    url: str
    owner: str
    critical: str  # "2 critical": the open findings of each severity, in words; "" for none
    high: str
    medium: str
    low: str
    reviewed: str  # "Version 4, 28 Nov 2026, 14:50"
    reason: str  # why its owner published the live release despite a critical finding; "" if they did not


def live_findings_row(app: LiveAppFindings) -> LiveFindingsRow:
    return LiveFindingsRow(
        project_id=app.project_id,
        name=app.name,
        url=app.url,
        owner=app.owner_email or "\u2014",
        critical=f"{app.critical} critical" if app.critical else "",
        high=f"{app.high} high" if app.high else "",
        medium=f"{app.medium} medium" if app.medium else "",
        low=f"{app.low} low" if app.low else "",
        reviewed=f"Version {app.reviewed_version}, {when(app.reviewed_at)}",
        reason=app.override_reason,
    )
