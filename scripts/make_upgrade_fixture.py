"""Make tests/fixtures/upgrade_0025/: a data folder an older Forja (its database at revision 0025) filled through its own
services, for tests/integration/test_upgrade.py to migrate forward and read with the current code.

The fixture is made by that older Forja's own code, so this script runs from a checkout of it, never from this one:

    git log --diff-filter=A --format=%H -- builder/migrations/versions/0026*   # the commit that added 0026
    git worktree add --detach /tmp/old-forja COMMIT^                          # its parent: migrations up to 0025
    ln -s "$PWD/.venv" /tmp/old-forja/.venv && ln -s "$PWD/.cache" /tmp/old-forja/.cache
    cd /tmp/old-forja && .venv/bin/python "$OLDPWD/scripts/make_upgrade_fixture.py" "$OLDPWD/tests/fixtures/upgrade_0025"
    cd "$OLDPWD" && git worktree remove /tmp/old-forja

It writes, into the folder given:
- forja.sql: the SQLite database as `sqlite3 .dump` writes it (a *.db is not kept in the repository);
- data.tar.gz: the rest of the data folder (git mirrors, releases, pictures);
- manifest.json: what was made and what each thing holds (passwords, tokens, each version's files as SHA-256, the app
  variables' values), for the test to check against.

No network and no model: versions come from saves and the offline starters, the release is a static page published
with the local runner (a static page needs no build, so no sandbox and no Docker). App variables are encrypted with
FIXED_KEY, which the test sets as FORJA_SECRET_KEY.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the older checkout's, imported once its folder leads sys.path
    from builder.composition import Services

# A Fernet key for the fixture only: it encrypts nothing but the fixture's made-up app variables.
FIXED_KEY = "dXBncmFkZS1maXh0dXJlLWtleS0wMDI1LWZvcmphISE="
PASSWORD = "correct horse battery"
APP_PASSWORD = "reader's own password"
# Every byte value, so a binary file that came back through a text path would not match.
LOGO = bytes(range(256)) * 3 + b"\x89PNG\r\n\x1a\n\x00\xff"

log = logging.getLogger("make_upgrade_fixture")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def environment(data: Path) -> None:
    """The older Forja's settings, set before its modules read them: accounts on, a data folder of the fixture's own,
    the local runner, no model key (the offline starters answer)."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "FORJA_DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "FORJA_DATA_DIR": str(data),
            "FORJA_AUTH": "password",
            "FORJA_SECRET_KEY": FIXED_KEY,
            "FORJA_PREVIEW_RUNNER": "local",
            "FORJA_VERIFY_GENERATIONS": "false",
        }
    )


async def versions_of(services: Services, project_id: str) -> dict[str, dict[str, str]]:
    """Each version's files as their SHA-256, by version number."""
    kept: dict[str, dict[str, str]] = {}
    for info in await services.projects.versions(project_id):
        tree = await services.projects.read_tree(project_id, info.number)
        kept[str(info.number)] = {path: sha(data) for path, data in sorted(tree.items())}
    return kept


async def make_bakery(services: Services, owner_id: str, member_email: str) -> dict[str, object]:
    """A site with three versions (one of them a binary file), an editor beside its owner, share links, a release, the
    app's people and variables, and its git mirror; what the manifest says of it."""
    from builder.git.mirror import project_lock
    from builder.models import Author, ProjectRole
    from builder.services.app_data import Scope
    from builder.services.throttle import Attempt

    page = "<!doctype html>\n<html><head><title>Bakery</title></head><body><h1>{}</h1></body></html>\n"
    created = await services.projects.create(
        "Bakery", {"index.html": page.format("Fresh bread").encode()}, message="Start", owner=owner_id
    )
    bakery = created.project_id
    await services.projects.save(
        bakery, {"logo.png": LOGO, "style.css": b"h1 { color: #8a4b08; }\n"}, message="Add the logo", user_id=owner_id
    )
    await services.access.add_member(bakery, member_email, ProjectRole.editor)
    await services.projects.save(
        bakery, {"index.html": page.format("Bread and cakes").encode()}, message="Cakes too", author=Author.ai
    )
    share = await services.shares.create(bakery, version=2, expires_in="never")

    # Published: release 1, its app users and variables.
    published = await services.publishing.publish(bakery, user_id=owner_id)
    live_share = await services.shares.create(bakery, expires_in="never", target="live")
    await services.app_env.set(bakery, "PAYMENT_KEY", "sk_test_upgrade_0025", user_id=owner_id)
    await services.app_env.set(bakery, "GREETING", "Good morning, bakers", user_id=owner_id)
    attempt = Attempt("127.0.0.1")
    await services.app_users.sign_up(bakery, Scope.live, "reader@example.org", APP_PASSWORD, attempt)
    await services.app_users.sign_up(bakery, Scope.preview, "tester@example.org", APP_PASSWORD, attempt)

    async with project_lock(bakery):
        head = await services.git.mirror.sync(bakery)
    assert head is not None

    return {
        "id": bakery,
        "versions": await versions_of(services, bakery),
        "share": {"token": share.token, "version": share.version},
        "live_share": {"token": live_share.token},
        "app": {"name": published.app.name, "release": published.release.number, "version": published.release.version},
        "variables": {"PAYMENT_KEY": "sk_test_upgrade_0025", "GREETING": "Good morning, bakers"},
        "app_users": {"live": "reader@example.org", "preview": "tester@example.org", "password": APP_PASSWORD},
        "git_head": head.commit,
    }


async def fill() -> dict[str, object]:
    # The older checkout's modules, from the folder this runs in (the venv's editable install names another checkout).
    sys.path.insert(0, os.getcwd())
    import builder

    if not Path(builder.__file__).is_relative_to(os.getcwd()):
        sys.exit(f"Run this from the older Forja's checkout: builder was found at {builder.__file__}.")
    from builder.composition import get_services
    from builder.services.access import Actor

    services = await get_services()
    owner = await services.accounts.create_user("olive@example.org", "Olive Owner", PASSWORD, admin=True)
    member = await services.accounts.create_user("max@example.org", "Max Member", PASSWORD)
    olive = Actor(owner.id, owner.email, owner.name, owner.role)
    token = (await services.accounts.create_token(olive, "upgrade fixture")).token

    bakery = await make_bakery(services, owner.id, member.email)

    # Max's own project, made by a generation from the offline starters, and a plan of Olive's.
    todo = await services.generations.create_from_prompt("A todo list", provider="offline", owner=member.id, verify=False)
    done = await services.generations.wait(todo)
    assert done is not None and done.type == "done", done
    plan = await services.plans.propose("A notes app for the shop", provider="offline", owner=owner.id)

    manifest: dict[str, object] = {
        "password": PASSWORD,
        "secret_key": FIXED_KEY,
        "owner": {"id": owner.id, "email": owner.email, "name": owner.name, "role": owner.role, "api_token": token},
        "member": {"id": member.id, "email": member.email, "name": member.name, "role": member.role},
        "bakery": bakery,
        "todo": {
            "id": todo,
            "versions": await versions_of(services, todo),
            "generations": [(g.prompt, g.provider, g.outcome) for g in await services.generations.records(todo)],
        },
        "plan": {"id": plan.id, "project_id": plan.project_id, "title": plan.title, "checks": [c.text for c in plan.checks]},
    }
    await services.close()
    return manifest


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp(prefix="upgrade-fixture-"))
    data = work / "data"
    environment(data)
    manifest = asyncio.run(fill())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    manifest["made_by"] = commit
    out.mkdir(parents=True, exist_ok=True)
    database = data / "forja.db"
    dump = subprocess.run(["sqlite3", str(database), ".dump"], capture_output=True, text=True, check=True).stdout
    (out / "forja.sql").write_text(dump)
    database.unlink()
    for left in data.glob("forja.db-*"):  # the WAL's files, empty once the engine closed
        left.unlink()
    for repo in (data / "git").glob("*.git"):
        subprocess.run(["git", "gc", "--quiet", "--prune=now"], cwd=repo, check=True)
        for sample in (repo / "hooks").glob("*.sample"):  # git's own examples; Forja's hooks stay
            sample.unlink()
    with tarfile.open(out / "data.tar.gz", "w:gz") as archive:
        for path in sorted(data.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(data)), recursive=False)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(work)
    log.info("fixture written to %s by %s", out, commit)


if __name__ == "__main__":
    main()
