"""The rules every file tree obeys, whether imported, generated or saved from the editor.

Paths are checked before anything is written, so a bad tree is refused whole: no file lands
outside the project and no half-made project is left behind.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import json
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from builder.errors import FileTreeError
from builder.settings import settings
from preview_runtime.common import human_size

# Folders people zip up by accident; importing them would only hit the limits.
SKIPPED_DIRS = frozenset({"node_modules", ".git", "__pycache__", ".venv", "venv", "__MACOSX", ".next", "dist", ".svelte-kit"})
SKIPPED_FILES = frozenset({".DS_Store", "Thumbs.db"})

# Byte-order marks and the encoding each names, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

MAX_PATH_LENGTH = 512


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_file_bytes: int
    max_total_bytes: int
    max_zip_ratio: int
    max_zip_entries: int = 50_000

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            settings.max_files,
            settings.max_file_bytes,
            settings.max_total_bytes,
            settings.max_zip_ratio,
            settings.max_zip_entries,
        )


# Bidirectional formatting characters: in a name they make it read in another order than it is (U+202E shows
# "txt.exe" as "exe.txt"), and a person cannot see them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_CONTROL_NAMES = {0: "NUL", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE"}


def hidden_character(text: str) -> str | None:
    """The first character of `text` a name may not hold, as "U+001B (ESCAPE)": control characters (NUL, ESC, CR,
    LF, DEL, C1) and bidi overrides; None when there is none."""
    for char in text:
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS:
            label = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "CONTROL")
            return f"U+{ord(char):04X} ({label})"
    return None


def text_of(data: bytes) -> str | None:
    """A file's text, or None when it is bytes: the one rule for text and bytes, decided by content, not name.

    Text is UTF-8 without a NUL, or text whose byte-order mark names its encoding (UTF-16, UTF-32, UTF-8 with a
    BOM; the mark is not part of the text). An image without an extension, a lockfile of bytes or Latin-1 without
    a mark are bytes. A file keeps its own bytes either way: this only says how to read it.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                return None
            return None if "\x00" in text else text
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_text(data: bytes) -> bool:
    return text_of(data) is not None


def is_utf8_text(data: bytes) -> bool:
    """Text that a JSON string carries byte for byte: UTF-8 (its BOM, if any, comes back as U+FEFF)."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def encode_like(path: str, original: bytes | None, text: str) -> bytes:
    """`text` in the encoding `original` was read in, its byte-order mark kept; UTF-8 for a new or binary file."""
    if original is not None and is_text(original):
        for bom, codec in _BOMS:
            if original.startswith(bom):
                try:
                    return bom + text.encode(codec)
                except UnicodeEncodeError as exc:
                    raise FileTreeError(
                        f"{path} is not valid text (a lone surrogate at position {exc.start}); remove it.", path
                    ) from None
    return encode_text(path, text)


def normalize_path(raw: str) -> str:
    """Return the canonical relative POSIX path for `raw`, or refuse it."""
    # Control characters escaped (so the message stays on one line), everything else as typed.
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)
    if not is_valid_unicode(raw):
        # JSON can carry a lone surrogate ("\ud800"); no database or file system can store it.
        raise FileTreeError(f"File name '{shown}' is not valid Unicode (it holds a lone surrogate); rename the file.", shown)
    if "\x00" in raw:
        raise FileTreeError(f"File name '{shown}' contains a NUL byte; rename the file.", raw)
    if "\\" in raw:
        raise FileTreeError(f"File name '{shown}' contains a backslash; use '/' between folders.", raw)
    if (found := hidden_character(raw)) is not None:
        raise FileTreeError(f"File name '{shown}' contains a control character, {found}; rename the file.", raw)
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise FileTreeError(f"File name {raw!r} is an absolute path; paths must be relative to the project.", raw)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise FileTreeError(f"File name {raw!r} contains '..'; paths may not leave the project folder.", raw)
    if not parts:
        raise FileTreeError(f"File name {raw!r} is empty.", raw)
    path = "/".join(parts)
    if len(path) > MAX_PATH_LENGTH:
        raise FileTreeError(f"File name {path[:60]!r}... is longer than {MAX_PATH_LENGTH} characters.", raw)
    return path


def is_valid_unicode(text: str) -> bool:
    """False for text with lone surrogates, which cannot be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_text(path: str, content: str) -> bytes:
    """A text file's content as UTF-8, or a FileTreeError naming the file."""
    try:
        return content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FileTreeError(
            f"{path} is not valid text (a lone surrogate at position {exc.start}); save it as UTF-8.", path
        ) from None


def is_skipped(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] in SKIPPED_FILES or any(p in SKIPPED_DIRS for p in parts[:-1])


def check_content(path: str, data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise FileTreeError(
            f"{path} is {human_size(len(data))}; the limit per file is {human_size(limits.max_file_bytes)}.", path
        )


def validate_tree(files: Mapping[str, bytes | str], limits: Limits | None = None) -> dict[str, bytes]:
    """Check a whole tree against the path rules and limits; return it with canonical paths."""
    limits = limits or Limits.from_settings()
    if len(files) > limits.max_files:
        raise FileTreeError(f"The project has {len(files)} files; the limit is {limits.max_files}.")
    tree: dict[str, bytes] = {}
    total = 0
    for raw, content in files.items():
        path = normalize_path(raw)
        data = encode_text(path, content) if isinstance(content, str) else bytes(content)
        check_content(path, data, limits)
        if path in tree:
            raise FileTreeError(f"{path} appears twice in the tree.", path)
        for other in tree:
            if other.startswith(path + "/") or path.startswith(other + "/"):
                raise FileTreeError(f"{path} is both a file and a folder in the tree.", path)
        total += len(data)
        if total > limits.max_total_bytes:
            raise FileTreeError(
                f"The files add up to more than {human_size(limits.max_total_bytes)} (limit for a whole project); "
                f"{path} went over it.",
                path,
            )
        tree[path] = data
    return tree


def _strip_common_root(paths: Iterable[str]) -> str:
    """The single top folder every path shares (as in GitHub's 'repo-main/' zips), or ''."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop() + "/"
    return ""


def read_zip(data: bytes, limits: Limits | None = None, max_upload_bytes: int | None = None) -> dict[str, bytes]:
    """Read a project zip, refusing links, devices and bombs before inflating anything large."""
    limits = limits or Limits.from_settings()
    max_upload = max_upload_bytes or settings.max_upload_bytes
    if len(data) > max_upload:
        raise FileTreeError(f"The zip is {human_size(len(data))}; the upload limit is {human_size(max_upload)}.")
    # zipfile reads the whole central directory when it opens an archive (seconds for 300,000
    # entries), so the count the archive declares is checked first, and the real one right after.
    _check_entry_count(declared_entries(data), limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileTreeError(
            "That file is not a zip archive (or it is damaged); export the project as .zip and try again."
        ) from None
    members: list[tuple[str, zipfile.ZipInfo]] = []
    with archive:
        _check_entry_count(len(archive.infolist()), limits)
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if "\x00" in info.orig_filename:
                # zipfile cuts a name at its NUL: "a.txt\0.exe" would be imported as "a.txt" without a word.
                shown = info.orig_filename.replace("\x00", "\\x00")
                raise FileTreeError(f"The zip member '{shown}' has a NUL byte in its name; rename it and zip again.", shown)
            if info.is_dir():
                continue
            if stat.S_ISLNK(mode):
                raise FileTreeError(f"{info.filename} is a symbolic link; links are not allowed in an import.", info.filename)
            # Zips from Windows tools or Python's zipfile carry no file-type bits at all.
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise FileTreeError(
                    f"{info.filename} is a device or special file; only regular files can be imported.", info.filename
                )
            path = normalize_path(info.filename)
            if is_skipped(path):
                continue
            if len(members) >= limits.max_files:
                raise FileTreeError(f"The zip has more than {limits.max_files} files; the limit is {limits.max_files}.")
            if info.file_size > limits.max_file_bytes:
                raise FileTreeError(
                    f"{path} is {human_size(info.file_size)}; the limit per file is {human_size(limits.max_file_bytes)}.", path
                )
            if info.compress_size and info.file_size / info.compress_size > limits.max_zip_ratio and info.file_size > 1024 * 1024:
                raise FileTreeError(
                    f"{path} expands {info.file_size // info.compress_size}x when unpacked (limit {limits.max_zip_ratio}x); "
                    "this looks like a zip bomb.",
                    path,
                )
            members.append((path, info))
        root = _strip_common_root([p for p, _ in members])
        files: dict[str, bytes] = {}
        total = 0
        for path, info in members:
            content = _read_member(archive, info, path, limits)
            total += len(content)
            if len(content) > limits.max_file_bytes:
                raise FileTreeError(f"{path} is larger than {human_size(limits.max_file_bytes)} (limit per file).", path)
            if total > limits.max_total_bytes:
                raise FileTreeError(
                    f"The zip unpacks to more than {human_size(limits.max_total_bytes)} (limit for a whole project); "
                    f"{path} went over it.",
                    path,
                )
            files[path.removeprefix(root)] = content
    if not files:
        raise FileTreeError("The zip holds no files to import.")
    return validate_tree(files, limits)


_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD = b"PK\x06\x06"


def declared_entries(data: bytes) -> int:
    """How many entries the zip's end-of-central-directory record declares (0 when there is none to read).

    Read from the last bytes only, so a zip listing a huge number of entries is refused without
    parsing them; a zip that lies here is still caught once zipfile has read its directory.
    """
    start = data.rfind(_EOCD, max(0, len(data) - _EOCD_SIZE - 0xFFFF))
    if start < 0 or start + _EOCD_SIZE > len(data):
        return 0
    (count,) = struct.unpack_from("<H", data, start + 10)
    locator = start - _ZIP64_LOCATOR_SIZE
    if count == 0xFFFF and locator >= 0 and data[locator : locator + 4] == _ZIP64_LOCATOR:
        (record,) = struct.unpack_from("<Q", data, locator + 8)
        if record + 40 <= len(data) and data[record : record + 4] == _ZIP64_EOCD:
            (count,) = struct.unpack_from("<Q", data, record + 32)
    return count


def _check_entry_count(count: int, limits: Limits) -> None:
    if count > limits.max_zip_entries:
        raise FileTreeError(
            f"The zip lists {count:,} entries; the limit is {limits.max_zip_entries:,}. "
            "Leave out node_modules, build output and other generated folders, and zip the project again."
        )


# What zipfile raises for a member whose CRC, sizes or compressed data lie, or that it cannot read.
_DAMAGED_MEMBER = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limits: Limits) -> bytes:
    """One member's bytes; a damaged or unreadable member is refused by name."""
    try:
        # Read one byte past the limit so a member that lies about its size is still caught.
        with archive.open(info) as fh:
            content = fh.read(limits.max_file_bytes + 1)
    except _DAMAGED_MEMBER as exc:
        raise FileTreeError(f"{path} is damaged in the zip ({exc}); make the zip again and retry.", path) from None
    if len(content) != info.file_size and len(content) <= limits.max_file_bytes:
        raise FileTreeError(
            f"{path} is damaged in the zip (it says {info.file_size} bytes but holds {len(content)}); make the zip again and retry.",
            path,
        )
    return content


def read_folder(folder: Path, limits: Limits | None = None) -> dict[str, bytes]:
    """Read a folder from disk; links and special files are refused, not followed."""
    limits = limits or Limits.from_settings()
    if not folder.is_dir():
        raise FileTreeError(f"{folder} is not a folder.")
    files: dict[str, bytes] = {}
    for item in sorted(folder.rglob("*")):
        rel = item.relative_to(folder).as_posix()
        if is_skipped(rel) or (item.is_dir() and not item.is_symlink()):
            continue
        if item.is_symlink():
            raise FileTreeError(f"{rel} is a symbolic link; links are not allowed in an import.", rel)
        if not item.is_file():
            raise FileTreeError(f"{rel} is a device or special file; only regular files can be imported.", rel)
        if len(files) >= limits.max_files:
            raise FileTreeError(f"The folder has more than {limits.max_files} files; the limit is {limits.max_files}.")
        if item.stat().st_size > limits.max_file_bytes:
            raise FileTreeError(
                f"{rel} is {human_size(item.stat().st_size)}; the limit per file is {human_size(limits.max_file_bytes)}.", rel
            )
        files[rel] = item.read_bytes()
    if not files:
        raise FileTreeError(f"{folder} holds no files to import.")
    return validate_tree(files, limits)


def read_json_tree(data: bytes, limits: Limits | None = None) -> dict[str, bytes]:
    """Read `{"files": [{"path", "content", "encoding"?}]}` (or a plain `{path: content}` map).

    An entry's `encoding` is "utf-8" (the default) or "base64" for any other file, as the API's file reads give them.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileTreeError(f"The JSON file tree could not be parsed: {exc}.") from None
    entries = doc.get("files") if isinstance(doc, dict) else None
    if isinstance(entries, list):
        pairs: dict[str, str | bytes] = {}
        for i, entry in enumerate(entries):
            if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("content"), str)):
                raise FileTreeError(f"Entry {i} of 'files' needs a string 'path' and a string 'content'.")
            pairs[entry["path"]] = _entry_content(i, entry)
    elif isinstance(doc, dict) and doc and all(isinstance(k, str) and isinstance(v, str) for k, v in doc.items()):
        pairs = doc
    else:
        raise FileTreeError('A JSON file tree looks like {"files": [{"path": "index.html", "content": "..."}]}.')
    return validate_tree(pairs, limits)


def _entry_content(i: int, entry: dict[str, str]) -> str | bytes:
    encoding = entry.get("encoding", "utf-8")
    if encoding == "utf-8":
        return entry["content"]
    if encoding != "base64":
        raise FileTreeError(f"Entry {i} of 'files' has encoding {encoding!r}; use 'utf-8' or 'base64'.", entry["path"])
    try:
        return base64.b64decode(entry["content"], validate=True)
    except binascii.Error:
        raise FileTreeError(
            f"Entry {i} of 'files' ({entry['path']}) is not valid base64; send its bytes base64-encoded or use 'utf-8'.",
            entry["path"],
        ) from None


def write_zip(files: Mapping[str, bytes], root: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.writestr(f"{root}{path}", files[path])
    return buffer.getvalue()
