"""`forja env set/list/unset` on this machine's database: names only ever come back, and the first use makes the key
file (mode 0600) in the data folder."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from builder.settings import settings
from tests.integration.test_cli import TREE, Cli, cli, write_folder

__all__ = ["cli"]  # the fixture, used by name

SECRET = "sk_test_cli_0a1b2c3d4e5f"


async def values(cli: Cli, project_id: str) -> dict[str, str]:
    services = cli.services()
    try:
        return await services.app_env.values(project_id)
    finally:
        await services.close()


def test_env_set_list_and_unset_never_print_a_value(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project_id = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()

    said = cli.ok("env", "set", project_id, f"STRIPE_KEY={SECRET}")
    assert "STRIPE_KEY is set" in said and SECRET not in said
    key_file = cli.data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cli.ok("env", "set", project_id, "VITE_TITLE=Corner=shop")  # the first = splits, the rest is the value
    listed = cli.json("env", "list", project_id)
    assert [(v["name"], v["public"]) for v in listed] == [("STRIPE_KEY", False), ("VITE_TITLE", True)]
    text = cli.ok("env", "list", project_id)
    assert "VITE_TITLE  (public: built into the page)" in text and SECRET not in text

    monkeypatch.setattr(settings, "data_dir", cli.data_dir)  # in-process, the key file the commands made
    assert asyncio.run(values(cli, project_id)) == {"STRIPE_KEY": SECRET, "VITE_TITLE": "Corner=shop"}

    assert "NAME=VALUE" in cli.refused("env", "set", project_id, "STRIPE_KEY")
    assert "Forja will set DATABASE_URL itself" in cli.refused("env", "set", project_id, "DATABASE_URL=x")
    refused = cli.refused("env", "set", project_id, "LD_PRELOAD=./lib.so")
    assert "LD_PRELOAD changes how programs load code; Forja does not let an app set it." in refused
    cli.ok("env", "unset", project_id, "STRIPE_KEY")
    assert [v["name"] for v in cli.json("env", "list", project_id)] == ["VITE_TITLE"]
    assert "has no variable STRIPE_KEY" in cli.refused("env", "unset", project_id, "STRIPE_KEY")


def test_data_reset_empties_the_preview_data_only(cli: Cli, tmp_path: Path) -> None:
    project_id = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()
    preview, live = (cli.data_dir / "appdata" / project_id / scope / "files" for scope in ("preview", "live"))
    for folder in (preview, live):
        folder.mkdir(parents=True)
        (folder / "note.txt").write_text("kept")

    said = cli.ok("data", "reset", project_id)
    assert "preview data" in said and "reset" in said
    assert list(preview.iterdir()) == [] and (live / "note.txt").read_text() == "kept"
    assert "no project" in cli.refused("data", "reset", "nope").lower()
