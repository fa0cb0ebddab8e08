"""Backup and restore of a Forja with 200 projects, against `tar` with the same compression (gzip, level 6) of the same
data folder (issue 57's target: a backup at most 1.5 times tar's time). Prints figures, asserts nothing.

The data folder is made through the real services, SQLite in it: each project one of the starters' files (templates/,
in turn), a second version, its git mirror, an app variable and a file in its app's /data folder. Then, each the median
of --runs: `take_backup` (the database by SQLite's online backup, the folder's durable files, the manifest) against
`tar -czf` of the whole folder, and `restore_backup` into an empty folder (checksums checked, the database and files
put in place, migrations run) against `tar -xzf`.

    .venv/bin/python bench/backup.py [--projects 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder import db  # noqa: E402
from builder.composition import Services  # noqa: E402
from builder.git.mirror import project_lock  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.services.app_data import Scope, files_dir  # noqa: E402
from builder.services.backup.restore import restore_backup  # noqa: E402
from builder.services.backup.take import GZIP_LEVEL, take_backup  # noqa: E402
from builder.settings import settings  # noqa: E402
from builder.store import ProjectStore  # noqa: E402
from preview_runtime.common import human_size  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402


def starters() -> list[dict[str, bytes]]:
    trees = []
    for template in sorted((REPO / "templates").iterdir()):
        root = template / "files"
        trees.append({p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()})
    return trees


async def make_forja(projects: int) -> None:
    db.migrate()
    services = Services(ProjectStore(db.create_engine()), LogHub())
    trees = starters()
    try:
        for n in range(projects):
            tree = trees[n % len(trees)]
            pid = (await services.projects.create(f"Project {n}", tree, owner=LOCAL_USER_ID)).project_id
            await services.projects.save(pid, {"NOTES.md": f"Project {n}\n"}, message="Add notes")
            async with project_lock(pid):
                await services.git.mirror.sync(pid)
            await services.app_env.set(pid, "API_KEY", f"sk_bench_{n:04d}_abcdefgh")
            files_dir(pid, Scope.live).mkdir(parents=True)
            (files_dir(pid, Scope.live) / "notes.json").write_text(f'{{"project": {n}}}\n' * 20)
    finally:
        await services.close()


def timed(run: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    run(*args)
    return time.perf_counter() - started


def tar(*args: str) -> None:
    subprocess.run(["tar", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Backup and restore of a Forja with 200 projects, against tar.")
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="forja-bench-backup-"))
    try:
        settings.data_dir, settings.database_url, settings.secret_key, settings.shared_dir = work / "data", "", "", None
        started = time.perf_counter()
        asyncio.run(make_forja(args.projects))
        files = sum(1 for p in settings.data_dir.rglob("*") if p.is_file())
        print(f"data folder: {args.projects} projects, {files} files, made in {time.perf_counter() - started:.1f} s")

        backups, tars, restores, untars = [], [], [], []
        archive = work / "forja.tar.gz"
        plain = work / "plain.tar.gz"
        for run in range(args.runs):
            archive.unlink(missing_ok=True)
            backups.append(timed(take_backup, archive))
            tars.append(timed(tar, "-C", str(work), "-cf", str(plain), f"--use-compress-program=gzip -{GZIP_LEVEL}", "data"))
            source = settings.data_dir
            settings.data_dir = work / f"restored-{run}"
            restores.append(timed(restore_backup, archive))
            untarred = work / f"untarred-{run}"
            untarred.mkdir()
            untars.append(timed(tar, "-C", str(untarred), "-xzf", str(plain)))
            shutil.rmtree(settings.data_dir)
            shutil.rmtree(untarred)
            settings.data_dir = source

        backup, tarred, restore, untar_s = (statistics.median(x) for x in (backups, tars, restores, untars))
        print(f"backup:  {backup:.2f} s, {human_size(archive.stat().st_size)}")
        print(
            f"tar -cz: {tarred:.2f} s, {human_size(plain.stat().st_size)}  (backup / tar: {backup / tarred:.2f}x, target <= 1.5x)"
        )
        print(f"restore: {restore:.2f} s")
        print(f"tar -xz: {untar_s:.2f} s  (restore / tar: {restore / untar_s:.2f}x)")
        print(f"runs: backup {[round(x, 2) for x in backups]}, tar {[round(x, 2) for x in tars]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
