"""The rules every tree a push, a pull or an import brings passes, read from git's objects before anything is saved:
plain relative paths, no folder Forja does not keep, no symbolic link or submodule, files and the whole project
within the limits. A refusal names the file, the commit and the rule, in the words git prints to the pusher.

`tree_of` lists a commit's files, for the commits that become versions. A commit merged in needs only to pass:
`check_tree` sums each folder once per push (its files, their bytes, its largest), so a side branch's commits, which
share most of their folders, cost what they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dulwich.objects import Commit

from builder.errors import FileTreeError
from builder.filetree import MAX_PATH_LENGTH, Limits, human_size, is_skipped, normalize_path
from builder.git.objects import GITLINK_MODE, TREE_MODE, ObjectReader, TooManyEntries, TreeItem

SYMLINK_MODE = 0o120000


class PushRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    mode: int
    sha: str
    size: int


@dataclass(frozen=True)
class Folder:
    """A folder's files, all depths: how many, their bytes, and the largest (its size and path)."""

    files: int
    total: int
    largest: tuple[int, bytes]


@dataclass
class Known:
    """What the checks of one push (or import) learned, so that its other commits do not learn it again: the size of
    each blob measured, the paths that passed the rules, and each folder that passed them where it lies."""

    sizes: dict[str, int] = field(default_factory=dict)
    paths: set[bytes] = field(default_factory=set)
    folders: dict[tuple[str, bytes], Folder] = field(default_factory=dict)


def _checked_path(item: TreeItem, short: str, known: Known) -> str:
    path = item.path.decode("utf-8", "replace")
    if item.mode == GITLINK_MODE:
        raise PushRefused(f"{path} in {short} is a submodule (a gitlink); Forja keeps files only. Remove it first.")
    if item.mode == SYMLINK_MODE:
        raise PushRefused(f"{path} in {short} is a symbolic link; Forja keeps regular files only. Remove it first.")
    if item.path in known.paths:
        return path
    try:
        if normalize_path(path) != path or item.path != path.encode():
            raise FileTreeError(f"File name {path!r} is not a plain relative path.", path)
    except FileTreeError as exc:
        raise PushRefused(f"{exc.message} (in {short})") from None
    if is_skipped(path):
        raise PushRefused(f"{path} in {short} is in a folder Forja does not keep; add it to .gitignore.")
    known.paths.add(item.path)
    return path


def tree_of(reader: ObjectReader, sha: str, commit: Commit, limits: Limits, known: Known) -> dict[str, Entry]:
    """The commit's files, or PushRefused naming the first rule one of them breaks. A blob `known` keeps its size, a
    path its check; git reads the other blobs' sizes from their headers, and they and the paths join `known`."""
    short = sha[:10]
    try:
        items = reader.tree(commit, limits.max_files)
    except TooManyEntries:
        raise PushRefused(f"{short} has more than {limits.max_files} files; the limit is {limits.max_files}.") from None
    paths = {_checked_path(item, short, known): item for item in items}
    sizes = known.sizes
    sizes.update(reader.sizes(item.sha for item in paths.values() if item.sha not in sizes))
    entries: dict[str, Entry] = {}
    for path, item in paths.items():
        size = sizes[item.sha]
        if size > limits.max_file_bytes:
            limit = human_size(limits.max_file_bytes)
            raise PushRefused(f"{path} in {short} is {human_size(size)}; the limit per file is {limit}.")
        entries[path] = Entry(item.mode, item.sha, size)
    total = sum(entry.size for entry in entries.values())
    if total > limits.max_total_bytes:
        raise PushRefused(
            f"{short}'s files add up to {human_size(total)}; a project may hold {human_size(limits.max_total_bytes)}."
        )
    return entries


def check_tree(reader: ObjectReader, sha: str, commit: Commit, limits: Limits, known: Known) -> None:
    """PushRefused when the commit's tree breaks a rule, as tree_of would say it (the largest file over the limit,
    rather than the first); each folder summed once per push where it lies (`known.folders`)."""
    short = sha[:10]
    root = _folder(reader, commit.tree.decode(), b"", short, limits, known)
    size, path = root.largest
    if size > limits.max_file_bytes:
        where = path.decode("utf-8", "replace")
        raise PushRefused(f"{where} in {short} is {human_size(size)}; the limit per file is {human_size(limits.max_file_bytes)}.")
    if root.total > limits.max_total_bytes:
        raise PushRefused(
            f"{short}'s files add up to {human_size(root.total)}; a project may hold {human_size(limits.max_total_bytes)}."
        )


def _folder(reader: ObjectReader, sha: str, prefix: bytes, short: str, limits: Limits, known: Known) -> Folder:
    if (done := known.folders.get((sha, prefix))) is not None:
        return done
    if len(prefix) > MAX_PATH_LENGTH:  # every file below would be refused: no need to go deeper
        shown = prefix.decode("utf-8", "replace")[:60]
        raise PushRefused(f"File name {shown!r}... is longer than {MAX_PATH_LENGTH} characters. (in {short})")
    entries = reader.folder(sha)
    blobs = [entry for _, mode, entry in entries if mode not in (TREE_MODE, GITLINK_MODE)]
    known.sizes.update(reader.sizes(blob for blob in blobs if blob not in known.sizes))
    files, total, largest = 0, 0, (0, b"")
    for name, mode, entry in entries:
        path = prefix + name
        if mode == TREE_MODE:
            below = _folder(reader, entry, path + b"/", short, limits, known)
            files, total, largest = files + below.files, total + below.total, max(largest, below.largest)
        else:
            _checked_path(TreeItem(path, mode, entry), short, known)
            size = known.sizes[entry]
            files, total, largest = files + 1, total + size, max(largest, (size, path))
        if files > limits.max_files:
            raise PushRefused(f"{short} has more than {limits.max_files} files; the limit is {limits.max_files}.")
    known.folders[(sha, prefix)] = folder = Folder(files, total, largest)
    return folder
