"""Who may open a preview: a share link's anyone, a project's own only a browser that has the project open.

A project's preview answers only the browsers Forja sent there (preview_runtime/access.py and gate.py): Forja's page
for it (builder/api/preview_access.py) checks the person's role in the project and sends the browser to the preview's
address with a one-time ticket, which the preview's gate swaps for a short-lived cookie of that address alone. The key
that signs them is made once and kept in the database, so every worker makes and reads the same ones.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from builder.models import LOCAL_USER_ID
from builder.services.access import AccessService, Actor
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.access import ACCESS_PATH, COOKIE, FORJA_ITSELF, AccessKeys, local_path
from preview_runtime.gate import AccessGate
from preview_runtime.runner import PreviewInfo

VERSION_PREVIEW_PREFIX = "v-"
"""Preview ids of fixed-version previews (share links) start with this, so a restarted Forja takes them back as such.
They are public; every other preview is private (see private)."""

ACCESS_KEY_SETTING = "preview_access_key"


def private(preview_id: str) -> bool:
    """Whether a preview answers only the browsers Forja sent to it (a project's own) or anyone (a share link's)."""
    return not preview_id.startswith(VERSION_PREVIEW_PREFIX)


def open_path(preview_id: str) -> str:
    """Forja's page that opens a project's preview for the person asking (builder/api/preview_access.py)."""
    return f"/previews/{preview_id}/open"


class PreviewAccess:
    def __init__(self, store: ProjectStore, access: AccessService) -> None:
        self._store = store
        self._access = access
        self._keys: AccessKeys | None = None

    async def keys(self) -> AccessKeys:
        """The keys of tickets and cookies: one for every worker, made by the first that asks."""
        if self._keys is None:
            stored = await self._store.setting_once(ACCESS_KEY_SETTING, secrets.token_hex(32))
            self._keys = AccessKeys(bytes.fromhex(stored))
        return self._keys

    async def gate(self) -> AccessGate:
        """The gate of this worker's preview proxy; a browser without its cookie is sent to Forja's page for the
        preview, on FORJA_PUBLIC_URL (else FORJA_HOST:FORJA_PORT)."""
        return AccessGate(await self.keys(), settings.base_url, VERSION_PREVIEW_PREFIX, renew=self.may_keep)

    async def ticket_url(self, info: PreviewInfo, user_id: str, path: str = "/") -> str:
        """The preview's address with a one-time ticket for this person (the caller checked their role), going on to
        `path` there."""
        ticket = (await self.keys()).ticket(info.preview_id, info.project_id, user_id)
        return f"{info.url}{ACCESS_PATH}?{urlencode({'ticket': ticket, 'path': local_path(path)})}"

    async def own_cookie(self, info: PreviewInfo) -> str:
        """The Cookie header of Forja's own requests to a preview (probes, the checking browser): "" for a public one."""
        if not private(info.preview_id):
            return ""
        return f"{COOKIE}={(await self.keys()).cookie(info.preview_id, info.project_id, FORJA_ITSELF)}"

    async def may_keep(self, project_id: str, user_id: str) -> bool:
        """Whether the person may still open the project's preview (the gate asks before it renews their cookie): their
        account works and they still have a role in the project."""
        if user_id == FORJA_ITSELF:
            return False
        if settings.auth_mode != "password":
            return user_id == LOCAL_USER_ID
        user = await self._store.user(user_id)
        if user is None or user.disabled_at is not None:
            return False
        return await self._access.role(Actor(user.id, user.email, user.name, user.role), project_id) is not None
