"""The CLI with accounts on (FORJA_AUTH=password), on this machine's database: real subprocesses, as test_cli.py.

Every command that names a project checks the person's role in it, as the API does; the operator commands
(`user`, `token`) need no token. People are made with `python -m builder user create`, tokens with `token create`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from builder.cli import parser
from builder.client.backend import NO_TOKEN
from builder.models import ProjectRole
from builder.services.access import no_such_project
from tests.conftest import DatabaseUrls
from tests.integration.test_cli import TREE, Cli, write_folder, zip_contents
from tests.pictures import png

PASSWORD = "correct horse battery"
BAD_TOKEN = "That API token does not work: it was revoked or never existed. Make a new one on your Account page."
VIEWER_MAY_NOT = "You are a viewer of this project: only an editor or its owner may do that. Ask its owner for more access."
OWNER_ONLY = "You are a viewer of this project: only its owner may do that. Ask its owner for more access."


@dataclass
class Team:
    cli: Cli
    a_id: str
    a_token: str
    b_id: str
    b_token: str
    b_token_id: int
    project: str  # A's
    share: int  # a link to A's project


def make_team(tmp_path: Path, database_url: str = "") -> Team:
    cli = Cli(tmp_path / "data", database_url, FORJA_AUTH="password")
    a = cli.json("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=f"{PASSWORD}\n")
    b = cli.json("user", "create", "bo@example.org", "--password-stdin", input=PASSWORD)
    assert (a["role"], b["role"], b["name"]) == ("admin", "member", "bo")  # the first account is the admin's
    a_token = cli.ok("token", "create", "ana@example.org").strip()
    b_token = cli.json("token", "create", "bo@example.org", "--name", "laptop")
    assert a_token.startswith("forja_") and b_token["name"] == "laptop"
    project = cli.ok("import", str(write_folder(tmp_path / "site", TREE)), token=a_token).strip()
    share = cli.json("share", project, token=a_token)["id"]
    return Team(cli, a["id"], a_token, b["id"], b_token["token"], b_token["id"], project, share)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return make_team(tmp_path)


def commands_of(command: argparse.ArgumentParser, name: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Each command under `command`, a command with actions as each of them ("env set")."""
    sub = next((action for action in command._actions if isinstance(action, argparse._SubParsersAction)), None)
    if sub is None:
        yield name, command
        return
    for word, inner in sub.choices.items():
        yield from commands_of(inner, f"{name} {word}".strip())


def project_commands() -> dict[str, argparse.ArgumentParser]:
    """Every command of the CLI (an action of one too: "agent accept") that names a project (or a share link) by a
    positional argument."""
    return {
        name: command
        for name, command in commands_of(parser())
        if any(action.dest in ("id", "share_id") and not action.option_strings for action in command._actions)
    }


def argv_for(name: str, command: argparse.ArgumentParser, values: dict[str, str], out: Path) -> list[str]:
    """A complete command line: its positionals from `values` (a new positional fails here until the test knows it),
    its required options a file under `out`."""
    argv = name.split()
    for action in command._actions:
        if not action.option_strings:
            argv.append(values[action.dest])
        elif action.required:
            argv += [action.option_strings[0], str(out / f"{name}.out")]
    return argv


def test_every_project_command_refuses_a_person_without_a_role(team: Team, tmp_path: Path) -> None:
    commands = project_commands()
    assert set(commands) >= {"files", "export", "history", "diff", "restore", "export-bundle", "rename", "duplicate"}
    assert set(commands) >= {"delete", "undelete", "share", "shares", "revoke", "preview", "stop", "ask"}
    assert set(commands) >= {"env set", "remote push", "data reset", "agent approve", "agent accept", "agent reject"}
    assert set(commands) >= {"agent answer", "agent engine"}
    picture = tmp_path / "logo.png"
    picture.write_bytes(png())
    values = {"id": team.project, "share_id": str(team.share), "version": "1", "name": "Taken over", "file": str(picture)}
    values |= {"release": "1", "assignment": "STRIPE_KEY=sk_test_123", "question": "Where is the price computed?"}
    values |= {"url": "https://git.example.org/site.git", "setting": "on", "run_id": "1", "answers": "One", "engine": "opencode"}
    out = tmp_path / "out"
    out.mkdir()
    unknown = no_such_project(team.project).message
    for name, command in commands.items():
        # A share link is refused without naming the project it belongs to.
        expected = f"There is no share link {team.share}." if name == "revoke" else unknown
        assert team.cli.refused(*argv_for(name, command, values, out), token=team.b_token) == expected, name
    follow_up = ("generate", "Make it mine", "--project", team.project, "--provider", "offline", "--no-verify")
    assert team.cli.refused(*follow_up, token=team.b_token) == unknown
    assert team.cli.refused(*follow_up, "--agent", token=team.b_token) == unknown

    # Nothing of A's changed, and B got nothing out of it.
    cli, a = team.cli, team.a_token
    assert list(out.iterdir()) == []
    assert [(p["id"], p["name"], p["current_version"]) for p in cli.json("projects", token=a)] == [(team.project, "Site", 1)]
    assert len(cli.json("history", team.project, token=a)) == 1
    assert [(s["id"], s["revoked"]) for s in cli.json("shares", team.project, token=a)] == [(team.share, False)]
    assert cli.json("trash", token=a) == []
    assert cli.json("projects", token=team.b_token) == [] and cli.json("trash", token=team.b_token) == []


def add_member(cli: Cli, project: str, email: str, role: ProjectRole) -> None:
    """What the project's owner does on its page: a role in it for another person."""

    async def add() -> None:
        services = cli.services()
        try:
            await services.access.add_member(project, email, role)
        finally:
            await services.close()

    asyncio.run(add())


def test_a_viewer_may_read_and_export_but_not_change(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    team = make_team(tmp_path, database_urls.sync)
    add_member(team.cli, team.project, "bo@example.org", ProjectRole.viewer)
    cli, b = team.cli, team.b_token

    assert [(p["id"], p["role"]) for p in cli.json("projects", token=b)] == [(team.project, "viewer")]
    assert [f["path"] for f in cli.json("files", team.project, token=b)] == sorted(TREE)
    cli.ok("export", team.project, "--out", str(tmp_path / "copy.zip"), token=b)
    assert zip_contents(tmp_path / "copy.zip") == TREE

    assert cli.refused("rename", team.project, "Taken over", token=b) == VIEWER_MAY_NOT
    assert cli.refused("share", team.project, token=b) == VIEWER_MAY_NOT
    assert cli.refused("revoke", str(team.share), token=b) == VIEWER_MAY_NOT
    assert cli.refused("delete", team.project, token=b) == OWNER_ONLY
    project = cli.json("projects", token=team.a_token)[0]
    assert project["name"] == "Site" and len(cli.json("shares", team.project, token=team.a_token)) == 1


def test_without_a_working_token_nothing_is_done(team: Team) -> None:
    cli = team.cli
    assert cli.refused("projects") == NO_TOKEN
    assert cli.refused("files", team.project) == NO_TOKEN
    assert cli.refused("projects", token="forja_made_up") == BAD_TOKEN
    assert cli.json("projects", token=team.b_token) == []  # works until revoked

    async def revoke() -> None:
        services = team.cli.services()
        try:
            person = await services.accounts.actor_by_email("bo@example.org")
            await services.accounts.revoke_token(person, team.b_token_id)
        finally:
            await services.close()

    asyncio.run(revoke())
    assert cli.refused("projects", token=team.b_token) == BAD_TOKEN
    assert cli.refused("import", str(team.cli.data_dir), token=team.b_token) == BAD_TOKEN


def test_operator_commands(tmp_path: Path) -> None:
    # A project made before accounts, on a laptop: the first account takes it over.
    cli = Cli(tmp_path / "data", FORJA_AUTH="none", FORJA_PUBLIC_URL="https://forja.example.org")
    before = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()
    made = cli.ok("user", "create", "ana@example.org", "--password-stdin", input=PASSWORD)
    assert made.startswith("Made the account of ana@example.org (ana), an admin. It is the first account")
    assert "people sign in once FORJA_AUTH=password" in made

    cli.env["FORJA_AUTH"] = "password"
    assert (
        cli.refused("user", "create", "bo@example.org") == "Type the password on a terminal, or pipe it in with --password-stdin."
    )
    short = cli.run("user", "create", "bo@example.org", "--password-stdin", input="short")
    assert short.returncode == 1 and short.stderr.strip() == "error: Choose a password of at least 8 characters."
    again = cli.run("user", "create", "ANA@example.org", "--password-stdin", input=PASSWORD)
    assert again.returncode == 1 and "There is already an account for ana@example.org" in again.stderr
    cli.ok("user", "create", "bo@example.org", "--name", "Bo", "--admin", "--password-stdin", input=PASSWORD)
    people = cli.json("user", "list")
    assert [(u["email"], u["name"], u["role"], u["disabled"]) for u in people] == [
        ("ana@example.org", "ana", "admin", False),
        ("bo@example.org", "Bo", "admin", False),
    ]
    assert "bo@example.org" in cli.ok("user", "list")

    token = cli.ok("token", "create", "ana@example.org").strip()
    assert [(p["id"], p["role"]) for p in cli.json("projects", token=token)] == [(before, "owner")]
    assert cli.refused("token", "create", "nobody@example.org") == "There is no account for nobody@example.org on this Forja."
    assert cli.refused("user", "list", "--server", "http://127.0.0.1:9") == (
        "'user list' works on this machine's own Forja: run it on the server, without --server or FORJA_SERVER."
    )

    link = cli.json("user", "reset-link", "bo@example.org")
    assert link["url"].startswith("https://forja.example.org/reset?token=") and link["email"] == "bo@example.org"
    reset_token = parse_qs(urlsplit(link["url"]).query)["token"][0]

    async def reset_then_sign_in() -> None:
        services = cli.services()
        try:
            await services.accounts.reset_password(reset_token, "a new password here")
            assert await services.accounts.sign_in("bo@example.org", "a new password here", "127.0.0.1")
        finally:
            await services.close()

    asyncio.run(reset_then_sign_in())
