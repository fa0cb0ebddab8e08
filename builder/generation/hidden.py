"""An app's own secrets kept from the model: each shown to it as a placeholder that names it, and put back where the
model's answer writes that placeholder.

Forja's keys are removed from all a model sees and writes (guard.py). An app's private variables and its databases'
passwords are secrets too, of the person who made the app, and they reach a file more often than anyone means to
(pasted in "because the Environment dialog did not work"). A follow-up sends the model the app's files, so such a
value would reach the model's provider. Here each is replaced by `[hidden: the value of NAME]` in what the model is
sent, and the same words in what it answers (an edit's search and replacement, a file it writes) become the value
again: an edit of a line that holds one still matches, and a line it keeps keeps its value, so the app loses nothing.
The values are those the review looks for in served files (app_secrets.private_values), longest first, so a value
holding another is hidden whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from builder.app_secrets import PUBLIC_PREFIXES, decrypt, private_values
from builder.filetree import text_of
from builder.store import ProjectStore

DATABASE_SCOPES = ("live", "preview")


async def app_private_values(store: ProjectStore, project_id: str) -> dict[str, str]:
    """The app's private values by the words that name them: its private variables and its databases' passwords."""
    env = {row.name: decrypt(row.value) for row in await store.env_vars(project_id)}
    passwords = {}
    for scope in DATABASE_SCOPES:
        if (database := await store.app_database(project_id, scope)) is not None:
            passwords[scope] = decrypt(database.password)
    return private_values(env, PUBLIC_PREFIXES, passwords)


def placeholder(words: str) -> str:
    return f"[hidden: {words}]"


class HiddenValues:
    """Hides an app's private values from a model's requests and puts them back into its answers."""

    def __init__(self, private: Mapping[str, str] | None = None) -> None:
        pairs = sorted((private or {}).items(), key=lambda item: len(item[1]), reverse=True)
        self._pairs = [(value, placeholder(words)) for words, value in pairs]

    @classmethod
    async def of(cls, store: ProjectStore, project_id: str) -> HiddenValues:
        return cls(await app_private_values(store, project_id))

    def hide(self, text: str) -> str:
        for value, shown in self._pairs:
            if value in text:
                text = text.replace(value, shown)
        return text

    def hide_tree(self, tree: Mapping[str, bytes]) -> dict[str, bytes]:
        """The project's files as a model may read them: its text files with the values hidden."""
        if not self._pairs:
            return dict(tree)
        return {path: self.hide(text).encode() if (text := text_of(data)) is not None else data for path, data in tree.items()}

    def holds(self, text: str) -> bool:
        """Whether `text` holds one of the values."""
        return any(value in text for value, _ in self._pairs)

    def restore(self, text: str) -> str:
        for value, shown in self._pairs:
            if shown in text:
                text = text.replace(shown, value)
        return text
