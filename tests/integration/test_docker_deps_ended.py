"""A Docker preview whose dev server ends after a fresh install: nothing is copied into the dependency cache, and no
warning about it hides why the preview failed (its /app is a tmpfs that went with the container's run)."""

from __future__ import annotations

import asyncio
import time

import pytest

from preview_runtime.docker.runner import DockerRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewState

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import LogCollector, spec, wait_state  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

FILES = {"requirements.txt": b"gradio\n", "demo.py": b"import gradio as gr\n"}
# What a Python app that crashes on start leaves behind: a venv just installed, then an exit.
PLAN = RunPlan(
    install="python -m venv --without-pip .venv && echo installed > .venv/marker",
    dev="echo 'Traceback: ModuleNotFoundError' && exit 3",
    port=8000,
    has_server=True,
    lockfile_hash_inputs=["requirements.txt"],
)


async def test_a_dev_server_that_exits_after_the_install_is_reported_without_a_cache_warning(
    docker_runner_factory,
) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("ended-1", FILES, PLAN, project_id=f"ended-{time.time_ns()}"), log)
    info = await wait_state(runner, "ended-1", PreviewState.failed, 60, log)
    assert "exit code 3" in info.detail
    save = runner._previews["ended-1"].save_task
    assert save is not None, f"the install was not seen as fresh:\n{log.dump('ended-1')}"
    await asyncio.wait_for(save, timeout=30)
    texts = log.texts("ended-1")
    assert any(t.startswith("Dependencies installed") for t in texts)
    assert not any("could not cache the dependencies" in t for t in texts), log.dump("ended-1")
    assert not any(t.startswith("Dependencies cached") for t in texts)
    await runner.stop("ended-1")
