"""The page build's brotli files, written by Forja rather than by Reflex.

Reflex's build ends by compressing each file beside itself in Node, in the formats rxconfig names; its brotli is
quality 11 for every file, which took 42 s on this 2-core machine, most of it on Monaco's largest files (7 and 3.6 MB).
Here quality falls with a file's size: 11 up to 512 KiB (every file a page loads first: the pruned stylesheet, 445 KB,
is 46.8 KB where 10 makes 48.8 KB; Radix's code 66.4 KB for 67.6 KB), 10 up to 1 MiB, 9 above (Monaco, loaded with the
Code tab: 8% larger than 10 in a tenth of the time). The build's brotli then takes about 12 s of one core, not 42 s
of two. gzip stays Reflex's (level 9), and Reflex serves `NAME.br` because rxconfig names brotli.

rxconfig.py calls `use_for_reflex_builds`, so every build takes this path: the run command's, and the Docker image's
`reflex export` and `reflex run` (which build the page again on each start).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import brotli

from builder.launch.critical_css import with_critical_css
from builder.launch.css_pruning import with_pruned_css
from builder.publish.release_files import brotli_window

# As Reflex's compressor (its compress-static.js): which files, and the smallest worth it (HTML always).
COMPRESSIBLE = re.compile(r"\.(js|css|html|json|svg|xml|txt|map|mjs)$")
MIN_BYTES = 256
# (largest size, quality): the first that holds the file.
QUALITIES = ((512 << 10, 11), (1 << 20, 10), (float("inf"), 9))


def quality(size: int) -> int:
    return next(level for limit, level in QUALITIES if size <= limit)


def pack(path: Path) -> None:
    """Write `path`'s brotli beside it, as NAME.br."""
    data = path.read_bytes()
    packed = brotli.compress(data, mode=brotli.MODE_TEXT, quality=quality(len(data)), lgwin=brotli_window(len(data)))
    path.with_name(path.name + ".br").write_bytes(packed)


def brotli_sidecars(directory: Path) -> int:
    """Write `NAME.br` beside each compressible file in `directory`'s tree; how many were written."""
    files = [
        path
        for path in directory.rglob("*")
        if path.is_file() and COMPRESSIBLE.search(path.name) and (path.stat().st_size >= MIN_BYTES or path.suffix == ".html")
    ]
    # Brotli lets go of the GIL while it compresses: the largest first, so the cores finish together.
    files.sort(key=lambda path: path.stat().st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(pack, files))
    return len(files)


def with_brotli(compress: Callable[[Path, tuple[str, ...]], None]) -> Callable[[Path, tuple[str, ...]], None]:
    """Reflex's `_compress_static_output(directory, formats)`, with brotli written by brotli_sidecars instead."""

    def compress_and_pack(directory: Path, formats: tuple[str, ...]) -> None:
        compress(directory, tuple(name for name in formats if name != "brotli"))
        if "brotli" in formats:
            brotli_sidecars(directory)

    return compress_and_pack


def use_for_reflex_builds() -> None:
    """Put with_brotli, after the stylesheets' pruning (builder.launch.css_pruning) and the prerendered pages' first
    view inlined (builder.launch.critical_css), in place of Reflex's compressor, which its build() looks up at call
    time (Reflex is pinned in requirements.txt); once, however often rxconfig is loaded."""
    from reflex.utils import build

    current: Any = build._compress_static_output  # pyright: ignore[reportPrivateUsage]
    if not getattr(current, "forja_brotli", False):
        wrapped: Any = with_pruned_css(with_critical_css(with_brotli(current)))
        wrapped.forja_brotli = True
        build._compress_static_output = wrapped  # pyright: ignore[reportPrivateUsage]
