"""`python -m builder` as a person or a script runs it, on a fresh SQLite per test.

Most commands run in this process (`builder.cli.main`, with the environment and settings a subprocess would read):
a subprocess spends seconds importing Forja before it does anything, and these tests run hundreds of commands. One
test runs `python -m builder` itself, in a subprocess: its entry point, exit statuses and streams.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, create_engine

import builder.composition
import builder.settings
from builder import db
from builder.cli import main
from builder.composition import Services
from builder.generation import guard
from builder.models import Generation
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.conftest import free_port
from tests.pictures import png

REPO = Path(__file__).resolve().parents[2]
PICTURE = png()
TREE = {"index.html": b"<h1>Hi</h1>", "src/app.js": b"console.log('hi')", "img/logo.png": b"\x89PNG\r\n\x1a\n\x00\xff"}


class Cli:
    def __init__(self, data_dir: Path, database_url: str = "", **settings: str) -> None:
        # Only this test's data dir: no database URL or other Forja setting from the outer environment.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FORJA_") and k != "DATABASE_URL"}
        # But DNS questions go to the tests' own server (tests/conftest.py), never to the machine's resolver.
        self.env["FORJA_DNS_RESOLVER"] = os.environ["FORJA_DNS_RESOLVER"]
        # DATABASE_URL="" also beats one in a developer's .env: SQLite in FORJA_DATA_DIR.
        self.env |= {"FORJA_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "PYTHONDONTWRITEBYTECODE": "1"}
        # No Forja listens there: commands that would ask a running Forja never reach one this test did not start.
        self.env["FORJA_PORT"] = str(free_port())
        self.env |= settings  # FORJA_AUTH=password...
        self.data_dir = data_dir
        self.subprocess = False  # `python -m builder` in a process of its own, else builder.cli.main here
        self.database_url = database_url or f"sqlite:///{data_dir / 'forja.db'}"

    def services(self) -> Services:
        """The service layer on the database the commands use, for what a test does in-process (call close())."""
        async_url = self.database_url.replace("sqlite://", "sqlite+aiosqlite://", 1)
        return Services(ProjectStore(db.create_engine(async_url)), LogHub())

    def run(self, *args: str, token: str | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The command as `token`'s person (given as FORJA_TOKEN, as docs/cli.md advises); `input` goes to stdin."""
        env = self.env | ({"FORJA_TOKEN": token} if token else {})
        if not self.subprocess:
            return run_in_process(list(args), env, input)
        return subprocess.run(
            [sys.executable, "-m", "builder", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,  # never the terminal pytest may run in
        )

    def ok(self, *args: str, token: str | None = None, input: str | None = None) -> str:
        result = self.run(*args, token=token, input=input)
        assert result.returncode == 0, f"{args} exited {result.returncode}: {result.stderr}"
        return result.stdout

    def json(self, *args: str, token: str | None = None, input: str | None = None) -> Any:  # whatever JSON it printed
        return json.loads(self.ok(*args, "--json", token=token, input=input))

    def refused(self, *args: str, token: str | None = None) -> str:
        """The sentence a refused command printed (exit 1, nothing on stdout, no traceback)."""
        result = self.run(*args, token=token)
        assert result.returncode == 1, f"{args} exited {result.returncode}: {result.stdout} {result.stderr}"
        assert result.stdout == "" and "Traceback" not in result.stderr, (args, result.stderr)
        return result.stderr.strip().removeprefix("error: ")


@contextmanager
def as_new_process(environment: dict[str, str], stdin: str) -> Iterator[None]:
    """This process as a new one started with `environment` and `stdin` would be: its variables, the settings read from
    them, and no services yet (get_services keeps the first it builds); everything as it was afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setattr(builder.composition, "_services", None)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        fresh = builder.settings.Settings()
        for name in builder.settings.Settings.model_fields:
            patch.setattr(builder.settings.settings, name, getattr(fresh, name))
        guard.secret_values.cache_clear()  # it caches the keys from settings and the environment
        try:
            yield
        finally:
            guard.secret_values.cache_clear()


def run_in_process(
    argv: list[str], environment: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m builder ARGV` run by builder.cli.main in this process, on a thread of its own (its event loop
    never meets a test's), with what it prints and its exit status."""
    out, err = io.StringIO(), io.StringIO()

    def command() -> int:
        with as_new_process(environment, input or ""), redirect_stdout(out), redirect_stderr(err):
            try:
                return main(argv, prog="python -m builder")
            except SystemExit as exc:  # argparse's usage errors
                return exc.code if isinstance(exc.code, int) else 1

    with ThreadPoolExecutor(1) as thread:
        status = thread.submit(command).result(timeout=timeout)
    return subprocess.CompletedProcess([sys.executable, "-m", "builder", *argv], status, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def zip_bytes(files: dict[str, bytes], root: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(root + path, content)
    return buffer.getvalue()


def zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    return folder


def test_import_a_folder_then_list_files_and_export(cli: Cli, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "my-site", TREE | {"node_modules/x/index.js": b"skipped"})
    project_id = cli.ok("import", str(folder)).strip()
    assert len(project_id) == 12 and project_id.isalnum()
    assert (cli.data_dir / "forja.db").is_file()  # the database went where FORJA_DATA_DIR says

    projects = cli.json("projects")
    assert isinstance(projects, list) and len(projects) == 1
    assert projects[0]["id"] == project_id
    assert projects[0]["name"] == "My site"
    assert projects[0]["file_count"] == 3 and projects[0]["current_version"] == 1
    assert projects[0]["stack"] == ["html"]

    files = cli.json("files", project_id)
    assert files == [
        {"path": "img/logo.png", "size": len(TREE["img/logo.png"]), "binary": True},
        {"path": "index.html", "size": len(TREE["index.html"]), "binary": False},
        {"path": "src/app.js", "size": len(TREE["src/app.js"]), "binary": False},
    ]
    text = cli.ok("files", project_id)
    assert "src/app.js" in text and "index.html" in text

    out = tmp_path / "x.zip"
    exported = cli.json("export", project_id, "--out", str(out))
    assert exported == {"id": project_id, "out": str(out), "files": 3}
    assert zip_contents(out) == TREE


def test_add_picture_saves_it_into_the_project(cli: Cli, tmp_path: Path) -> None:
    project_id = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()
    picture = tmp_path / "Shop Logo.png"
    picture.write_bytes(PICTURE)
    assert cli.ok("add-picture", project_id, str(picture)).strip() == "Added assets/shop-logo.png as version 2"
    added = cli.json("add-picture", project_id, str(picture), "--path", "img/brand")
    assert (added["path"], added["version"]["number"], added["version"]["message"]) == ("img/brand", 3, "Added picture img/brand")
    notes = tmp_path / "notes.png"
    notes.write_text("just text")
    assert cli.refused("add-picture", project_id, str(notes)) == (
        "“notes.png” is not a picture Forja can read; attach a PNG, JPEG, GIF or WebP picture."
    )
    cli.ok("export", project_id, "--out", str(tmp_path / "out.zip"))
    assert zip_contents(tmp_path / "out.zip") == TREE | {"assets/shop-logo.png": PICTURE, "img/brand": PICTURE}


def test_import_a_zip_with_json_output(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "shop-main.zip"
    source.write_bytes(zip_bytes(TREE, root="shop-main/"))
    result = cli.json("import", str(source), "--name", "Barber shop")
    assert isinstance(result, dict)
    assert set(result) == {"id", "version", "files"}
    assert result["version"] == 1 and result["files"] == 3

    projects = cli.json("projects")
    assert [(p["id"], p["name"]) for p in projects] == [(result["id"], "Barber shop")]
    out = tmp_path / "out.zip"
    assert cli.ok("export", result["id"], "--out", str(out)).strip() == f"Wrote 3 files to {out}"
    assert zip_contents(out) == TREE  # the common top folder was stripped on import


def test_import_a_json_tree(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "landing_page.json"
    source.write_text(
        json.dumps({"files": [{"path": "index.html", "content": "<p>hi</p>"}, {"path": "a.css", "content": "p{}"}]})
    )
    result = cli.json("import", str(source))
    assert isinstance(result, dict) and result["version"] == 1 and result["files"] == 2
    projects = cli.json("projects")
    assert projects[0]["name"] == "Landing page"
    out = tmp_path / "landing.zip"
    cli.ok("export", result["id"], "--out", str(out))
    assert zip_contents(out) == {"index.html": b"<p>hi</p>", "a.css": b"p{}"}


def test_projects_when_there_are_none(cli: Cli) -> None:
    assert cli.json("projects") == []
    assert "No projects yet" in cli.ok("projects")


def test_import_of_a_bad_zip_fails_naming_the_file(cli: Cli, tmp_path: Path) -> None:
    link = zipfile.ZipInfo("app/passwords.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app/index.html", "ok")
        archive.writestr(link, "/etc/passwd")
    source = tmp_path / "bad.zip"
    source.write_bytes(buffer.getvalue())

    result = cli.run("import", str(source))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "error: app/passwords.txt is a symbolic link; links are not allowed in an import."

    as_json = cli.run("import", str(source), "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stderr) == {"error": "app/passwords.txt is a symbolic link; links are not allowed in an import."}

    traversal = tmp_path / "traversal.zip"
    traversal.write_bytes(zip_bytes({"index.html": b"ok", "../../etc/cron.d/evil": b"x"}))
    result = cli.run("import", str(traversal))
    assert result.returncode == 1
    assert "'../../etc/cron.d/evil' contains '..'" in result.stderr

    not_a_zip = tmp_path / "notes.zip"
    not_a_zip.write_text("just text")
    result = cli.run("import", str(not_a_zip))
    assert result.returncode == 1
    assert "not a zip archive" in result.stderr

    assert cli.json("projects") == []  # nothing half-imported


def test_import_of_a_missing_path(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("import", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nowhere'} does not exist; give a folder, a .zip or a .json file tree."


def test_a_model_not_connected_is_for_whoever_runs_the_command_to_connect(cli: Cli) -> None:
    """Run here, the command's user runs this Forja: told to connect the model themselves, not to ask someone."""
    result = cli.run("generate", "A page", "--provider", "anthropic")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: Claude is not connected on this Forja: you can connect it yourself in the Models section of the admin page."
    )


def test_unknown_project_id(cli: Cli, tmp_path: Path) -> None:
    expected = "There is no project 'doesnotexist'. It may have been deleted; see the home page for your projects."
    for args in (("files", "doesnotexist"), ("export", "doesnotexist", "--out", str(tmp_path / "x.zip"))):
        result = cli.run(*args)
        assert result.returncode == 1, args
        assert result.stderr.strip() == f"error: {expected}"
        assert result.stdout == ""
    assert not (tmp_path / "x.zip").exists()


def test_usage_mistakes_exit_2_and_migrate_is_idempotent(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    cli.subprocess = True  # `python -m builder` itself: each of its exit statuses (2, 0, 1) and its streams, once
    # Each process spends seconds importing Forja before it does anything: two at a time, and the migration (which
    # makes the database) before the command that reads it.
    with ThreadPoolExecutor(2) as pool:
        usage, migrated = pool.submit(cli.run), pool.submit(cli.json, "migrate")
        assert usage.result().returncode == 2
        assert migrated.result() == {"status": "ok"}
        refused = pool.submit(cli.run, "files", "doesnotexist")
        # Settings it cannot use stop any command before it does anything: each variable named, none of their values.
        unusable = Cli(tmp_path / "other", FORJA_WORKER_LEASE_S="0", FORJA_SWEEP_EVERY_S="abc")
        unusable.env["FORJA_REVIEW_NPM_REGISTRY"] = "ftp://forja:hunter2@mirror.example"
        unusable.subprocess = True
        stopped = pool.submit(unusable.run, "projects")
        # Meanwhile the same parser and the migration again, in this process.
        assert run_in_process(["export", "abc"], cli.env).returncode == 2  # --out is required
        again = run_in_process(["migrate"], cli.env)
        assert (again.returncode, again.stdout.strip()) == (0, "Database is up to date.")
        missing = refused.result()
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.startswith("error: There is no project 'doesnotexist'.") and "Traceback" not in missing.stderr
    bad = stopped.result()
    assert (bad.returncode, bad.stdout) == (2, ""), bad.stderr
    assert bad.stderr.startswith("Forja did not start: these settings have values it cannot use.")
    for line in (
        "FORJA_WORKER_LEASE_S: Input should be greater than 0",
        "FORJA_SWEEP_EVERY_S: Input should be a valid number",
        "FORJA_REVIEW_NPM_REGISTRY: is not an http:// or https:// address",
    ):
        assert f"\n  {line}" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr and "hunter2" not in bad.stderr
    assert not (tmp_path / "other").exists()  # nothing was made


HUGE = "99999999999999999999"  # over 2**63


def test_out_of_range_numbers_are_refused_in_a_sentence(cli: Cli, tmp_path: Path) -> None:
    project_id = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()
    for args in (
        ("files", project_id, "--version", HUGE),
        ("export", project_id, "--out", str(tmp_path / "x.zip"), "--version", "-1"),
        ("diff", project_id, "1", "--against", HUGE),
        ("restore", project_id, HUGE),
        ("share", project_id, "--version", HUGE),
        ("revoke", HUGE),
    ):
        result = cli.run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, (args, result.stderr)
    assert f"no version {HUGE}" in cli.run("files", project_id, "--version", HUGE).stderr
    purge = cli.run("purge-trash", "--days", HUGE)
    assert purge.returncode == 2 and "days must be between 0 and" in purge.stderr


def test_a_damaged_zip_is_refused_by_name(cli: Cli, tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"index.html": b"<h1>Hi</h1>"}))
    data[14] ^= 1  # the CRC in the local header
    data[data.find(b"PK\x01\x02") + 16] ^= 1  # and in the central directory
    (tmp_path / "site.zip").write_bytes(bytes(data))
    result = cli.run("import", str(tmp_path / "site.zip"))
    assert result.returncode == 1 and "index.html is damaged in the zip" in result.stderr


def test_generate_waits_its_turn_behind_a_generation_running_elsewhere(cli: Cli, tmp_path: Path) -> None:
    project_id = cli.ok("import", str(write_folder(tmp_path / "site", TREE))).strip()
    # What the running Forja (another process on the same database) records while it generates.
    engine = create_engine(cli.database_url)
    with Session(engine) as session:
        session.add(Generation(project_id=project_id, prompt="Make it red", provider="offline"))
        session.commit()
    engine.dispose()
    result = cli.run("generate", "Make it blue", "--project", project_id, "--provider", "offline")
    assert result.returncode == 1 and "already being generated" in result.stderr


# Another process that holds a data folder as a command running previews of its own would (an eval), until its stdin
# closes.
HOLDER = """
import sys
from pathlib import Path
from preview_runtime.folder_lock import FolderLock

FolderLock(Path(sys.argv[1]), "command", command="python -m builder eval --suite forja-smoke").take()
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held_by_another_command(data_dir: Path) -> Iterator[int]:
    """`data_dir` held by another live process (its pid) for the block."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline() == "held\n"
        yield process.pid
    finally:
        process.stdin.close()
        process.wait(10)


def test_an_eval_on_a_data_folder_another_one_holds_runs_in_a_folder_of_its_own(cli: Cli) -> None:
    with held_by_another_command(cli.data_dir) as pid:
        ran = cli.run("eval", "--reference", "--task", "bmi-calculator", "--token", "forja_not_shown")
        compared = cli.run("eval", "--compare", "run-a", "run-b")  # it runs no preview: the folder is not its
        # A third run while the second still holds the folder beside: both are held, said in words.
        with held_by_another_command(cli.data_dir.with_name(f"{cli.data_dir.name}-eval")) as second:
            refused = cli.refused("eval", "--reference", "--task", "bmi-calculator")
    other = f"a Forja command (pid {pid}: python -m builder eval --suite forja-smoke)"
    own = cli.data_dir.with_name(f"{cli.data_dir.name}-eval")
    assert ran.returncode == 0, ran.stderr
    assert re.match(
        rf"The data folder {re.escape(str(cli.data_dir))} is held by {re.escape(other)}, which runs its previews: this "
        rf"command runs in a data folder of its own, {re.escape(str(own))} \(its previews on port \d+\), and keeps its "
        r"results there\.\n",
        ran.stderr,
    ), ran.stderr
    assert "1 of 1" in ran.stdout and str(own / "evals") in ran.stdout, ran.stdout
    assert not (cli.data_dir / "evals").exists()  # nothing of the run in the held folder
    assert "forja_not_shown" not in ran.stdout + ran.stderr
    assert refused.startswith(
        f"The data folder {own}, where this command runs beside a busy one, is held by a Forja command (pid {second}: "
    ), refused
    assert compared.returncode == 1 and "is held by" not in compared.stderr
