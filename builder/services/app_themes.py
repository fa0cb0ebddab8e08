"""The look of a published app's sign-in pages, from its live release's `.forja/app.json` (builder/app_backend/theme.py),
read once per release: a release never changes."""

from __future__ import annotations

from builder.app_backend.theme import THEME_PATH, Theme, logo_url, parse_theme
from builder.store import ProjectStore

_CACHED_RELEASES = 256


class AppThemes:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store
        self._themes: dict[tuple[str, int], Theme] = {}

    async def theme(self, project_id: str, release: int) -> Theme:
        """The release's theme, its name the project's when the file names none."""
        key = (project_id, release)
        theme = self._themes.get(key)
        if theme is None:
            theme = await self._read(project_id, release)
            if len(self._themes) >= _CACHED_RELEASES:
                self._themes.clear()
            self._themes[key] = theme
        if theme.name:
            return theme
        # The project's name is read each time: a rename shows at once, with no new release.
        return theme.model_copy(update={"name": await self._store.app_name(project_id) or "This app"})

    async def _read(self, project_id: str, release: int) -> Theme:
        version = await self._store.release_version(project_id, release)
        if version is None:
            return Theme()
        _, manifest = await self._store.version_manifest(project_id, version)
        digest = manifest.get(THEME_PATH)
        if digest is None:
            return Theme()
        theme, logo = parse_theme((await self._store.read_blobs([digest]))[digest])
        if logo:
            found = manifest.get(logo)
            theme.logo = logo_url(logo, (await self._store.read_blobs([found]))[found] if found else None)
        return theme
