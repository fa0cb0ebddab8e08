"""Home page state: the prompt, recent projects, and importing a zip."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import reflex as rx

from builder.errors import FileTreeError, ForjaError
from builder.filetree import human_size
from builder.generation.providers.choice import default_provider
from builder.generation.who_connects import for_reader
from builder.git.imports import fetch_tree, shown
from builder.models import ProjectRole
from builder.publish.answers import AppInfo
from builder.settings import settings
from builder.state.attachments import AttachmentsState
from builder.state.auth import AuthState, signed_in
from builder.text import initial
from builder.wording import plural

log = logging.getLogger(__name__)

# Each one is something offline starter mode really builds (tests/unit/test_offline_fit.py holds them to it),
# so a first try without a key never ends in a relabelled to-do list.
EXAMPLE_PROMPTS = [
    "A website for my barber shop with opening hours",
    "A todo list with dark mode",
    "A landing page for my bakery",
    "A recipe box where I can save and search recipes",
    "A REST API for my book collection",
    "A portfolio site for a photographer",
]


HOME_PAGE_SIZE = 24
"""Project cards loaded at a time; "Show more" loads the next ones."""


@dataclasses.dataclass
class ProjectCard:
    id: str
    name: str
    stack: str
    files: str
    version: int
    updated: str
    initial: str
    thumbnail: str  # the image's URL; empty until a version of the project passed its check
    shared: str  # "Shared with you as editor" (or viewer); empty for the person's own projects
    app_url: str  # the published app's address while it serves a release; else empty
    app_state: str  # live, unpublished (taken down), or empty: never published (or never built)


def thumbnail_url(project_id: str, verification_id: int | None) -> str:
    """The thumbnail route, with the check's id so a newer picture is a new URL (the browser revalidates the same one)."""
    return f"/api/projects/{project_id}/thumbnail?v={verification_id}" if verification_id is not None else ""


def app_fields(app: AppInfo | None) -> dict[str, str]:
    """A card's published app: its address only while it serves a release."""
    if app is None or app.state not in ("live", "unpublished"):
        return {"app_url": "", "app_state": ""}
    return {"app_url": app.url if app.state == "live" else "", "app_state": app.state}


OFFLINE_NOTE = (
    "Offline starter mode: no AI model is connected, so Forja builds a list app, a one-page site, a blog or an API "
    "from its starters and says what it could not build."
)


class HomeState(rx.State):
    prompt: str = ""
    projects: rx.Field[list[ProjectCard]] = rx.field(default_factory=list)
    total: int = 0  # projects not in the trash, shown or not
    error: rx.Field[str] = rx.field("")
    importing: bool = False
    building: bool = False
    mode_note: str = ""
    # Plan mode: the model proposes a plan (pages, data, acceptance checks) to edit before anything is built.
    plan_first: bool = False

    @rx.event
    async def load(self) -> None:
        self.mode_note = OFFLINE_NOTE if await default_provider() == "offline" else ""
        self.building = False
        self.projects = await self._cards(0)

    @rx.event
    async def show_more(self) -> None:
        """The next page of projects, after the ones shown; every project can be reached this way."""
        self.projects = self.projects + await self._cards(len(self.projects))

    async def _cards(self, offset: int) -> list[ProjectCard]:
        allowed = await signed_in(self)
        services = allowed.services
        page = await services.projects.page(allowed.actor, HOME_PAGE_SIZE, offset)
        self.total = page.total
        ids = [p.id for p in page.items]
        thumbnails = await services.verifications.thumbnail_ids(ids)
        apps = await services.publishing.apps(ids)
        return [
            ProjectCard(
                id=p.id,
                name=p.name,
                stack=", ".join(p.stack) or "files",
                files=plural(p.file_count, "file"),
                version=p.current_version or 0,
                updated=p.updated_at.strftime("%d %b %Y, %H:%M"),
                initial=initial(p.name),
                thumbnail=thumbnail_url(p.id, thumbnails.get(p.id)),
                shared=f"Shared with you as {p.role.value}" if p.role is not None and p.role != ProjectRole.owner else "",
                **app_fields(apps.get(p.id)),
            )
            for p in page.items
        ]

    @rx.event
    def use_example(self, text: str) -> None:
        self.prompt = text
        self.error = ""

    @rx.event
    def set_prompt(self, text: str) -> None:
        self.prompt = text

    @rx.event
    def set_mode(self, mode: str | list[str]) -> None:
        self.plan_first = mode == "plan"

    @rx.event
    async def build(self):
        """Open a workspace for the new app at once; the generation runs on and the page follows it."""
        prompt = self.prompt.strip()
        if not prompt:
            self.error = "Describe the app you want first, in a sentence or two (or pick an example)."
            return
        self.building = True
        self.error = ""
        yield
        if self.plan_first:
            yield HomeState.plan
            return
        attachments = await self.get_state(AttachmentsState)
        try:
            allowed = await signed_in(self)
            images = await asyncio.to_thread(attachments.take, allowed.actor.user_id)
            # Kept when the generation fails: the workspace shows why, and the person can try again there.
            project_id = await allowed.services.generations.create_from_prompt(
                prompt, discard_if_failed=False, images=images, owner=allowed.actor.user_id
            )
        except ForjaError as exc:
            self.error = for_reader(str(exc), (await self.get_state(AuthState)).is_admin)
            self.building = False
            return
        attachments.clear()
        self.prompt = ""
        yield rx.redirect(f"/p/{project_id}")

    @rx.event
    async def plan(self):
        """Plan mode: a new project with the proposed plan and no version yet; its workspace shows the plan to edit."""
        try:
            allowed = await signed_in(self)
            plan = await allowed.services.plans.propose(self.prompt, owner=allowed.actor.user_id)
        except ForjaError as exc:
            self.error = for_reader(str(exc), (await self.get_state(AuthState)).is_admin)
            self.building = False
            return
        self.prompt = ""
        yield rx.redirect(f"/p/{plan.project_id}")

    @rx.event
    def dismiss_error(self) -> None:
        self.error = ""

    @rx.event
    async def import_zip(self, files: list[rx.UploadFile]):
        """Import what was dropped or picked; one bad file refuses the whole upload."""
        if not files:
            return
        upload = files[0]
        self.importing = True
        self.error = ""
        yield
        try:
            data = await upload.read()
            if len(data) > settings.max_upload_bytes:
                raise FileTreeError(
                    f"The file is {human_size(len(data))}; the upload limit is {human_size(settings.max_upload_bytes)}."
                )
            allowed = await signed_in(self)
            result = await allowed.services.projects.import_upload(
                upload.name or "project.zip", data, owner=allowed.actor.user_id
            )
        except ForjaError as exc:
            self.error = f"Could not import {upload.name}: {exc}"
            return
        except Exception:
            log.exception("import of %s failed", upload.name)
            self.error = (
                f"Could not import {upload.name} because of an internal error. Try again; if it keeps failing, check Forja's log."
            )
            return
        finally:
            self.importing = False
        yield rx.redirect(f"/p/{result.project_id}")

    @rx.event
    async def import_git(self, form: dict[str, str]):
        """Import a branch or tag of a git repository (an https://, http:// or git:// URL), checked as a zip is."""
        url, ref = form.get("git_url", "").strip(), form.get("git_ref", "").strip() or None
        if not url:
            return
        self.importing = True
        self.error = ""
        yield
        try:
            allowed = await signed_in(self)
            tree, name = await fetch_tree(url, ref)
            result = await allowed.services.projects.import_tree(name, tree, shown(url), owner=allowed.actor.user_id)
        except ForjaError as exc:
            self.error = f"Could not import {shown(url)}: {exc}"
            return
        finally:
            self.importing = False
        yield rx.redirect(f"/p/{result.project_id}")
