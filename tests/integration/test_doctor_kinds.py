"""Doctor and the admin's Health by kind of project (issue 52): a registry whose name resolves to a private address
keeps only its own kind of project from installing in the local sandbox. With pypi.org resolving to a private address
(a company's split-horizon DNS) npm projects still install and run, so `auto` stays on the local runner instead of
becoming `none`, and the Python projects' sentence says what to set.

The names resolve from a hosts file bound over /etc/hosts in a mount namespace of the doctor's own process (so root
only): nothing is looked up outside this machine, and no other process sees the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# A public address for npm's registry (only resolved, never reached) and a private one for PyPI's names.
HOSTS = "127.0.0.1 localhost\n104.16.1.34 registry.npmjs.org\n10.20.30.40 pypi.org files.pythonhosted.org\n"


def doctor_with_hosts(hosts: Path, env: dict[str, str]) -> tuple[int, dict]:
    script = f"mount --bind {hosts} /etc/hosts && exec {sys.executable} -m builder doctor --json"
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "FORJA_PORT": str(free_port()), "DOCKER_HOST": "unix:///nonexistent/docker.sock", **env},
        timeout=120,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_python_registry_at_a_private_address_leaves_npm_projects_running(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("binding a hosts file for one process needs a mount namespace, made by root")
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    egress = {"FORJA_PREVIEW_EGRESS_HOSTS": "registry.npmjs.org,pypi.org,files.pythonhosted.org"}
    code, report = doctor_with_hosts(hosts, egress)
    local = report["runners"]["local"]
    assert code == 0 and report["auto"] == "local" and local["ready"] is True, report
    assert local["projects"]["npm"] == "npm projects install and run on this machine in a bubblewrap sandbox."
    python = local["projects"]["Python"]
    assert python == (
        "Python projects cannot install in its sandbox: files.pythonhosted.org and pypi.org resolve here to an address "
        "that is not public, and previews may reach the package registries at public addresses only. If that is this "
        "network's own mirror (a company mirror, split-horizon DNS), set FORJA_PIP_INDEX_URL=https://pypi.org/simple/ "
        "(or your mirror's own address)."
    )
    # Each name's own refusal is the registries check's, as before.
    checks = {check["name"]: check for check in report["checks"]}
    registries = checks["registries"]
    assert registries["ok"] is False and "pypi.org resolves to [address] here" in registries["detail"]
    # A team's MCP server added by its command installs as a preview does: with npx, not with uvx.
    assert checks["MCP commands"] == {
        "name": "MCP commands",
        "ok": True,
        "detail": "MCP servers added by a command start in a sandbox of their own: npx installs from npm's "
        "registry; uvx cannot install from PyPI (see registries). Each server keeps its own packages between sessions.",
    }
    assert local["reason"].startswith("Runs previews of npm projects on this machine in a bubblewrap sandbox, and of ")
    assert python in local["reason"]

    # Both kinds' registries private: no kind of project installs, and the runner is not ready.
    hosts.write_text(HOSTS.replace("104.16.1.34", "10.20.30.41"))
    code, report = doctor_with_hosts(hosts, egress)
    local = report["runners"]["local"]
    assert code == 1 and report["auto"] == "none" and local["ready"] is False, report
    assert local["reason"] == " ".join(local["projects"][kind] for kind in ("Python", "npm"))
