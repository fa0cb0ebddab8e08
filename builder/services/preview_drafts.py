"""A draft in the project's running preview: files not saved as a version yet, and commands run beside them.

Agent mode edits a draft of the project, and its commands and page loads must see it: the draft's files go into the
preview's working copy (its dev server reloads), the commands run there, and what a command changed comes back. When
the run ends without saving (stopped, failed, rejected) the working copy is put back to the current version. Through
any worker: the one that runs the preview does it (as for the preview's own checks).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from builder.services.preview_hub import CALL_TIMEOUT_S, PreviewHub, project_key
from builder.services.preview_runners import running_copy
from builder.store import ProjectStore
from preview_runtime.runner import CommandOutcome


def _encoded(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}


def _decoded(files: Mapping[str, str]) -> dict[str, bytes]:
    return {path: base64.b64decode(text) for path, text in files.items()}


class PreviewDrafts:
    def __init__(self, store: ProjectStore, hub: PreviewHub) -> None:
        self._store = store
        self._hub = hub
        hub.handle("draft.push", self._push_asked)
        hub.handle("draft.command", self._command_asked)

    async def push(self, project_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        """The draft's changed and deleted files into the running preview's working copy (no version is made)."""
        if not changed and not deleted:
            return
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            asked = {"project_id": project_id, "changed": _encoded(changed), "deleted": deleted}
            await self._hub.call(entry, "draft.push", asked)
            return
        places = await self._hub.registry.selecting(project_id)
        await self._hub.push_files(key, running_copy(changed, places=places), deleted, own=True)

    async def _push_asked(self, arguments: dict[str, Any]) -> None:
        await self.push(arguments["project_id"], _decoded(arguments["changed"]), list(arguments["deleted"]))

    async def restore(self, project_id: str, changed: list[str], deleted: list[str]) -> None:
        """Put the working copy back to the current version where a draft changed it: `changed` paths (new ones go)
        and `deleted` ones (they come back)."""
        tree = await self._store.read_tree(project_id)
        back = {path: tree[path] for path in [*changed, *deleted] if path in tree}
        gone = [path for path in changed if path not in tree]
        await self.push(project_id, back, gone)

    async def command(self, project_id: str, command: str, timeout_s: float) -> CommandOutcome:
        """One shell line in the running preview, within `timeout_s` (see Runner.run_command); PackagesRefused, and
        nothing run, when it names a package to install that the install gate refuses."""
        await self._hub.install_gate.check_command(command)
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            asked = {"project_id": project_id, "command": command, "timeout_s": timeout_s}
            answer = await self._hub.registry.call(entry.worker, "draft.command", asked, timeout_s + CALL_TIMEOUT_S)
            return CommandOutcome.model_validate(answer)
        return await self._hub.run_command(key, command, timeout_s)

    async def _command_asked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        outcome = await self.command(arguments["project_id"], arguments["command"], float(arguments["timeout_s"]))
        return outcome.model_dump(mode="json")
