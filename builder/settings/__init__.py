"""Every Forja setting, read once from environment variables (or `.env`) with defaults.

One place so that docs/settings.md (generated from the descriptions in these modules), the UI, the API and the CLI
agree. Each group of settings is a class of its own module; `Settings` is all of them.
"""

from __future__ import annotations

import logging
import os

from pydantic import AliasChoices, ValidationError
from pydantic_settings import SettingsConfigDict

from builder.settings.apps import AppDataSettings, PublishSettings
from builder.settings.backups import BackupSettings
from builder.settings.generation import CheckSettings, ModelSettings
from builder.settings.mail import MailSettings
from builder.settings.previews import InstallSettings, PreviewSettings, WebContainerSettings
from builder.settings.review_packages import ReviewPackageSettings
from builder.settings.server import REPO_ROOT, AccountSettings, LimitSettings, ServerSettings, is_loopback

__all__ = ["REPO_ROOT", "Settings", "is_loopback", "settings", "unusable"]

log = logging.getLogger(__name__)


class Settings(
    ServerSettings,
    AccountSettings,
    LimitSettings,
    ModelSettings,
    CheckSettings,
    PreviewSettings,
    InstallSettings,
    WebContainerSettings,
    PublishSettings,
    AppDataSettings,
    MailSettings,
    ReviewPackageSettings,
    BackupSettings,
):
    """Forja's configuration; each field is read from FORJA_<FIELD NAME> (DATABASE_URL has no prefix).

    Every field's description is its documentation: scripts/docs.py writes docs/settings.md from them, a section per
    group (the classes above, in this order, each titled by its docstring), and tests/unit/test_docs.py fails when one
    has none or the page is stale.
    """

    model_config = SettingsConfigDict(env_prefix="FORJA_", env_file=REPO_ROOT / ".env", extra="ignore")

    def open_without_accounts(self) -> str:
        """Why Forja must not start as set up (open to the network, no sign-in), in words; "" when it may."""
        exposure = self.network_exposure
        if not exposure or self.auth_mode == "password":
            return ""
        return (
            f"Forja will not start open to the network without accounts: {exposure}, and FORJA_AUTH is "
            f"{self.auth or 'not set'}, so anyone who reaches it could read, change and delete every project. Set "
            "FORJA_AUTH=password (then make the admin with: python -m builder user create --admin EMAIL), or listen on "
            "loopback only with FORJA_HOST=127.0.0.1."
        )


def _variable(field: str) -> str:
    """The environment variable a field is read from: the one of its names that is set, else all of them."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    names = [str(name) for name in alias.choices] if isinstance(alias, AliasChoices) else [f"FORJA_{field.upper()}"]
    return next((name for name in names if name in os.environ), " or ".join(names))


def unusable(error: ValidationError) -> str:
    """What an administrator reads when settings cannot be used: each variable and what it needs, and where to change
    it. pydantic's messages do not repeat the value (it may be a key), and Forja's validators say only what is wrong."""
    lines = []
    for problem in error.errors():
        where = _variable(str(problem["loc"][0])) if problem["loc"] else "Settings"
        lines.append(f"  {where}: {problem['msg'].removeprefix('Value error, ')}")
    return "\n".join(
        [
            "Forja did not start: these settings have values it cannot use.",
            *lines,
            f"Change them in the environment or in {REPO_ROOT / '.env'} (docs/settings.md says what each takes), then "
            "start again.",
        ]
    )


def _read() -> Settings:
    # Read at import by every Forja process (the server, its workers, each CLI command): a bad value stops it with
    # the variables named and status 2, not with a traceback.
    try:
        return Settings()
    except ValidationError as error:
        log.error("%s", unusable(error))
        raise SystemExit(2) from None


settings = _read()
