"""Home page state: the prompt, recent projects, and importing a zip."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from builder.filetree import FileTreeError, human_size
from builder.services import get_services
from builder.settings import settings

log = logging.getLogger(__name__)

EXAMPLE_PROMPTS = [
    "A booking page for my barber shop",
    "A todo list with dark mode",
    "A landing page for my bakery",
    "A recipe box where I can save and search recipes",
    "A tip calculator that splits the bill",
    "A portfolio site for a photographer",
]


@dataclasses.dataclass
class ProjectCard:
    id: str
    name: str
    stack: str
    files: int
    version: int
    updated: str


class HomeState(rx.State):
    prompt: str = ""
    projects: list[ProjectCard] = []
    error: str = ""
    importing: bool = False

    @rx.event
    async def load(self) -> None:
        services = await get_services()
        self.projects = [
            ProjectCard(
                id=p.id,
                name=p.name,
                stack=", ".join(p.stack) or "files",
                files=p.file_count,
                version=p.current_version or 0,
                updated=p.updated_at.strftime("%d %b %Y, %H:%M"),
            )
            for p in await services.store.list_projects(limit=24)
        ]

    @rx.event
    def use_example(self, text: str) -> None:
        self.prompt = text
        self.error = ""

    @rx.event
    def set_prompt(self, text: str) -> None:
        self.prompt = text

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
            result = await (await get_services()).import_upload(upload.name or "project.zip", data)
        except FileTreeError as exc:
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
