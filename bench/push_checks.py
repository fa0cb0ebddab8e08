"""What a push's checks cost before anything is saved: PushReceiver._read (the commits a push brings, every tree checked,
the changed files read) on a plain repository, for one ordinary commit and for a merge of a side branch. Prints
figures, asserts nothing.

The repository has --files files in nested folders; main gets one commit (a one-file push), and a side branch gets
--side commits, each changing one file, merged into main (a push whose merge brings them all: each is checked as well
as the two commits that become versions). Each figure is the median of --runs reads, each with a new reader, as a push
has; no server, no database, no quarantine (the objects are in the repository, as a pull's are).

    .venv/bin/python bench/push_checks.py [--files 300] [--side 50] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.git.pushes import Pushed, PushReceiver, Read  # noqa: E402
from tests.git_host import git as host_git  # noqa: E402


def git(repo: Path, *args: str) -> str:
    return host_git(*args, cwd=repo).strip()


def history(repo: Path, files: int, side: int) -> tuple[str, str, str]:
    """(main's commit, one commit on it, a merge of `side` side commits into it)."""
    git(repo, "init", "--quiet", "-b", "main")
    for i in range(files):
        path = repo / f"src/d{i % 10}/sub{i % 3}/f{i}.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"// file {i}\n" + "export const line = 'some source text';\n" * 12)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Start")
    old = git(repo, "rev-parse", "HEAD")
    (repo / "src/d0/sub0/f0.js").write_text("// one commit\n")
    git(repo, "commit", "--quiet", "-am", "One commit")
    one = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "-b", "side", old)
    for n in range(1, side + 1):
        (repo / f"src/d{n % 10}/sub{n % 3}/f{n % files}.js").write_text(f"// side {n}\n")
        git(repo, "commit", "--quiet", "-am", f"Side {n}")
    git(repo, "checkout", "--quiet", "main")
    git(repo, "merge", "--quiet", "--no-edit", "side")
    return old, one, git(repo, "rev-parse", "HEAD")


def read(repo: Path, old: str, new: str) -> Read:
    receiver = PushReceiver.__new__(PushReceiver)  # _read needs no service: only its cache of the last tree
    receiver._last_tree = {}
    return receiver._read("bench", repo, Pushed(old, new, {}, None))


def main() -> None:
    parser = argparse.ArgumentParser(description="What a push's checks cost, one commit and a merge of a side branch.")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--side", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forja-bench-push-") as folder:
        repo = Path(folder)
        old, one, merge = history(repo, args.files, args.side)
        for label, new in (("one commit", one), (f"a merge of {args.side} side commits", merge)):
            times = []
            done = read(repo / ".git", old, new)  # a first read, not timed: git's files in the page cache
            for _ in range(args.runs):
                started = time.perf_counter()
                done = read(repo / ".git", old, new)
                times.append(time.perf_counter() - started)
            print(
                f"{label}: median {statistics.median(times) * 1000:.1f} ms, fastest {min(times) * 1000:.1f} ms "
                f"({len(done.commits)} saved as versions, {done.merged} merged in checked)"
            )


if __name__ == "__main__":
    main()
