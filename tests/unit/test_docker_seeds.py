"""Which seed folders the Docker runner shows to previews: decided without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.settings import Settings
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import ContainerSpec


def test_only_real_seeds_are_shown_to_previews(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistaken seed path must not show an arbitrary folder (Forja's own, with its .env) to untrusted code."""
    npm, wheels, other = tmp_path / "npm", tmp_path / "wheels", tmp_path / "checkout"
    for folder in (npm / "_cacache", wheels, other):
        folder.mkdir(parents=True)
    (other / ".env").write_text("FORJA_SECRET=never-for-previews\n")
    assert ContainerSpec(DockerConfig(npm_seed=other, wheel_seed=other)).seeds() == {}
    assert ContainerSpec(DockerConfig(npm_seed=npm, wheel_seed=wheels)).seeds() == {"npm": str(npm)}  # no wheel in it yet
    (wheels / "demo-1.0-py3-none-any.whl").write_bytes(b"")
    assert ContainerSpec(DockerConfig(npm_seed=npm, wheel_seed=wheels)).seeds() == {"npm": str(npm), "wheels": str(wheels)}

    # An empty setting means no seed, never the working directory (which Path("") would be).
    monkeypatch.setenv("FORJA_NPM_SEED_CACHE", "")
    monkeypatch.setenv("FORJA_PIP_SEED_WHEELS", "")
    assert (Settings().npm_seed_cache, Settings().pip_seed_wheels) == (None, None)
