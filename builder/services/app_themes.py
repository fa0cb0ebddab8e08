"""The look of an app's sign-in pages, from the `.forja/app.json` of the files it serves (builder/app_backend/theme.py):
a published app's live release, or the version its preview runs. A release or a version never changes, so each is
read once; a preview of the project's current version is read each time (the current version moves)."""

from __future__ import annotations

from builder.app_backend.theme import THEME_PATH, Theme, logo_url, parse_theme
from builder.services.app_data import Scope
from builder.store import ProjectStore

_CACHED = 256


class AppThemes:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store
        self._themes: dict[tuple[str, str, int], Theme] = {}

    async def theme(self, project_id: str, release: int, version: int | None = None, scope: Scope = Scope.live) -> Theme:
        """The theme of the release (live) or version (preview; None: the current one), its name the project's when
        the file names none."""
        live = scope == Scope.live
        key = (project_id, "release", release) if live else (project_id, "version", version or 0)
        theme = self._themes.get(key) if key[2] else None
        if theme is None:
            if live:
                version = await self._store.release_version(project_id, release)
            theme = await self._read(project_id, version) if not live or version is not None else Theme()
            if key[2]:
                if len(self._themes) >= _CACHED:
                    self._themes.clear()
                self._themes[key] = theme
        if theme.name:
            return theme
        # The project's name is read each time: a rename shows at once, with no new release.
        return theme.model_copy(update={"name": await self._store.app_name(project_id) or "This app"})

    async def _read(self, project_id: str, version: int | None) -> Theme:
        _, manifest = await self._store.version_manifest(project_id, version)
        digest = manifest.get(THEME_PATH)
        if digest is None:
            return Theme()
        theme, logo = parse_theme((await self._store.read_blobs([digest]))[digest])
        if logo:
            found = manifest.get(logo)
            theme.logo = logo_url(logo, (await self._store.read_blobs([found]))[found] if found else None)
        return theme
