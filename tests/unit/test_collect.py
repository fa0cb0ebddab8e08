"""Runner.collect's rules on real files: the local runner's folder walk (local/collect.py) and the Docker runner's
archive reader (docker/collect.py) fed a real tar through a real pipe, as Docker's archive stream reaches it."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from preview_runtime.docker.collect import _untar
from preview_runtime.local.collect import collect_folder
from preview_runtime.runner import RunnerError


def site(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(b"<script src=/assets/index-abc.js></script>")
    (dist / "assets" / "index-abc.js").write_bytes(b"console.log(1)")
    return dist


def test_local_collect_reads_the_folder_and_keeps_links_inside_it_as_copies(tmp_path: Path) -> None:
    dist = site(tmp_path)
    (dist / "200.html").symlink_to("index.html")
    (dist / "node_modules" / "x").mkdir(parents=True)
    (dist / "node_modules" / "x" / "big.js").write_bytes(b"x" * 10_000)
    os.mkfifo(dist / "pipe")  # never opened for reading: it would block
    (tmp_path / "node_modules").symlink_to("/usr")  # a runner's dependency cache linked in: left out, not refused
    (tmp_path / "index.html").write_bytes(b"<h1>plain</h1>")

    assert collect_folder(tmp_path, "dist", 1000) == {
        "index.html": b"<script src=/assets/index-abc.js></script>",
        "assets/index-abc.js": b"console.log(1)",
        "200.html": b"<script src=/assets/index-abc.js></script>",
    }
    assert collect_folder(tmp_path, "./dist/assets/", 1000) == {"index-abc.js": b"console.log(1)"}
    assert collect_folder(tmp_path, "", 1000)["index.html"] == b"<h1>plain</h1>"


def test_local_collect_refuses_links_out_paths_out_and_too_much(tmp_path: Path) -> None:
    dist = site(tmp_path)
    (tmp_path / "secret").write_bytes(b"s")
    with pytest.raises(RunnerError, match=r"The build output is over 5e-05 MB"):
        collect_folder(tmp_path, "dist", 50)
    with pytest.raises(RunnerError, match=r"The build wrote nothing in out/"):
        collect_folder(tmp_path, "out", 1000)
    for folder in ("../x", "/etc", "dist/../.."):
        with pytest.raises(RunnerError, match="only inside the project's folder"):
            collect_folder(tmp_path, folder, 1000)
    (tmp_path / "site").symlink_to(dist)
    with pytest.raises(RunnerError, match=r"site/ is not a folder of the project \(a link or a file\)"):
        collect_folder(tmp_path, "site", 1000)
    (dist / "assets" / "leak").symlink_to("../../secret")
    with pytest.raises(RunnerError, match=r"dist/assets/leak is a link to \.\./\.\./secret, outside dist/"):
        collect_folder(tmp_path, "dist", 1000)
    (dist / "assets" / "leak").unlink()
    (dist / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(RunnerError, match="Forja never follows a link out of the build's folder"):
        collect_folder(tmp_path, "dist", 1000)


def untar(members: list[tuple[tarfile.TarInfo, bytes]], folder: str, limit: int) -> dict[str, bytes]:
    """_untar reading `members` as Docker streams them: through a pipe, written from another thread."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            try:
                pipe.write(buffer.getvalue())
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=write)
    writer.start()
    try:
        return _untar(read_fd, folder, limit)
    finally:
        writer.join()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_the_archive_reader_takes_files_links_inside_and_hard_links() -> None:
    members = [
        (entry("dist", tarfile.DIRTYPE), b""),
        (entry("dist/index.html"), b"<h1>hi</h1>"),
        (entry("dist/assets/" + "a" * 120 + ".js"), b"x"),  # a long name: a PAX header, as Docker writes one
        (entry("dist/200.html", tarfile.SYMTYPE, "index.html"), b""),
        (entry("dist/same.html", tarfile.LNKTYPE, "dist/index.html"), b""),
        (entry("dist/node_modules/p/index.js"), b"y" * 5000),
    ]
    assert untar(members, "dist", 100) == {
        "index.html": b"<h1>hi</h1>",
        "assets/" + "a" * 120 + ".js": b"x",
        "200.html": b"<h1>hi</h1>",
        "same.html": b"<h1>hi</h1>",
    }


def test_the_archive_reader_refuses_links_out_and_stops_at_the_cap() -> None:
    page = [(entry("dist", tarfile.DIRTYPE), b""), (entry("dist/index.html"), b"<h1>hi</h1>")]
    with pytest.raises(RunnerError, match=r"dist/passwd is a link to /etc/passwd, outside dist/"):
        untar([*page, (entry("dist/passwd", tarfile.SYMTYPE, "/etc/passwd"), b"")], "dist", 100)
    with pytest.raises(RunnerError, match=r"dist/up is a link to \.\./\.env, outside dist/"):
        untar([*page, (entry("dist/up", tarfile.SYMTYPE, "../.env"), b"")], "dist", 100)
    big = [*page, *[(entry(f"dist/{n}.bin"), b"z" * 60_000) for n in range(40)]]  # more than the pipe holds
    with pytest.raises(RunnerError, match=r"The build output is over 0\.1 MB"):
        untar(big, "dist", 100_000)
    with pytest.raises(RunnerError, match=r"dist/ is not a folder of the project"):
        untar([(entry("dist"), b"a file")], "dist", 100)
