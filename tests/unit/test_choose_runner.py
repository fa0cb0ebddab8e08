"""Which runner a preview gets, and the sentence that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview_runtime.local import LocalRunner
from preview_runtime.runner import RunnerError
from preview_runtime.runner_choice import choose_runner


def test_auto_without_docker_names_the_reason_docker_is_missing(tmp_path: Path) -> None:
    local = LocalRunner(tmp_path)
    runner, why = choose_runner(
        "auto", {"local": local}, {"docker": "Preparing Docker previews (step 2 of 6, apt-get install, 12 s)."}
    )
    assert runner is local
    assert why == "Docker is not used: Preparing Docker previews (step 2 of 6, apt-get install, 12 s)."


def test_auto_prefers_docker(tmp_path: Path) -> None:
    docker, local = LocalRunner(tmp_path / "a"), LocalRunner(tmp_path / "b")
    runner, why = choose_runner("auto", {"docker": docker, "local": local})
    assert runner is docker and why.startswith("Docker is ready")


def test_asking_for_a_missing_runner_says_why_it_is_missing(tmp_path: Path) -> None:
    with pytest.raises(
        RunnerError, match=r"^The docker runner cannot be used: The Docker preview image could not be built: x\.$"
    ):
        choose_runner("docker", {"local": LocalRunner(tmp_path)}, {"docker": "The Docker preview image could not be built: x."})
    with pytest.raises(RunnerError, match="Unknown runner 'kubernetes'"):
        choose_runner("kubernetes", {})
    with pytest.raises(
        RunnerError, match=r"^The swarm runner cannot be used: this Forja's Docker engine is not a swarm manager$"
    ):
        choose_runner("swarm", {"docker": LocalRunner(tmp_path)})


def test_auto_prefers_the_swarm_on_a_manager_then_docker(tmp_path: Path) -> None:
    swarm, docker, local = (LocalRunner(tmp_path / name) for name in ("a", "b", "c"))
    runner, why = choose_runner("auto", {"swarm": swarm, "docker": docker, "local": local})
    assert runner is swarm and why.startswith("Docker Swarm is ready: each preview runs as a hardened service")
    runner, why = choose_runner("auto", {"docker": docker, "local": local}, {"swarm": "not a manager"})
    assert runner is docker and why.startswith("Docker is ready")


def test_auto_with_no_runner_says_why_each_is_missing_strongest_first() -> None:
    unavailable = {
        "local": "this Forja is set to run previews with the swarm runner only.",
        "swarm": "This Docker engine is not part of a swarm (docker swarm init, or join one as a manager).",
    }
    with pytest.raises(RunnerError) as raised:
        choose_runner("auto", {}, unavailable)
    assert str(raised.value) == (
        "No preview runner is available on this Forja."
        " The swarm runner cannot be used: This Docker engine is not part of a swarm (docker swarm init, or join one"
        " as a manager)."
        " The local runner cannot be used: this Forja is set to run previews with the swarm runner only."
    )
