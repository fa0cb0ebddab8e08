"""`python -m builder doctor`: what this machine can run, per runner, and what to do about the rest."""

from __future__ import annotations

import argparse
import json

import httpx

from builder.doctor import DoctorReport, diagnose
from builder.settings import settings
from preview_runtime.docker.image import PreviewImage

SERVER_TIMEOUT_S = 30


async def report(token: str | None = None) -> DoctorReport:
    """The running Forja's report when it answers (it knows how far an image build got), else this process's own.
    With accounts on, Forja answers only with an API token (`token`)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.port}", headers=headers, timeout=SERVER_TIMEOUT_S, trust_env=False
        ) as client:
            response = await client.get("/api/doctor")
        if response.status_code == 200:
            return DoctorReport.model_validate(response.json())
    except (httpx.HTTPError, ValueError):
        pass
    return await diagnose(await PreviewImage(settings.preview_image).check())


def as_text(found: DoctorReport) -> str:
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


async def run(args: argparse.Namespace, token: str | None = None) -> int:
    """Exit status 0 when the runner the settings ask for can run previews, 1 otherwise."""
    found = await report(token)
    print(json.dumps(found.model_dump(mode="json"), indent=2) if args.json else as_text(found))
    return 0 if found.usable else 1


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub.add_parser("doctor", parents=[common], help="check what this machine can run (exit 1 if the chosen runner cannot)")
