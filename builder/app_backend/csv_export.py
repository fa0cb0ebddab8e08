"""An app's collection as CSV for its owner (the workspace's Data panel): one line a row, its id, owner and times, then
one column for each top-level field any row has, in the order they first appear. Pure (no I/O)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

FIXED = ("id", "owner", "created_at", "updated_at")
# A field's value a spreadsheet would run as a formula (CSV injection): written with a ' before it, read as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[Sequence[str], Mapping[str, object]]  # the FIXED cells (made by Forja), and the row's data


def cell(value: object) -> str:
    """Text as it is, anything else (numbers, lists, objects) as JSON; never a formula."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Sequence[Row]) -> str:
    fields: dict[str, None] = {}
    for _, data in rows:
        fields.update(dict.fromkeys(data))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED, *fields])
    for fixed, data in rows:
        writer.writerow([*fixed, *(cell(data.get(field)) for field in fields)])
    return out.getvalue()
