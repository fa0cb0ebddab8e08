"""Settings of the backups the server takes by itself (docs/deploying.md#backups)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings


class BackupSettings(BaseSettings):
    """Backups"""

    backup_every_hours: int = Field(
        default=0,
        ge=0,
        le=24 * 365,
        description="Hours between the backups the server takes by itself, as `python -m builder backup` does (without "
        "the key: back up `FORJA_DATA_DIR/secret.key` or `FORJA_SECRET_KEY` apart, once). `0`: none. With several "
        "workers, the one that leads the sweeps takes them. The admin page's Health shows the last one.",
    )
    backup_keep: int = Field(
        default=7, ge=1, description="How many of those backups are kept in `FORJA_BACKUP_DIR`; older ones are deleted."
    )
    backup_dir: Path | None = Field(
        default=None,
        description="Where those backups go. Empty: a folder beside the data folder, named after it with `-backups` "
        "(`data-backups`); never inside it, or each backup would hold the ones before.",
    )
