"""`python -m builder doctor`: what this machine can run, per runner, and what to do about the rest."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from builder.cli.command import Command, Invocation, on_this_machine
from builder.client.backend import NO_TOKEN
from builder.errors import NotSignedIn
from builder.services.doctor import DoctorReport, DoctorService, MachineVerdict
from builder.settings import settings
from preview_runtime.docker.image import PreviewImage

SERVER_TIMEOUT_S = 30


class MachineDoctor:
    """The running Forja's report when it answers (it knows how far an image build got), else this process's own.

    This process's own needs no database: a doctor must still speak when Forja cannot start. With accounts on, Forja
    answers only with an API token (`token`), and the report only to an admin: anyone else learns whether previews can
    run here."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    async def report(self) -> DoctorReport | MachineVerdict:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{settings.port}", headers=headers, timeout=SERVER_TIMEOUT_S, trust_env=False
            ) as client:
                response = await client.get("/api/doctor")
            if response.status_code == 401:
                raise NotSignedIn(_refused(response) if self._token else NO_TOKEN)
            if response.status_code == 200:
                found = response.json()
                return MachineVerdict.model_validate(found) if "verdict" in found else DoctorReport.model_validate(found)
        except (httpx.HTTPError, ValueError):
            pass
        return await DoctorService(PreviewImage(settings.preview_image)).checked_report()


def _refused(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return "This Forja refused the API token: make a new one on your Account page."


@asynccontextmanager
async def this_machine(invocation: Invocation) -> AsyncIterator[MachineDoctor]:
    on_this_machine(invocation)
    yield MachineDoctor(invocation.token)


def as_text(found: DoctorReport | MachineVerdict) -> str:
    if isinstance(found, MachineVerdict):
        return found.verdict
    width = max(len(name) for name in found.runners)
    lines = ["Preview runners:"]
    for name, runner in found.runners.items():
        state = "ready" if runner.ready else "not ready" if runner.known else "unknown"
        lines.append(f"  {name:<{width}}  {state:<9}  {runner.reason}")
    lines.append(f"auto picks: {found.auto} ({found.auto_reason})")
    lines.append(f"the settings ask for: {found.requested} ({'usable' if found.usable else 'NOT usable'})")
    lines.append("Checks:")
    width = max(len(check.name) for check in found.checks)
    lines.extend(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.detail}" for check in found.checks)
    return "\n".join(lines)


async def cmd_doctor(doctor: MachineDoctor, _args: argparse.Namespace) -> tuple[Any, str]:
    found = await doctor.report()
    return found, as_text(found)


def _usable(found: DoctorReport | MachineVerdict) -> int:
    """Exit status 0 when the runner the settings ask for can run previews, 1 otherwise."""
    return 0 if found.usable else 1


COMMANDS: dict[str, Command[Any]] = {"doctor": Command(this_machine, cmd_doctor, exit_status=_usable)}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    sub.add_parser("doctor", parents=[common], help="check what this machine can run (exit 1 if the chosen runner cannot)")
