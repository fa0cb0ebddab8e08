"""The local runner's rules, without running anything: the preview environment, loopback-only commands, safe paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from preview_runtime.local.environment import BUNDLED_WHEELS, NODE_BIN, loopback_only, make_venv, preview_env
from preview_runtime.local.files import safe_path
from preview_runtime.runner import RunnerError


def test_preview_env_keeps_only_the_allowlist_and_never_secrets(tmp_path: Path) -> None:
    source = {
        "PATH": "/somewhere/else",
        "HOME": "/root",
        "LANG": "en_US.UTF-8",
        "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
        "HTTPS_PROXY": "http://proxy.internal:3128",
        "ANTHROPIC_API_KEY": "sk-ant-x",
        "OPENAI_API_KEY": "sk-x",
        "GITHUB_TOKEN": "ghp",
        "FORJA_SECRET": "s",
        "PGPASSWORD": "p",
        "DATABASE_URL": "postgresql://u:p@h/db",
        "FORJA_DATABASE_URL": "sqlite:///x",
        "RANDOM_OTHER": "x",
    }
    env = preview_env(4321, tmp_path / "home", source=source)
    assert env["PORT"] == "4321"
    assert env["HOST"] == "127.0.0.1"
    assert env["HOME"] == str(tmp_path / "home")
    assert env["PATH"].split(":")[:2] == [NODE_BIN, str(Path(sys.executable).parent)]
    assert env["LANG"] == "en_US.UTF-8"
    assert env["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["HTTPS_PROXY"] == "http://proxy.internal:3128"
    for name in (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GITHUB_TOKEN",
        "FORJA_SECRET",
        "PGPASSWORD",
        "DATABASE_URL",
        "RANDOM_OTHER",
    ):
        assert name not in env
    assert not any(value in ("sk-ant-x", "sk-x", "ghp", "s", "p") for value in env.values())


def test_dev_commands_listen_on_loopback_only() -> None:
    assert (
        loopback_only("python -m http.server ${PORT:-8080} --bind 0.0.0.0")
        == "python -m http.server ${PORT:-8080} --bind 127.0.0.1"
    )
    assert (
        loopback_only("python manage.py runserver 0.0.0.0:${PORT:-8000}") == "python manage.py runserver 127.0.0.1:${PORT:-8000}"
    )
    assert loopback_only("uvicorn app:app --host 10.0.0.0 --port 1") == "uvicorn app:app --host 10.0.0.0 --port 1"


def test_paths_cannot_escape_the_project(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    assert safe_path(root, "src/App.jsx") == (root / "src/App.jsx").resolve()
    for bad in ("/etc/passwd", "../x", "src/../../x", "link/x", "", "."):
        with pytest.raises(RunnerError):
            safe_path(root, bad)


def test_a_previews_venv_gets_the_pip_and_setuptools_ensurepip_bundles(tmp_path: Path) -> None:
    bundled = sorted(wheel.name.split("-", 1)[0] for wheel in BUNDLED_WHEELS.glob("*.whl"))
    assert "pip" in bundled  # this Python bundles them (pyenv's, python.org's): the fast path is the one tested
    subprocess.run(make_venv(BUNDLED_WHEELS), shell=True, cwd=tmp_path, check=True, capture_output=True)
    python = tmp_path / ".venv" / "bin" / "python"
    # Its own pip, not Forja's: an install in the preview (its terminal's `pip install`) goes into the venv.
    where = subprocess.run([python, "-m", "pip", "--version"], check=True, capture_output=True, text=True).stdout
    assert f"{tmp_path / '.venv'}" in where
    assert (tmp_path / ".venv" / "bin" / "pip").is_file()
    site = next((tmp_path / ".venv" / "lib").glob("python3*/site-packages"))
    assert sorted(info.name.split("-", 1)[0] for info in site.glob("*.dist-info")) == bundled
    # Forja's own packages are not in it.
    assert subprocess.run([python, "-c", "import pydantic"], capture_output=True).returncode != 0


def test_a_python_that_bundles_no_wheels_makes_its_venv_with_ensurepip(tmp_path: Path) -> None:
    assert make_venv(tmp_path).endswith(" -m venv .venv")
