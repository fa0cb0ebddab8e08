"""The agent's page fetch with no allowlist, as for the open web: a page at a public address is read, and its
redirects to this machine or a private network are refused before any connection. The public address is the loopback
of a network namespace the test makes (`unshare -rn`, tests/page_netns.py): no packet leaves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from builder.settings import REPO_ROOT


def _namespaces_or_fail_in_ci() -> None:
    made = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, check=False)
    if made.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"a user and network namespace is required in CI: {made.stderr.decode()}", pytrace=False)
        pytest.skip(f"no user and network namespace here: {made.stderr.decode().strip()}")


def test_a_public_page_is_read_and_its_redirects_inside_are_refused() -> None:
    _namespaces_or_fail_in_ci()
    ran = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "tests.page_netns"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    found = json.loads(ran.stdout)
    assert found["/guide"] == ["read", "# Guide\n\nPublic words."]
    assert found["/to-loopback"][0] == "refused" and "127.0.0.1 leads to 127.0.0.1 is this machine" in found["/to-loopback"][1]
    assert found["/to-name"] == [
        "refused",
        "intranet.example leads to 127.0.0.1 is this machine: the agent reads public pages only (an administrator can "
        "allow a private site, such as an intranet's documentation).",
    ]
    assert "169.254.169.254 leads to 169.254.169.254 is not a public address" in found["/to-metadata"][1]
    assert "::ffff:127.0.0.1 is this machine" in found["/to-mapped"][1]
    assert found["inside"] == []  # the private server was never reached
