"""Co-editing: each text file of a project is a Yjs room whose shared document (the `Y.Text` named `content`) is the
file's working copy, for everyone who has the project open, on any worker.

A room starts from the current version's file, or from the updates kept in the database since (so a restart loses
nothing, and another worker opening it gets the same document). Every update a client sends is kept, relayed to the
other workers (builder/cluster/collab.py), and its sender noted as an author; Save makes one version of the rooms that
differ from the current version, naming them. A version made elsewhere (a generation, a restore, an API save) comes
into the room as an edit of the server's; unsaved typing it would overwrite is kept beside it in the room's `forja` map
as a conflict, which the page offers to resolve (keep mine / take theirs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pycrdt import Channel, Doc, Map, Text, TransactionEvent, YMessageType, YSyncMessageType
from pycrdt.websocket import YRoom

from builder.cluster.collab import LocalRelay, Relayed
from builder.errors import InvalidInput, LimitReached, NotFound
from builder.filetree import normalize_path, text_of
from builder.schemas import CommitResult
from builder.services.access import Actor, Permission
from builder.services.cursors import BadCursor, Claims, PeerCursor, check_relayed, cursor_user
from builder.settings import settings
from builder.store import ProjectStore

if TYPE_CHECKING:
    from builder.services.projects import ProjectService

log = logging.getLogger(__name__)

CONTENT = "content"
META = "forja"
# Who changed a room's document: a client's person (their user id), or these.
SERVER = ""  # Forja itself: a room's first text, a generation or restore coming in
REMOTE = "\0remote"  # another worker's room (it kept and relayed the update already)


def initial_update(text: str, version: int) -> bytes:
    """The update that gives a new room its text. The same for the same version and text on every worker (its client
    id is the version's), so two workers opening one room at once add the same items, not the text twice."""
    doc = Doc(client_id=version + 1)
    doc[CONTENT] = Text(text)
    return doc.get_update()


def content_of(doc: Doc) -> str:
    return str(doc.get(CONTENT, type=Text))


def replace_text(doc: Doc, new: str) -> None:
    """Make the document's text `new` with the smallest edit (the common start and end stay), so the others' cursors
    outside the changed part stay where they were."""
    text = doc.get(CONTENT, type=Text)
    old = str(text)
    if old == new:
        return
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
        end += 1
    with doc.transaction():
        if len(old) - end > start:
            del text[start : len(old) - end]
        if len(new) - end > start:
            text.insert(start, new[start : len(new) - end])


def is_change(message: bytes) -> bool:
    """Whether a client's message would change the document (a sync step 2 or an update)."""
    return (
        len(message) > 1
        and message[0] == YMessageType.SYNC
        and message[1] in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE)
    )


@dataclass(eq=False)
class Room:
    """A shared document open on this worker, with the YRoom that serves it to this worker's clients."""

    project_id: str
    path: str
    yroom: YRoom
    task: asyncio.Task[None]
    users: int = 0
    # Who the update being applied comes from: set just before a client's message is handled (the handling is
    # synchronous, so nothing else runs between), read by the document's observer.
    source: str = SERVER
    outbox: asyncio.Queue[tuple[bytes, str]] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None
    # Who speaks for each cursor (Yjs client id) in the room: nobody speaks for another person's.
    claims: Claims = field(default_factory=Claims)

    @property
    def doc(self) -> Doc:
        return self.yroom.ydoc

    def apply(self, update: bytes, source: str) -> None:
        self.source = source
        try:
            self.doc.apply_update(update)
        finally:
            self.source = SERVER


class PeerChannel(Channel):
    """One client's websocket as the YRoom sees it: a viewer's changes are dropped (they follow read-only), an editor's
    are marked as theirs, and cursors (awareness) are checked and given the person's own name and colour
    (builder.services.cursors) before the room and the other workers relay them; one that fails is dropped."""

    def __init__(
        self,
        room: Room,
        actor: Actor,
        read_only: bool,
        receive: Callable[[], Awaitable[bytes | None]],
        send: Callable[[bytes], Awaitable[None]],
        relay: Callable[[Relayed], Awaitable[None]],
    ) -> None:
        self._room, self._actor, self._read_only = room, actor, read_only
        self._receive, self._send, self._relay = receive, send, relay
        self.cursor = PeerCursor(room.claims, actor.user_id, cursor_user(actor))
        self._warned = False

    @property
    def path(self) -> str:
        return f"{self._room.project_id}/{self._room.path}"

    async def send(self, message: bytes) -> None:
        try:
            await self._send(message)
        except Exception:  # a client that went away; its receive ends the serving
            log.debug("could not send to a co-editing client", exc_info=True)

    async def recv(self) -> bytes:
        while True:
            message = await self._receive()
            if message is None:
                raise StopAsyncIteration
            if not message:
                continue
            if is_change(message):
                if self._read_only:
                    continue
                self._room.source = self._actor.user_id
            elif message[0] == YMessageType.AWARENESS:
                checked = self._checked(message)
                if checked is None:
                    continue
                message = checked
                await self._relay(Relayed(self._room.project_id, self._room.path, "awareness", message, self._actor.user_id))
            return message

    def _checked(self, message: bytes) -> bytes | None:
        try:
            return self.cursor.check(message)
        except BadCursor as exc:
            if not self._warned:  # once a connection: a hostile client could send thousands
                self._warned = True
                log.warning(
                    "dropped a cursor message of user %s in project %s (%s); the connection's next ones go unnoted",
                    self._actor.user_id,
                    self._room.project_id,
                    exc,
                )
            return None

    async def __anext__(self) -> bytes:
        return await self.recv()


class CollabService:
    def __init__(self, store: ProjectStore, projects: ProjectService, relay: LocalRelay | None = None) -> None:
        self._store = store
        self._projects = projects
        self._relay = relay or LocalRelay()
        self._rooms: dict[tuple[str, str], Room] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._saving: dict[str, set[str]] = {}

    async def start(self) -> None:
        await self._relay.start(self._delivered)

    async def close(self) -> None:
        for key in list(self._rooms):
            room = self._rooms.pop(key)
            await self._close_room(room)
        await self._relay.close()

    # -- joining ------------------------------------------------------------------------------

    async def serve(
        self,
        project_id: str,
        path: str,
        actor: Actor,
        role_permission: Permission,
        receive: Callable[[], Awaitable[bytes | None]],
        send: Callable[[bytes], Awaitable[None]],
    ) -> None:
        """Serve one client in the file's room until it leaves: read-only below `edit`. The caller checked the person
        may see the project; LimitReached when the project's editors are all there already."""
        path = normalize_path(path)
        read_only = role_permission < Permission.edit
        seat = None
        if not read_only:
            seat = await self._relay.take_seat(project_id, actor.user_id, settings.collab_max_editors)
            if seat is None:
                raise LimitReached(
                    f"{settings.collab_max_editors} people are already editing this project, the most it takes at once "
                    "(FORJA_COLLAB_MAX_EDITORS). Try again when one of them closes it."
                )
        try:
            room = await self._acquire(project_id, path)
            channel = PeerChannel(room, actor, read_only, receive, send, self._relay.publish)
            try:
                await room.yroom.serve(channel)
                await self._cursor_gone(room, channel)
            finally:
                await self._release(room)
        finally:
            if seat is not None:
                await self._relay.free_seat(project_id, seat)

    async def _cursor_gone(self, room: Room, channel: PeerChannel) -> None:
        """A client that left without removing its cursor (a closed tab, a lost network): the others' pages drop it
        now, not when it times out."""
        gone = channel.cursor.gone()
        if gone is None:
            return
        for client in list(room.yroom.clients):
            await client.send(gone)
        try:
            await self._relay.publish(Relayed(room.project_id, room.path, "awareness", gone, channel.cursor.owner))
        except Exception:  # Redis away: the other workers' pages drop the cursor when it times out instead
            log.warning("could not tell the other workers that a cursor in project %s went", room.project_id, exc_info=True)

    async def _acquire(self, project_id: str, path: str) -> Room:
        key = (project_id, path)
        async with self._locks.setdefault(key, asyncio.Lock()):
            room = self._rooms.get(key)
            if room is None:
                room = self._rooms[key] = await self._open(project_id, path)
            room.users += 1
            return room

    async def _release(self, room: Room) -> None:
        key = (room.project_id, room.path)
        async with self._locks.setdefault(key, asyncio.Lock()):
            room.users -= 1
            if room.users == 0 and self._rooms.get(key) is room:
                del self._rooms[key]
                await self._close_room(room)

    async def _open(self, project_id: str, path: str) -> Room:
        """The room's document from its kept updates, or from the current version's file for a first opening."""
        current = await self._file_text(project_id, path)
        updates = await self._store.collab_updates(project_id, path)
        doc = Doc()
        doc.get(CONTENT, type=Text)
        doc.get(META, type=Map)
        for update in updates:
            doc.apply_update(update)
        if not updates:
            version = (await self._store.get_project(project_id)).current_version or 0
            first = initial_update(current, version)
            doc.apply_update(first)
            await self._store.add_collab_update(project_id, path, first)
        yroom = YRoom(ready=True, ydoc=doc, log=log, exception_handler=_logged)
        room = Room(project_id, path, yroom, asyncio.create_task(yroom.start(), name=f"collab-room-{project_id}"))
        await yroom.started.wait()
        doc.observe(lambda event: self._changed(room, event))
        room.writer = asyncio.create_task(self._write(room), name=f"collab-writer-{project_id}")
        if content_of(doc) != current and not await self._store.collab_authors(project_id, [path]):
            # Nobody has unsaved typing here, yet the text is not the current version's: a version made while no
            # room was open (a CLI command on another machine). The room follows it.
            replace_text(doc, current)
        return room

    async def _close_room(self, room: Room) -> None:
        await room.outbox.join()  # everything typed is kept before the room goes
        if room.writer is not None:
            room.writer.cancel()
        try:
            await room.yroom.stop()
        except RuntimeError:  # it had stopped already
            pass
        room.task.cancel()

    async def _file_text(self, project_id: str, path: str) -> str:
        try:
            data = await self._store.read_file(project_id, path)
        except NotFound:
            raise NotFound(f"The current version of the project has no file {path!r} to edit together.") from None
        text = text_of(data)
        if text is None:
            raise InvalidInput(f"{path} is not a text file: only text files are edited together.")
        return text

    # -- updates in and out -------------------------------------------------------------------

    def _changed(self, room: Room, event: TransactionEvent) -> None:
        update = event.update
        # An empty update is two zero bytes: a client's sync step that brought nothing new.
        if room.source != REMOTE and len(update) > 2:
            room.outbox.put_nowait((update, room.source))
        room.source = SERVER

    async def _write(self, room: Room) -> None:
        """Keep each update (in order), tell the other workers, and note its author."""
        while True:
            update, author = await room.outbox.get()
            try:
                await self._store.add_collab_update(room.project_id, room.path, update)
                await self._relay.publish(Relayed(room.project_id, room.path, "update", update))
                if author:
                    await self._store.add_collab_author(room.project_id, room.path, author)
            except Exception:
                log.exception("could not keep a co-editing update of %s in project %s", room.path, room.project_id)
            finally:
                room.outbox.task_done()

    def _delivered(self, message: Relayed) -> None:
        room = self._rooms.get((message.project_id, message.path))
        if room is None:
            return
        if message.kind == "update":
            room.apply(message.data, REMOTE)
            return
        try:
            data = check_relayed(message.data, room.claims, message.sender)
        except BadCursor as exc:
            log.warning("dropped a cursor message relayed for project %s (%s)", message.project_id, exc)
            return
        for client in list(room.yroom.clients):
            asyncio.get_running_loop().create_task(client.send(data))

    # -- saving and versions made elsewhere ----------------------------------------------------

    async def text(self, project_id: str, path: str) -> str:
        """The room's text: this worker's open room, else the document its kept updates make."""
        room = self._rooms.get((project_id, path))
        if room is not None:
            return content_of(room.doc)
        doc = Doc()
        for update in await self._store.collab_updates(project_id, path):
            doc.apply_update(update)
        return content_of(doc)

    async def unsaved(self, project_id: str) -> dict[str, str]:
        """The rooms whose text differs from the current version's file, by path."""
        changed: dict[str, str] = {}
        for path in await self._store.collab_paths(project_id):
            try:
                current = await self._file_text(project_id, path)
            except (NotFound, InvalidInput):
                continue  # the file went, or became bytes, in a later version
            text = await self.text(project_id, path)
            if text != current:
                changed[path] = text
        return changed

    async def authors(self, project_id: str, paths: list[str]) -> set[str]:
        """Who changed these rooms since they were last saved (user ids)."""
        return await self._store.collab_authors(project_id, paths)

    async def save(self, project_id: str, saver: Actor, drafts: Mapping[str, bytes | str] | None = None) -> CommitResult:
        """One version of the project's working copy: every room that differs from the current version, and `drafts`
        (files the saver changed outside a room). It names everyone whose changes it holds: who typed in those rooms,
        and the saver for their own drafts (the saver alone when nobody else did)."""
        rooms = await self.unsaved(project_id)
        # A room is the file's working copy: a page's draft of it may be older than the room (it is the room's text
        # as that page last saw it), so it never wins over the room.
        shared = set(await self._store.collab_paths(project_id))
        own = {p: c for p, c in (drafts or {}).items() if p not in shared}
        authors = await self._store.collab_authors(project_id, list(rooms))
        if own:
            authors.add(saver.user_id)
        self._saving.setdefault(project_id, set()).update(rooms)
        try:
            result = await self._projects.save(project_id, {**own, **rooms}, user_id=saver.user_id)
        finally:
            self._saving[project_id] -= set(rooms)
        if result.changed:
            await self._store.set_version_authors(result.version.id, authors or {saver.user_id})
        await self._store.clear_collab_authors(project_id, [p for p in result.changed if p in rooms])
        for path in [p for p in result.changed if p in rooms]:
            updates = await self._store.collab_updates(project_id, path)
            if len(updates) > 1:
                doc = Doc()
                for update in updates:
                    doc.apply_update(update)
                await self._store.compact_collab_updates(project_id, path, len(updates), doc.get_update())
        return result

    async def on_commit(self, project_id: str, result: CommitResult) -> None:
        """A new version came from elsewhere: each room of a file it changed takes the new text as a remote edit; text
        typed there and not saved goes beside it as a conflict, never dropped."""
        # The rooms a Save is making this version of have it already (and may hold typing newer than it).
        touched = (set(result.changed) | set(result.deleted)) - self._saving.get(project_id, set())
        for path in [p for p in await self._store.collab_paths(project_id) if p in touched]:
            try:
                await self._bring(project_id, path, result)
            except Exception:
                log.exception("could not bring version %s of %s into its room", result.version.number, path)

    async def _bring(self, project_id: str, path: str, result: CommitResult) -> None:
        new = "" if path in result.deleted else await self._file_text(project_id, path)
        parent = result.version.parent_number
        old = text_of(await self._store.read_file(project_id, path, parent)) if parent else None
        room = await self._acquire(project_id, path)
        try:
            mine = content_of(room.doc)
            if mine == new:
                return
            # Text that is not the version this one replaces is someone's typing, kept (its author may not be noted
            # yet: the update that brought it may still be on its way to the database).
            unsaved = mine != old
            with room.doc.transaction():
                if unsaved:
                    meta = room.doc.get(META, type=Map)
                    meta["conflict"] = mine
                    meta["conflict_version"] = result.version.number
                replace_text(room.doc, new)
            if not unsaved:
                await self._store.clear_collab_authors(project_id, [path])
        finally:
            await self._release(room)


def _logged(exception: Exception, logger: logging.Logger) -> bool:
    logger.error("co-editing room failed", exc_info=exception)
    return True
