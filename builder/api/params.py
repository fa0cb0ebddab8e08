"""The numbers a request's path and query may carry, each bounded to what the store holds: never an overflow in the
database (SQLite's integers end at 2**63, PostgreSQL's at 2**31). Counts and positions past it get a 422 naming the
parameter; ids and version numbers a 404 (no row has them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from builder.schemas import DEFAULT_PAGE, MAX_PAGE, MAX_ROW_NUMBER

__all__ = [
    "DEFAULT_PAGE",
    "LogLines",
    "LogSince",
    "Offset",
    "PageLimit",
    "ReleaseNumber",
    "RowId",
    "VersionAsked",
    "VersionNumber",
]

# Ids and version numbers name rows: one past the store's integers names none, so the services answer it with a 404
# (store.stored_number) before any query; only their sign is checked here.

# A log line's number counts every line a project's log had since Forja started: no store holds it, but it is compared
# with numbers that do fit 64 bits.
MAX_LOG_SEQ = 2**63 - 1

RowId = Annotated[int, Path(ge=1, description="An id, as the list that shows it gave it.")]
VersionNumber = Annotated[int, Path(ge=1, description="Version number (1, 2, 3...)")]
ReleaseNumber = Annotated[int, Path(ge=1, description="Release number (1, 2, 3...), as the releases list gives it.")]
VersionAsked = Annotated[int | None, Query(ge=1, description="A version number; default: the current version.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_NUMBER, description="How many items of the list to skip.")]
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most items in this page.")]
LogSince = Annotated[int, Query(ge=0, le=MAX_LOG_SEQ, description="Only the lines after the one with this number.")]
LogLines = Annotated[int, Query(ge=1, le=MAX_ROW_NUMBER, description="How many of the last lines (at most 2,000 come).")]
