"""What this machine can run, for the /doctor page and the note on the home page while Docker gets ready."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.hidden_addresses import without_addresses
from builder.services.doctor import MachineVerdict
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
    # For a person who is not an admin, in place of the report: whether previews can run here.
    verdict: str = ""

    @rx.event
    async def load_report(self) -> None:
        allowed = await signed_in(self)
        report = await allowed.services.doctor.report_for(allowed.actor)
        self.checked = True
        if isinstance(report, MachineVerdict):
            self.verdict, self.usable = report.verdict, report.usable
            return
        self.auto, self.auto_reason, self.usable = report.auto, report.auto_reason, report.usable
        self.runners = [RunnerRow(name, r.ready, r.reason, r.known) for name, r in report.runners.items()]
        self.checks = [CheckRow(c.name, c.ok, c.detail) for c in report.checks]

    @rx.event(background=True)
    async def follow_docker(self):
        """While the preview image builds, show how far it got; say so if it fails."""
        image = (await signed_in(self)).services.preview_hub.image
        async for status in image.follow():
            async with self:
                self.docker_failed = status.state == ImageState.failed
                # A failed build quotes its tools, which may name the addresses they could not reach.
                failing = status.state in (ImageState.building, ImageState.failed)
                self.docker_note = without_addresses(status.describe()) if failing else ""
        async with self:
            if self.checked:
                yield MachineState.load_report
