"""A push's git objects read by one `git cat-file --batch-command`, parsed by dulwich.

A push is checked while its objects are in git's quarantine, which only git (told where by the hook's environment)
can read. One long-lived `cat-file` answers every question a push asks, a few round trips over its pipes; three git
commands per push (`log`, `ls-tree`, `cat-file`) cost more in starting than in reading. Sizes come from `info`,
which reads an object's header only: a blob is read whole only once its size is within the limits, so a small push
of a highly compressed huge blob never inflates in Forja.

Blocking: each call waits on git. Use it from one thread at a time.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit, Tree

from builder.errors import GitExportError
from builder.git.commands import GIT, GIT_TIMEOUT_S, git_env

TREE_MODE, GITLINK_MODE = 0o040000, 0o160000
BATCH = 1000  # questions per write: about 50 KB, within a pipe's 64 KB


@dataclass(frozen=True)
class TreeItem:
    path: bytes  # as git keeps it: any bytes but NUL and "/" in each part
    mode: int
    sha: str


class ObjectReader:
    """`git cat-file --batch-command` in `repo`, with `env` saying where a push's objects are (its quarantine)."""

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        try:
            self._process = subprocess.Popen(
                [*GIT, "cat-file", "--batch-command"],
                cwd=repo,
                env=git_env(env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise GitExportError("git is not installed on this Forja's machine; an admin can install it.") from None
        # Every object asked about: what a push's checks read (pushes.py refuses a pushed object outside it).
        self.asked: set[str] = set()
        self._trees: dict[str, list[tuple[bytes, int, str]]] = {}  # each folder read: (name, mode, object) of its entries

    def _ask(self, command: str, shas: Iterable[str]) -> list[tuple[str, int, bytes]]:
        """(type, size, contents) of each object; `command` "info" leaves the contents empty."""
        shas = list(shas)
        self.asked.update(shas)
        answers = []
        # Each batch's questions fit in the pipe's buffer: written whole before git's answers are read, they never
        # wait on git while git waits for its answers to be read.
        for start in range(0, len(shas), BATCH):
            answers += self._ask_batch(command, shas[start : start + BATCH])
        return answers

    def _ask_batch(self, command: str, shas: list[str]) -> list[tuple[str, int, bytes]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write("".join(f"{command} {sha}\n" for sha in shas).encode())
            stdin.flush()
        except BrokenPipeError:
            raise GitExportError("git cat-file stopped before it was asked everything.") from None
        answers = []
        for sha in shas:
            header = stdout.readline().split()
            if len(header) != 3:
                raise GitExportError(f"git has no object {sha} in this push.")
            kind, size = header[1].decode(), int(header[2])
            data = b""
            if command == "contents":
                data = stdout.read(size + 1)[:-1]
                if len(data) != size:
                    raise GitExportError("git cat-file stopped while it was answering.")
            answers.append((kind, size, data))
        return answers

    def commit(self, sha: str) -> Commit:
        (parsed,) = self.commits([sha])
        return parsed

    def commits(self, shas: Iterable[str]) -> list[Commit]:
        """The commits, parsed, in one round trip; NotACommit for an object of another kind."""
        shas = list(shas)
        parsed = []
        for sha, (kind, _, data) in zip(shas, self._ask("contents", shas), strict=True):
            if kind != "commit":
                raise NotACommit(f"{sha[:10]} is a {kind}, not a commit.", kind)
            commit = Commit.from_raw_string(Commit.type_num, data)
            assert isinstance(commit, Commit)
            parsed.append(commit)
        return parsed

    def tree(self, commit: Commit, most: int) -> list[TreeItem]:
        """Every entry of the commit's tree but folders, depth after depth (each depth one round trip, none for one
        whose folders were read already); TooManyEntries past `most` entries, before reading further."""
        found: list[TreeItem] = []
        level = [(commit.tree.decode(), b"")]
        while level:
            self._read_trees(sha for sha, _ in level)
            below = []
            for sha, prefix in level:
                for name, mode, entry in self._trees[sha]:
                    path = prefix + name
                    if mode == TREE_MODE:
                        below.append((entry, path + b"/"))
                    else:
                        found.append(TreeItem(path, mode, entry))
                if len(found) > most:
                    raise TooManyEntries
            level = below
        return found

    def read_ahead(self, roots: Iterable[str], most: int) -> set[str]:
        """Read the folders of several trees at once, depth after depth (one round trip per depth for all of them),
        until `most` entries are read: `tree` then finds them read. The blobs found (submodules' commits aside)."""
        level = [sha for sha in dict.fromkeys(roots) if sha not in self._trees]
        blobs: set[str] = set()
        read = 0
        while level and read <= most:
            self._read_trees(level)
            below = []
            for sha in level:
                entries = self._trees[sha]
                read += len(entries)
                below += [entry for _, mode, entry in entries if mode == TREE_MODE]
                blobs.update(entry for _, mode, entry in entries if mode not in (TREE_MODE, GITLINK_MODE))
            level = [sha for sha in dict.fromkeys(below) if sha not in self._trees]
        return blobs

    def folder(self, sha: str) -> list[tuple[bytes, int, str]]:
        """A tree's own entries, (name, mode, object): read now unless read already."""
        self._read_trees([sha])
        return self._trees[sha]

    def _read_trees(self, shas: Iterable[str]) -> None:
        """The folders not read yet, parsed into `_trees`: the commits of one push share most of theirs."""
        unread = [sha for sha in dict.fromkeys(shas) if sha not in self._trees]
        for sha, (kind, _, data) in zip(unread, self._ask("contents", unread), strict=True):
            if kind != "tree":
                raise GitExportError(f"{sha[:10]} is a {kind}, not a folder.")
            tree = Tree.from_raw_string(Tree.type_num, data)
            assert isinstance(tree, Tree)
            self._trees[sha] = [(entry.path, entry.mode, entry.sha.decode()) for entry in tree.iteritems()]

    def sizes(self, shas: Iterable[str]) -> dict[str, int]:
        unique = sorted(set(shas))
        return {sha: size for sha, (_, size, _) in zip(unique, self._ask("info", unique), strict=True)}

    def contents(self, shas: Iterable[str]) -> dict[str, bytes]:
        unique = sorted(set(shas))
        return {sha: data for sha, (_, _, data) in zip(unique, self._ask("contents", unique), strict=True)}

    def close(self) -> None:
        """Ends git's command; the push does not wait for it to exit (a thread of its own reaps it)."""
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        try:
            self._process.wait(timeout=GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class NotACommit(GitExportError):
    """An object read as a commit is of another kind (a tree, a blob or a tag)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class TooManyEntries(Exception):
    """A tree with more entries than the reader was told to take."""


def subject(commit: Commit) -> str:
    """What `git log --format=%s` shows: the message's first paragraph on one line."""
    first = commit.message.decode("utf-8", "replace").strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in first.splitlines())
