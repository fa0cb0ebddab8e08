"""The file-tree rules: every bad input is refused with a message naming the file and the rule."""

from __future__ import annotations

import base64
import codecs
import io
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from builder.errors import FileTreeError
from builder.filetree import (
    MAX_PATH_LENGTH,
    Limits,
    encode_like,
    human_size,
    is_skipped,
    is_text,
    is_utf8_text,
    normalize_path,
    read_folder,
    read_json_tree,
    read_zip,
    text_of,
    validate_tree,
    write_zip,
)

SMALL = Limits(max_files=5, max_file_bytes=1000, max_total_bytes=2500, max_zip_ratio=200)
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x80 arbitrary \xc3\x28 bytes"
UTF16_CSV = codecs.BOM_UTF16_LE + "name,city\nZoë,Köln\n".encode("utf-16-le")


def make_zip(*members: tuple[str | zipfile.ZipInfo, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def member(name: str, file_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (file_type | 0o777) << 16
    return info


# -- path rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown", "rule"),
    [
        ("../evil.js", "'../evil.js'", "contains '..'; paths may not leave the project folder"),
        ("src/../../evil.js", "'src/../../evil.js'", "contains '..'"),
        ("a/b/..", "'a/b/..'", "contains '..'"),
        ("/etc/passwd", "'/etc/passwd'", "is an absolute path; paths must be relative to the project"),
        ("C:/x", "'C:/x'", "is an absolute path"),
        ("c:/windows/win.ini", "'c:/windows/win.ini'", "is an absolute path"),
        ("src\\app.js", "'src\\app.js'", "contains a backslash; use '/' between folders"),
        ("..\\..\\evil.js", "'..\\..\\evil.js'", "contains a backslash"),
        ("evil\x00.js", "'evil\\x00.js'", "contains a NUL byte"),
        ("bell\x07.js", "'bell\\x07.js'", "contains a control character"),
        ("line\nbreak.js", "'line\\nbreak.js'", "contains a control character"),
        ("tab\t.js", "'tab\\t.js'", "contains a control character"),
        ("", "''", "is empty"),
        ("./", "'./'", "is empty"),
    ],
)
def test_bad_paths_are_refused(raw: str, shown: str, rule: str) -> None:
    with pytest.raises(FileTreeError) as caught:
        normalize_path(raw)
    assert str(caught.value).startswith(f"File name {shown} {rule}")
    assert caught.value.path == raw


def test_overlong_path_is_refused_with_the_limit() -> None:
    raw = "a/" * 200 + "b" * 200
    with pytest.raises(FileTreeError, match=f"longer than {MAX_PATH_LENGTH} characters") as caught:
        normalize_path(raw)
    assert "a/a/a/" in str(caught.value)
    assert normalize_path("x" * MAX_PATH_LENGTH) == "x" * MAX_PATH_LENGTH


def test_paths_are_normalized() -> None:
    assert normalize_path("./src//app.js") == "src/app.js"
    assert normalize_path("src/./lib/a.ts/") == "src/lib/a.ts"
    assert normalize_path("weird name (1).txt") == "weird name (1).txt"


@pytest.mark.parametrize("bad", ["../evil.js", "/etc/passwd", "C:/x", "a\\b", "nul\x00"])
def test_bad_path_in_a_tree_refuses_the_whole_tree(bad: str) -> None:
    with pytest.raises(FileTreeError) as caught:
        validate_tree({"index.html": "<h1>ok</h1>", bad: "evil"}, SMALL)
    assert caught.value.path == bad


# -- validate_tree limits -------------------------------------------------------------------


def test_tree_with_too_many_files() -> None:
    files = {f"f{i}.js": "x" for i in range(6)}
    with pytest.raises(FileTreeError, match="The project has 6 files; the limit is 5"):
        validate_tree(files, SMALL)
    assert len(validate_tree(dict(list(files.items())[:5]), SMALL)) == 5


def test_tree_with_a_file_over_the_size_limit() -> None:
    with pytest.raises(FileTreeError) as caught:
        validate_tree({"small.js": "x", "big.js": "x" * 1001}, SMALL)
    assert str(caught.value) == "big.js is 1001 bytes; the limit per file is 1000 bytes."
    assert caught.value.path == "big.js"
    assert validate_tree({"edge.js": "x" * 1000}, SMALL) == {"edge.js": b"x" * 1000}


def test_tree_over_the_total_size_limit() -> None:
    files = {"a.js": "a" * 900, "b.js": "b" * 900, "c.js": "c" * 900}
    with pytest.raises(FileTreeError) as caught:
        validate_tree(files, SMALL)
    message = str(caught.value)
    assert "more than 2.4 KB (limit for a whole project)" in message
    assert "c.js went over it" in message


def test_a_tree_keeps_every_file_byte_for_byte_whatever_its_name_or_encoding() -> None:
    files = {"logo.png": PNG_BYTES, "Font.WOFF2": b"\xff\x00", "app.js": b"const a = '\xff';", "data.csv": UTF16_CSV}
    assert validate_tree(files, SMALL) == files


def test_duplicate_and_file_folder_clash_in_a_tree() -> None:
    with pytest.raises(FileTreeError, match=r"a\.js appears twice"):
        validate_tree({"a.js": "1", "./a.js": "2"}, SMALL)
    with pytest.raises(FileTreeError, match="is both a file and a folder"):
        validate_tree({"src": "1", "src/a.js": "2"}, SMALL)
    with pytest.raises(FileTreeError, match="is both a file and a folder"):
        validate_tree({"a/b/c.js": "1", "a/b": "2"}, SMALL)


def test_human_size() -> None:
    assert human_size(0) == "0 bytes"
    assert human_size(1023) == "1023 bytes"
    assert human_size(1024) == "1 KB"
    assert human_size(1536) == "1.5 KB"
    assert human_size(2 * 1024 * 1024) == "2 MB"
    assert human_size(5 * 1024**4) == "5120 GB"


# -- zips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../evil.js", "/etc/passwd", "C:/x", "src\\evil.js"])
def test_zip_with_a_bad_member_name(bad: str) -> None:
    data = make_zip(("index.html", "ok"), (bad, "evil"))
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, SMALL)
    assert caught.value.path == bad
    assert f"'{bad}'" in str(caught.value)


def test_zip_with_a_symlink() -> None:
    data = make_zip(("index.html", "ok"), (member("secrets.txt", stat.S_IFLNK), "/etc/shadow"))
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, SMALL)
    assert str(caught.value) == "secrets.txt is a symbolic link; links are not allowed in an import."
    assert caught.value.path == "secrets.txt"


@pytest.mark.parametrize("file_type", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_zip_with_a_device_or_special_file(file_type: int) -> None:
    data = make_zip(("index.html", "ok"), (member("dev/thing", file_type), ""))
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, SMALL)
    assert str(caught.value) == "dev/thing is a device or special file; only regular files can be imported."


def test_zip_bomb_is_refused_by_its_ratio() -> None:
    size = 20 * 1024 * 1024
    data = make_zip(("readme.md", "hi"), ("zeros.txt", bytes(size)))
    assert len(data) < size // 200  # the member really is a bomb by the ratio rule
    roomy = Limits(max_files=10, max_file_bytes=size * 2, max_total_bytes=size * 4, max_zip_ratio=200)
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, roomy)
    message = str(caught.value)
    assert message.startswith("zeros.txt expands ")
    assert "(limit 200x)" in message and "zip bomb" in message
    assert caught.value.path == "zeros.txt"


def test_small_compressible_file_is_not_a_bomb() -> None:
    # Highly compressible, but under 1 MB: ordinary text files compress this well.
    data = make_zip(("blank.txt", " " * 900))
    assert read_zip(data, SMALL) == {"blank.txt": b" " * 900}


def test_zip_with_too_many_files() -> None:
    data = make_zip(*((f"f{i}.js", "x") for i in range(6)))
    with pytest.raises(FileTreeError, match="The zip has more than 5 files; the limit is 5"):
        read_zip(data, SMALL)


def test_zip_with_a_file_over_the_size_limit() -> None:
    data = make_zip(("ok.js", "x"), ("big.txt", "x" * 2048))
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, SMALL)
    assert str(caught.value) == "big.txt is 2 KB; the limit per file is 1000 bytes."


def test_zip_over_the_total_size_limit() -> None:
    data = make_zip(("a.txt", "a" * 900), ("b.txt", "b" * 900), ("c.txt", "c" * 900))
    with pytest.raises(FileTreeError) as caught:
        read_zip(data, SMALL)
    message = str(caught.value)
    assert "more than 2.4 KB (limit for a whole project)" in message
    assert "c.txt" in message
    assert caught.value.path == "c.txt"


def test_zip_over_the_upload_limit() -> None:
    data = make_zip(("a.txt", "a" * 100), compression=zipfile.ZIP_STORED)
    with pytest.raises(FileTreeError, match=r"The zip is \d+ bytes; the upload limit is 50 bytes"):
        read_zip(data, SMALL, max_upload_bytes=50)


def test_zip_with_bytes_under_any_name_and_a_binary_image() -> None:
    assert read_zip(make_zip(("src/app.js", b"\xc3\x28 bad"), ("logo.png", PNG_BYTES), ("logo", PNG_BYTES)), SMALL) == {
        "src/app.js": b"\xc3\x28 bad",
        "logo.png": PNG_BYTES,
        "logo": PNG_BYTES,
    }


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04 truncated", json.dumps({"a": 1}).encode()])
def test_not_a_zip(data: bytes) -> None:
    with pytest.raises(FileTreeError, match="not a zip archive"):
        read_zip(data, SMALL)


def test_empty_zip_and_zip_of_only_skipped_files() -> None:
    with pytest.raises(FileTreeError, match="holds no files to import"):
        read_zip(make_zip(), SMALL)
    with pytest.raises(FileTreeError, match="holds no files to import"):
        read_zip(make_zip(("node_modules/react/index.js", "x"), ("folder/", ""), (".DS_Store", "x")), SMALL)


def test_zip_common_top_folder_is_stripped() -> None:
    data = make_zip(("repo-main/", ""), ("repo-main/src/a.js", "a"), ("repo-main/README.md", "r"))
    assert read_zip(data, SMALL) == {"src/a.js": b"a", "README.md": b"r"}
    # Two top folders: nothing to strip.
    assert sorted(read_zip(make_zip(("one/a.js", "a"), ("two/b.js", "b")), SMALL)) == ["one/a.js", "two/b.js"]
    # A top-level file: nothing to strip either.
    assert sorted(read_zip(make_zip(("src/a.js", "a"), ("index.html", "i")), SMALL)) == ["index.html", "src/a.js"]


def test_zip_skips_dependency_and_metadata_folders() -> None:
    data = make_zip(
        ("app/src/a.js", "a"),
        ("app/node_modules/react/index.js", "x" * 5000),
        ("app/.git/HEAD", "ref"),
        ("__MACOSX/app/src/._a.js", b"\x00\x05\x16\x07"),
        ("app/src/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        *((f"app/node_modules/pkg{i}/index.js", "x") for i in range(20)),
    )
    assert read_zip(data, SMALL) == {"src/a.js": b"a"}


def test_is_skipped() -> None:
    assert is_skipped("node_modules/a.js")
    assert is_skipped("deep/.git/config")
    assert is_skipped("a/.DS_Store")
    assert not is_skipped("src/node_modules.js")
    assert not is_skipped("docs/.gitignore")


def test_write_zip_read_zip_round_trip() -> None:
    tree = {"index.html": b"<h1>Hi</h1>", "src/app.js": b"export {}", "assets/logo.png": PNG_BYTES, "a/b/c/d.txt": b""}
    assert read_zip(write_zip(tree), SMALL) == tree
    # With a root folder, as a download might have: stripped on the way back in.
    rooted = write_zip(tree, root="my-app/")
    assert all(name.startswith("my-app/") for name in zipfile.ZipFile(io.BytesIO(rooted)).namelist())
    assert read_zip(rooted, SMALL) == tree


# -- folders --------------------------------------------------------------------------------


def test_read_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.js").write_text("app")
    (tmp_path / "index.html").write_text("<h1>Hi</h1>")
    (tmp_path / "logo.png").write_bytes(PNG_BYTES)
    (tmp_path / "node_modules" / "react").mkdir(parents=True)
    (tmp_path / "node_modules" / "react" / "index.js").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "empty-dir").mkdir()
    assert read_folder(tmp_path, SMALL) == {"index.html": b"<h1>Hi</h1>", "logo.png": PNG_BYTES, "src/app.js": b"app"}


def test_read_folder_refuses_symlinks(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("ok")
    (tmp_path / "secrets.txt").symlink_to("/etc/passwd")
    with pytest.raises(FileTreeError) as caught:
        read_folder(tmp_path, SMALL)
    assert str(caught.value) == "secrets.txt is a symbolic link; links are not allowed in an import."


def test_read_folder_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (project / "index.html").write_text("ok")
    (project / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(FileTreeError, match="linked is a symbolic link"):
        read_folder(project, SMALL)


def test_read_folder_refuses_a_fifo(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("ok")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileTreeError, match="pipe is a device or special file"):
        read_folder(tmp_path, SMALL)


def test_read_folder_limits(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}.js").write_text("x")
    with pytest.raises(FileTreeError, match="The folder has more than 5 files; the limit is 5"):
        read_folder(tmp_path, SMALL)

    big = tmp_path / "big"
    big.mkdir()
    (big / "huge.txt").write_text("x" * 1001)
    with pytest.raises(FileTreeError) as caught:
        read_folder(big, SMALL)
    assert str(caught.value) == "huge.txt is 1001 bytes; the limit per file is 1000 bytes."

    bad = tmp_path / "bad"
    bad.mkdir()
    latin1 = "body { content: 'é' }".encode("latin-1")
    (bad / "latin1.css").write_bytes(latin1)
    assert read_folder(bad, SMALL) == {"latin1.css": latin1}


def test_read_folder_of_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileTreeError, match="is not a folder"):
        read_folder(tmp_path / "missing", SMALL)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("x")
    with pytest.raises(FileTreeError, match="holds no files to import"):
        read_folder(tmp_path, SMALL)


# -- JSON file trees ------------------------------------------------------------------------


def test_read_json_tree_accepts_both_shapes() -> None:
    listed = {"files": [{"path": "index.html", "content": "<h1>Hi</h1>"}, {"path": "src/a.js", "content": "é"}]}
    mapped = {"index.html": "<h1>Hi</h1>", "src/a.js": "é"}
    expected = {"index.html": b"<h1>Hi</h1>", "src/a.js": "é".encode()}
    assert read_json_tree(json.dumps(listed).encode(), SMALL) == expected
    assert read_json_tree(json.dumps(mapped).encode(), SMALL) == expected


def test_read_json_tree_takes_bytes_base64_encoded() -> None:
    entries = [
        {"path": "logo", "content": base64.b64encode(PNG_BYTES).decode(), "encoding": "base64"},
        {"path": "data.csv", "content": base64.b64encode(UTF16_CSV).decode(), "encoding": "base64"},
        {"path": "a.js", "content": "x", "encoding": "utf-8"},
    ]
    tree = read_json_tree(json.dumps({"files": entries}).encode(), SMALL)
    assert tree == {"logo": PNG_BYTES, "data.csv": UTF16_CSV, "a.js": b"x"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "could not be parsed"),
        (b"\xff\xfe", "could not be parsed"),
        (b"[1, 2]", 'looks like {"files": [{"path": "index.html"'),
        (b"{}", 'looks like {"files"'),
        (b'{"a.js": 1}', 'looks like {"files"'),
        (b'"just a string"', 'looks like {"files"'),
        (b'{"files": [{"path": "a.js"}]}', "Entry 0 of 'files' needs a string 'path' and a string 'content'"),
        (b'{"files": [{"path": "a.js", "content": "x"}, "b.js"]}', "Entry 1 of 'files'"),
        (b'{"files": [{"path": "a", "content": "x", "encoding": "latin-1"}]}', "encoding 'latin-1'; use 'utf-8' or 'base64'"),
        (b'{"files": [{"path": "a", "content": "@@", "encoding": "base64"}]}', "Entry 0 of 'files' (a) is not valid base64"),
    ],
)
def test_read_json_tree_refuses_garbage(data: bytes, message: str) -> None:
    with pytest.raises(FileTreeError) as caught:
        read_json_tree(data, SMALL)
    assert message in str(caught.value)


def test_read_json_tree_applies_the_path_rules() -> None:
    with pytest.raises(FileTreeError, match=r"contains '\.\.'") as caught:
        read_json_tree(json.dumps({"files": [{"path": "../../etc/passwd", "content": "x"}]}).encode(), SMALL)
    assert caught.value.path == "../../etc/passwd"


# -- damaged zips and text that is not Unicode ---------------------------------------------------


def lying_zip(field: str, method: int) -> bytes:
    """A one-file zip whose CRC or declared size (in both headers) is wrong."""
    data = bytearray(make_zip(("site/index.html", "<h1>hello</h1>" * 20), compression=method))
    central = data.find(b"PK\x01\x02")
    # Offsets of the field in the central directory entry and in the local header (at 0).
    central_offset, local_offset = {"crc": (16, 14), "size": (24, 22)}[field]
    (value,) = struct.unpack_from("<I", data, central + central_offset)
    wrong = value ^ 1 if field == "crc" else value + 50
    struct.pack_into("<I", data, central + central_offset, wrong)
    struct.pack_into("<I", data, local_offset, wrong)
    return bytes(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("field", ["crc", "size"])
def test_zip_whose_crc_or_size_lies_is_refused_by_name(field: str, method: int) -> None:
    with pytest.raises(FileTreeError, match=r"site/index\.html is damaged in the zip") as caught:
        read_zip(lying_zip(field, method))
    assert caught.value.path == "site/index.html"


def test_lone_surrogates_in_names_and_text_are_refused() -> None:
    with pytest.raises(FileTreeError, match="not valid Unicode") as caught:
        normalize_path("a\ud800.txt")
    assert caught.value.path is not None
    caught.value.path.encode("utf-8")  # the answer that names it can be sent
    with pytest.raises(FileTreeError, match=r"index\.html is not valid text"):
        validate_tree({"index.html": "hi \udfff"})
    with pytest.raises(FileTreeError, match="not valid Unicode"):
        read_json_tree(b'{"files": [{"path": "\\ud800.js", "content": "x"}]}')


# -- text or bytes, by content ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(PNG_BYTES, None, id="png-without-extension"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", None, id="jpeg"),
        # bun.lockb: a binary lockfile whose first bytes are ASCII, then little-endian integers with NULs.
        pytest.param(b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n\x02\x00\x00\x00\xa0\x01", None, id="bun-lockb"),
        pytest.param(b"abc\x00def", None, id="utf8-with-nul"),
        pytest.param("<svg><text>Café</text></svg>".encode("latin-1"), None, id="latin1-svg-without-bom"),
        pytest.param(UTF16_CSV, "name,city\nZoë,Köln\n", id="utf16-le-bom-csv"),
        pytest.param(codecs.BOM_UTF16_BE + "a,b\n".encode("utf-16-be"), "a,b\n", id="utf16-be-bom"),
        pytest.param(codecs.BOM_UTF32_LE + "ü".encode("utf-32-le"), "ü", id="utf32-le-bom"),
        pytest.param(codecs.BOM_UTF32_BE + "ü".encode("utf-32-be"), "ü", id="utf32-be-bom"),
        pytest.param(codecs.BOM_UTF8 + "<p>é</p>".encode(), "<p>é</p>", id="utf8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + b"a\x00\x00\x00", None, id="utf16-with-nul"),
        pytest.param(codecs.BOM_UTF16_LE + b"a", None, id="utf16-odd-length"),
        pytest.param("plain é ✓".encode(), "plain é ✓", id="utf8"),
        pytest.param(b"", "", id="empty"),
    ],
)
def test_text_or_bytes_is_decided_by_content(data: bytes, text: str | None) -> None:
    assert text_of(data) == text
    assert is_text(data) is (text is not None)


def test_only_utf8_is_carried_as_a_json_string() -> None:
    assert is_utf8_text(codecs.BOM_UTF8 + b"x") and is_utf8_text(b"x")
    assert not is_utf8_text(UTF16_CSV)
    assert not is_utf8_text(codecs.BOM_UTF32_BE + "x".encode("utf-32-be"))
    assert not is_utf8_text(PNG_BYTES)


def test_a_text_file_is_saved_back_in_its_own_encoding() -> None:
    assert encode_like("data.csv", UTF16_CSV, "name,city\nZoë,Köln\n") == UTF16_CSV
    edited = encode_like("data.csv", UTF16_CSV, "name\n")
    assert edited == codecs.BOM_UTF16_LE + "name\n".encode("utf-16-le")
    assert encode_like("a.html", codecs.BOM_UTF8 + b"x", "y") == codecs.BOM_UTF8 + b"y"
    assert encode_like("new.js", None, "é") == "é".encode()
    assert encode_like("logo", PNG_BYTES, "text now") == b"text now"
    with pytest.raises(FileTreeError, match=r"data\.csv is not valid text \(a lone surrogate"):
        encode_like("data.csv", UTF16_CSV, "\ud800")
