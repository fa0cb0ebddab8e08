"""Who owns this Forja's data folder (FORJA_DATA_DIR), by the lock of preview_runtime/folder_lock.py, and what to say
when it is another process.

A Forja server holds its data folder for its whole life, with the address this machine reaches it at; a command that
runs previews of its own (eval, or a generation with no server) holds it for its run. Only the holder starts previews
and Traefik there, or stops a Traefik left by a holder that ended: a second server refuses to start, a person's
command beside a server goes through the server (builder.cli.command), and eval moves to a data folder, preview port
and Docker network of its own beside the held one. Commands that only touch the database (accounts, tokens, migrations) need no lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

from builder.ports import RUN_COMMAND, ports_beside
from builder.settings import settings
from preview_runtime.folder_lock import FolderLock, Holder, holder_of


def server_lock() -> FolderLock:
    """The lock a Forja server takes on its data folder, with its address."""
    return FolderLock(settings.data_dir, "server", address=settings.local_url)


def command_lock(command: str = "") -> FolderLock:
    """The lock a process that runs previews of its own takes (a command; this process's command line by default)."""
    return FolderLock(settings.data_dir, "command", command=command or " ".join(sys.orig_argv))


def other_owner() -> Holder | None:
    """The live process other than this one that holds the data folder, if one does."""
    holder = holder_of(settings.data_dir)
    return holder if holder is not None and not holder.mine else None


def _since(holder: Holder) -> str:
    return f"since {holder.started_at:%Y-%m-%d %H:%M} UTC"


def beside_folder(suffix: str) -> Path:
    """A data folder of its own for a Forja beside this one: this one's name with a suffix."""
    return settings.data_dir.with_name(f"{settings.data_dir.name}-{suffix}")


def second_server(holder: Holder) -> str:
    """Why a server cannot start on a data folder another process holds, and what to do."""
    ports = ports_beside()
    own = (
        f"FORJA_DATA_DIR={beside_folder('2')} FORJA_PORT={ports['FORJA_PORT']} FORJA_PREVIEW_PORT={ports['FORJA_PREVIEW_PORT']} "
        f"FORJA_PREVIEW_NETWORK={settings.preview_network}-2"
    )
    return (
        f"Forja cannot start: {holder.words()} already runs on the data folder {settings.data_dir} ({_since(holder)}), "
        "and two on one folder would stop each other's previews. Use that one, stop it first, or start this one with a "
        f"data folder, ports and network of its own: {own} {RUN_COMMAND}"
    )


def move_beside(holder: Holder, command: str) -> tuple[FolderLock, str]:
    """This process's run moves to a data folder, preview port and Docker network of its own beside the held folder
    (Docker's previews are known by their network: on the same one, each would take the other's for its own), whose
    lock it takes; with the sentence that says so. FolderHeld when another run holds that folder too."""
    held = settings.data_dir
    settings.preview_port = ports_beside()["FORJA_PREVIEW_PORT"]
    settings.data_dir = beside_folder("eval")
    settings.preview_network = f"{settings.preview_network}-eval"
    lock = command_lock(command)
    lock.take()
    return lock, (
        f"The data folder {held} is held by {holder.words()}, which runs its previews: this command runs in a data folder "
        f"of its own, {settings.data_dir} (its previews on port {settings.preview_port}), and keeps its results there."
    )


def both_held(holder: Holder) -> str:
    """Why a command that runs previews of its own cannot run: its data folder and the one beside it are both held."""
    return (
        f"The data folder {settings.data_dir}, where this command runs beside a busy one, is held by {holder.words()} "
        f"({_since(holder)}). Wait for it to end, or give this command a data folder, preview port and network of its "
        "own (FORJA_DATA_DIR, FORJA_PREVIEW_PORT, FORJA_PREVIEW_NETWORK)."
    )


def previews_held(holder: Holder) -> str:
    """Why this process may not run previews: another one holds the data folder."""
    return (
        f"The previews of the data folder {settings.data_dir} are run by {holder.words()}: this process starts none there, "
        "so as not to stop that one's. Work through it, or give this one a data folder and preview port of its own "
        "(FORJA_DATA_DIR, FORJA_PREVIEW_PORT)."
    )
