"""A release on disk: the build's files, their precompressed siblings and the manifest the edge serves from.

A release folder is written once and never changed (a new publish is a new folder), so the edge may keep what it
read of one for as long as it likes. It is written in a hidden folder beside its place and renamed into it, so the
edge never sees half a release and a failed write leaves nothing behind.

Beside each compressible file over 1 KB go `NAME.gz` (gzip level 9) and `NAME.br` (brotli quality 9), each only
when it saves at least 10%: the edge answers `Accept-Encoding` from them without compressing anything per request.
Brotli's quality 10 would save 6% more bytes in four times as long, and 11 7% in ten times: a person waits for that
on every publish (the React starter's 229 KB bundle: 20 ms at 9, 86 ms at 10, 230 ms at 11), where a visitor on
Slow 4G gains 20 ms once (4 KB).
The manifest records which were written; the edge serves no sibling it does not list.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli
from pydantic import BaseModel

from builder.filetree import Limits, validate_tree
from builder.publish.media import extension, is_compressible
from builder.settings import settings
from preview_runtime.common import folder_bytes

log = logging.getLogger(__name__)

MANIFEST_NAME = ".forja-release.json"
MIN_COMPRESS_BYTES = 1024
MIN_SAVING = 0.10
GZIP_LEVEL = 9
BROTLI_QUALITY = 9
# A production build may be larger than a project's sources (bundled dependencies, images): these only stop a
# runaway build; the build's sandbox keeps the real limits.
RELEASE_LIMITS = Limits(max_files=20_000, max_file_bytes=256 * 1024 * 1024, max_total_bytes=1024**3, max_zip_ratio=0)
_FONT_TYPES = frozenset({"ttf", "otf", "eot"})


class ReleaseFile(BaseModel):
    size: int
    # The content's hash: the strong ETag of the identity encoding (each precompressed variant gets a suffix).
    etag: str
    br: int | None = None  # bytes of NAME.br when written
    gzip: int | None = None  # bytes of NAME.gz when written


class ReleaseManifest(BaseModel):
    format: int = 1
    file_count: int
    bytes: int
    # What the whole release weighs over the wire, each file in its smallest encoding.
    compressed_bytes: int
    disk_bytes: int
    has_index: bool
    files: dict[str, ReleaseFile]
    # Dotfiles of the build (`.htaccess`, `.env`): never served, so never written.
    skipped: list[str] = []


def is_hidden(path: str) -> bool:
    """A path with a dot-named part: `.env`, `.git/config`, the manifest itself. The edge serves none of them."""
    return any(part.startswith(".") for part in path.split("/"))


def write_release(folder: Path, files: Mapping[str, bytes], limits: Limits = RELEASE_LIMITS) -> ReleaseManifest:
    """Write `files` as a release into `folder`, which must not exist yet. Blocking: call it in a thread."""
    tree = validate_tree(files, limits)
    served = {path: data for path, data in tree.items() if not is_hidden(path)}
    skipped = sorted(path for path in tree if path not in served)
    if skipped:
        log.info("release %s leaves out %d dotfile(s): %s", folder.name, len(skipped), ", ".join(skipped[:5]))
    if folder.exists():
        raise FileExistsError(f"{folder} exists: a release is written once, into a new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for parent in {Path(path).parent for path in served}:
            (staging / parent).mkdir(parents=True, exist_ok=True)
        order = sorted(served, key=lambda path: len(served[path]), reverse=True)
        # Brotli and zlib let go of the GIL while they compress: each variant of each file is a job of its own, the
        # largest files' first, so the bundle's brotli and its gzip run at once on two cores.
        variants = [(path, kind) for path in order for kind in ("br", "gzip") if _worth_trying(path, kind, served)]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            packed = pool.map(lambda job: _write_variant(staging, job[0], job[1], served[job[0]]), variants)
            written = {path: _write_plain(staging, path, served[path]) for path in order}
            for (path, kind), size in zip(variants, packed, strict=True):
                setattr(written[path], kind, size)
        manifest = _manifest(written, served, skipped)
        (staging / MANIFEST_NAME).write_text(manifest.model_dump_json(), encoding="utf-8")
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def read_manifest(folder: Path) -> ReleaseManifest:
    return ReleaseManifest.model_validate_json((folder / MANIFEST_NAME).read_bytes())


def _write_plain(root: Path, path: str, data: bytes) -> ReleaseFile:
    (root / path).write_bytes(data)
    return ReleaseFile(size=len(data), etag=hashlib.sha256(data).hexdigest()[:32])


def _worth_trying(path: str, kind: str, served: Mapping[str, bytes]) -> bool:
    """Whether to compress `path` as `kind`: a compressible file over 1 KB, unless the build ships its own NAME.gz or
    NAME.br (a file of its own, which ours would overwrite)."""
    suffix = ".gz" if kind == "gzip" else ".br"
    return len(served[path]) > MIN_COMPRESS_BYTES and is_compressible(path) and f"{path}{suffix}" not in served


def _write_variant(root: Path, path: str, kind: str, data: bytes) -> int | None:
    """NAME.gz or NAME.br beside the file, when it saves at least MIN_SAVING; its size, or None when not written."""
    if kind == "gzip":
        packed, suffix = gzip.compress(data, GZIP_LEVEL, mtime=0), ".gz"
    else:
        packed, suffix = (
            brotli.compress(data, mode=_brotli_mode(path), quality=BROTLI_QUALITY, lgwin=brotli_window(len(data))),
            ".br",
        )
    if len(packed) > len(data) * (1 - MIN_SAVING):
        return None
    (root / f"{path}{suffix}").write_bytes(packed)
    return len(packed)


def brotli_window(size: int) -> int:
    """Brotli's window for `size` bytes: the smallest that holds them (10 to 24 bits). Its default (22) sets up 4 MiB
    of tables for every file: 0.5 ms for a 500-byte page, 9 ms for a 27 KB bundle, where a window of the file's own
    size takes 0.01 and 0.6 ms and packs it as small."""
    return max(10, min(24, (size - 1).bit_length()))


def _brotli_mode(path: str) -> int:
    if extension(path) in _FONT_TYPES:
        return brotli.MODE_FONT
    return brotli.MODE_TEXT if extension(path) not in ("wasm", "ico", "bmp") else brotli.MODE_GENERIC


def _manifest(written: Mapping[str, ReleaseFile], served: Mapping[str, bytes], skipped: list[str]) -> ReleaseManifest:
    total = sum(entry.size for entry in written.values())
    variants = sum((entry.br or 0) + (entry.gzip or 0) for entry in written.values())
    return ReleaseManifest(
        file_count=len(written),
        bytes=total,
        compressed_bytes=sum(min(entry.size, entry.br or entry.size, entry.gzip or entry.size) for entry in written.values()),
        disk_bytes=total + variants,
        has_index="index.html" in served,
        files=dict(sorted(written.items())),
        skipped=skipped,
    )


def releases_root() -> Path:
    return settings.served_dir / "releases"


def disk_bytes(project_id: str) -> int:
    """What the project's kept releases take on disk: their files and compressed forms, every release kept."""
    return folder_bytes(releases_root() / project_id)


def forget_releases(project_ids: list[str]) -> None:
    """Remove the release files of projects deleted for good."""
    for project_id in project_ids:
        shutil.rmtree(releases_root() / project_id, ignore_errors=True)
