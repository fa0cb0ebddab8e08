"""What this machine can run, for the /doctor page and the note on the home page while Docker gets ready."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.state.auth import signed_in
from preview_runtime.docker.image import ImageState


@dataclasses.dataclass
class RunnerRow:
    name: str
    ready: bool
    reason: str
    known: bool  # false: the server cannot tell (WebContainers), and no browser has said


@dataclasses.dataclass
class CheckRow:
    name: str
    ok: bool
    detail: str


class MachineState(rx.State):
    # The preview image's progress while Forja builds it (empty once Docker is ready or not in play).
    docker_note: str = ""
    docker_failed: bool = False
    auto: str = ""
    auto_reason: str = ""
    usable: bool = True
    runners: list[RunnerRow] = []
    checks: list[CheckRow] = []
    checked: bool = False

    @rx.event
    async def load_report(self) -> None:
        services = (await signed_in(self)).services
        report = await services.doctor.report()
        self.auto, self.auto_reason, self.usable = report.auto, report.auto_reason, report.usable
        self.runners = [RunnerRow(name, r.ready, r.reason, r.known) for name, r in report.runners.items()]
        self.checks = [CheckRow(c.name, c.ok, c.detail) for c in report.checks]
        self.checked = True

    @rx.event(background=True)
    async def follow_docker(self):
        """While the preview image builds, show how far it got; say so if it fails."""
        image = (await signed_in(self)).services.preview_hub.image
        async for status in image.follow():
            async with self:
                self.docker_failed = status.state == ImageState.failed
                self.docker_note = status.describe() if status.state in (ImageState.building, ImageState.failed) else ""
        async with self:
            if self.checked:
                yield MachineState.load_report
