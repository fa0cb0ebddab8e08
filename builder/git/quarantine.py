"""What a push put in git's quarantine: its size on disk and the objects it holds, read from the files themselves.

git receives a push's objects into a folder of their own under the mirror's objects (GIT_QUARANTINE_PATH) and moves
them into the mirror only once the pre-receive hook took the push; refused, the folder is deleted. Up to
receive.unpackLimit objects arrive loose (`ab/cdef...`, the name is the id), more as one pack, whose `.idx` lists its
objects' ids. Reading those takes no git command: a push of one commit pays for none.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

IDX_MAGIC = b"\377tOc"
FANOUT = 256
SHA_BYTES = 20


def quarantine_of(repo: Path, path: str | None) -> Path | None:
    """The push's quarantine folder as the hook named it, when it is one of this mirror's (else None: nothing pushed,
    as for a deletion)."""
    if not path:
        return None
    folder = Path(path).resolve()
    return folder if folder.parent == (repo / "objects").resolve() and folder.is_dir() else None


def pack_ids(idx: Path) -> set[str]:
    """The ids of the objects in a pack, from its version 2 index: a header, 256 counts, then the sorted ids."""
    data = idx.read_bytes()
    if data[:4] != IDX_MAGIC or struct.unpack(">I", data[4:8])[0] != 2:
        raise ValueError(f"{idx.name} is not a version 2 pack index")
    start = 8 + 4 * FANOUT
    (count,) = struct.unpack(">I", data[start - 4 : start])
    ids = data[start : start + count * SHA_BYTES]
    return {ids[i : i + SHA_BYTES].hex() for i in range(0, len(ids), SHA_BYTES)}


def object_ids(quarantine: Path) -> set[str]:
    """Every object the push brought: its loose objects and those of its packs."""
    found: set[str] = set()
    with os.scandir(quarantine) as entries:
        for entry in entries:
            if len(entry.name) == 2 and entry.is_dir():
                found.update(entry.name + name for name in os.listdir(entry.path) if len(name) == 38)
    packs = quarantine / "pack"
    if packs.is_dir():
        for idx in packs.glob("*.idx"):
            found |= pack_ids(idx)
    return found
