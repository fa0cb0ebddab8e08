"""The workspace's History tab: versions, the diff of one against another, restore."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from builder.errors import ForjaError, NotFound
from builder.services.access import Permission
from builder.state.views import DiffFileView, author_label, diff_views
from builder.state.workspace import WorkspaceState
from builder.wording import plural

log = logging.getLogger(__name__)

# A diff longer than this is cut in the page (the API and CLI give it whole).


@dataclasses.dataclass
class HistoryRow:
    number: int
    author: str
    message: str
    time: str
    changes: str
    # "By Ana Lima, Bo Park": everyone whose changes a co-edited Save holds; empty for other versions.
    authors: str = ""


# Before a plan's check in History: how it went when the project was last checked (nothing when it did not run).
RESULT_MARKS = {True: "\u2713 ", False: "\u2717 ", None: ""}


def _plan_status(status: str, version: int | None) -> str:
    if status == "built":
        return f"Built as v{version}"
    return "Waits for answers" if status == "asking" else "Proposed"


@dataclasses.dataclass
class PlanRow:
    """A plan kept with the project: what was asked, and its checks; built (with its version) or still proposed."""

    id: str
    title: str
    status: str  # "Built as v3", "Proposed" or "Waits for answers"
    built: bool
    time: str
    checks: list[str]


class HistoryState(rx.State):
    rows: list[HistoryRow] = []
    plans: list[PlanRow] = []
    selected: int = 0
    against: str = "parent"
    files: list[DiffFileView] = []
    totals: str = ""
    message: str = ""
    restoring: bool = False

    @rx.event
    async def open(self):
        """Load the versions, newest first, and show the newest's changes."""
        self.message = ""
        await self._load()

    @rx.event
    async def show_new_version(self):
        """A version saved elsewhere while the History tab is open: the list shows it; the selected one stays."""
        if (await self.get_state(WorkspaceState)).tab == "history":
            await self._load()

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        services = (await workspace.allowed()).services
        versions = await services.projects.versions(workspace.project_id)
        self.plans = [
            PlanRow(
                id=p.id,
                title=p.title or p.prompt[:80],
                status=_plan_status(p.status, p.version),
                built=p.status == "built",
                time=p.created_at.strftime("%d %b, %H:%M"),
                checks=[f"{RESULT_MARKS[c.passed]}{c.number}. {c.text}" for c in p.checks],
            )
            for p in reversed(await services.plans.of_project(workspace.project_id))
        ]
        self.rows = [
            HistoryRow(
                number=v.number,
                author=author_label(v.author, v.message),
                message=v.message or "(no message)",
                time=v.created_at.strftime("%d %b, %H:%M"),
                changes=plural(v.files_changed, "file"),
                authors=f"By {', '.join(v.authors)}" if v.authors else "",
            )
            for v in reversed(versions)
        ]
        if self.rows and self.selected not in {r.number for r in self.rows}:
            self.selected = self.rows[0].number
        await self._diff()

    @rx.event
    async def select(self, number: int):
        self.selected = number
        self.against = "parent"
        await self._diff()

    @rx.event
    async def compare_with(self, against: str):
        self.against = against
        await self._diff()

    async def _diff(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        if not self.selected:
            self.files, self.totals = [], ""
            return
        against = None if self.against == "parent" else int(self.against)
        try:
            diff = await (await workspace.allowed()).services.history.diff(workspace.project_id, self.selected, against)
        except NotFound as exc:
            self.message = str(exc)
            return
        base = f"version {diff.against}" if diff.against else "an empty project"
        self.totals = f"Version {diff.version} against {base}: {plural(diff.files_changed, 'file')}, +{diff.lines_added} \u2212{diff.lines_removed} lines"
        self.files = diff_views(diff.files)

    @rx.event
    async def duplicate(self):
        """Fork: the selected version becomes version 1 of a new project, which opens."""
        workspace = await self.get_state(WorkspaceState)
        allowed = await workspace.allowed()
        new_id = await allowed.services.history.duplicate(
            workspace.project_id,
            self.selected,
            f"{workspace.project_name} (from v{self.selected})",
            owner=allowed.actor.user_id,
        )
        return rx.redirect(f"/p/{new_id}")

    @rx.event
    async def restore(self):
        """Make the selected version current again, as a new version: nothing is lost."""
        workspace = await self.get_state(WorkspaceState)
        self.restoring = True
        yield
        try:
            allowed = await workspace.allowed(Permission.edit)
            result = await allowed.services.history.restore(workspace.project_id, self.selected, allowed.actor.user_id)
        except ForjaError as exc:
            self.message = f"Not restored: {exc}"
            return
        finally:
            self.restoring = False
        self.message = (
            f"Version {self.selected} is current again, saved as version {result.version.number}."
            if result.changed or result.deleted
            else f"Version {self.selected} is already what the project holds."
        )
        self.selected = result.version.number
        await self._load()
        yield WorkspaceState.load
