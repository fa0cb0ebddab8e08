"""Push a project's versions to its remote, and pull the remote's commits as new versions.

Push sends the mirror's main (one commit per version, mirror.py) to the remote branch, never forced: git itself
refuses to move a branch that has commits Forja does not. Pull fetches the branch and hands its new first-parent
commits to the same checks and saves as a push to Forja (pushes.PushReceiver). When both sides moved, nothing is
changed and the answer says so in one sentence, with the two ways on: Forja's history to a new branch
(`forja/<date>`), or a merge when the two sides changed different files (git merge-tree; a file changed on both
sides refuses it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from builder.errors import ForjaError, GitExportError, InvalidInput
from builder.git.commands import git, repo_path
from builder.git.imports import shown
from builder.git.mirror import MAIN, Head, Mirror, project_lock, set_tags
from builder.git.pushes import ZERO, PushReceiver, Saved, is_ancestor
from builder.git.remote import (
    RemoteInfo,
    RemoteLink,
    check_address,
    check_branch,
    check_url,
    info_of,
    read_link,
    remote_git,
    remote_head,
    remove_link,
    write_link,
)
from builder.git.trees import PushRefused
from builder.services.access import Actor
from builder.settings import settings

log = logging.getLogger(__name__)


class BothMoved(ForjaError):
    """Forja and the remote each have commits the other does not: a push or pull would overwrite one side."""

    status = 409

    def __init__(self, message: str, branch: str) -> None:
        super().__init__(message)
        self.new_branch = branch

    def body(self) -> dict[str, object]:
        return {"detail": self.message, "both_moved": True, "new_branch": self.new_branch}


class RemoteAhead(ForjaError):
    """The remote branch has commits Forja does not, and Forja nothing new: a pull brings them, a push would drop them."""

    status = 409


class MergeRefused(ForjaError):
    """Both sides changed the same files: Forja merges only changes to different ones."""

    status = 409


class SyncResult(BaseModel):
    message: str = Field(description="What happened, in one sentence.")
    branch: str = Field(description="The remote branch pushed to or pulled from.")
    versions: list[int] = Field(default=[], description="The versions a pull saved, oldest first.")


def new_branch() -> str:
    return f"forja/{datetime.now(UTC):%Y-%m-%d}"


def count(repo: Path, span: str) -> int:
    return int(git(repo, "rev-list", "--count", "--first-parent", span).decode().strip() or 0)


def both_moved(repo: Path, link: RemoteLink, ours: str, theirs: str) -> BothMoved:
    branch = new_branch()
    ahead, behind = count(repo, f"{theirs}..{ours}"), count(repo, f"{ours}..{theirs}")
    return BothMoved(
        f"Both sides moved: {shown(link.url)} {link.branch} has {behind} commit(s) Forja does not, and Forja has "
        f"{ahead} version(s) it does not; push Forja's history to a new branch ({branch}), or merge them if they "
        "changed different files.",
        branch,
    )


def changed_files(repo: Path, base: str, commit: str) -> set[str]:
    out = git(repo, "diff", "--name-only", "-z", "--no-renames", base, commit)
    return {p for p in out.decode("utf-8", "replace").split("\0") if p}


def merge_commit(repo: Path, link: RemoteLink, ours: str, theirs: str, actor: Actor) -> str:
    """A commit merging the remote's `theirs` into Forja's `ours`, or PushRefused naming the files both changed."""
    base = git(repo, "merge-base", ours, theirs).decode().strip()
    both = changed_files(repo, base, ours) & changed_files(repo, base, theirs)
    if both:
        names = ", ".join(sorted(both)[:10]) + (" …" if len(both) > 10 else "")
        raise PushRefused(
            f"Both sides changed {names}; Forja merges only changes to different files, and changed nothing. "
            f"Push Forja's history to a new branch ({new_branch()}) and merge it in your own clone."
        )
    try:
        tree = git(repo, "merge-tree", "--write-tree", "--no-messages", ours, theirs).decode().split()[0]
    except GitExportError:
        raise PushRefused("git could not merge the two sides cleanly; Forja changed nothing.") from None
    name, email = actor.name or actor.email or "Forja", actor.email or "forja@forja.invalid"
    who = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    message = f"Merged {link.branch} of {shown(link.url)}\n".encode()
    return git(repo, "commit-tree", tree, "-p", ours, "-p", theirs, input=message, env=who).decode().strip()


class RemoteSync:
    def __init__(self, mirror: Mirror, receiver: PushReceiver) -> None:
        self._mirror = mirror
        self._receiver = receiver

    async def info(self, project_id: str) -> RemoteInfo:
        return info_of(await asyncio.to_thread(read_link, project_id))

    async def link(self, project_id: str, url: str, token: str | None, branch: str, user_id: str) -> RemoteInfo:
        """Link the project to one remote (replacing its link); without a token, one kept for the same URL stays."""
        url = check_url(url)
        if token and url.startswith("http://") and not settings.git_import_private:
            # Plain http would show the token to every network between Forja and the remote.
            raise InvalidInput("A token goes only over https://; link the https address of the repository.")
        await check_address(url)
        return await asyncio.to_thread(write_link, project_id, url, token, branch, user_id)

    async def unlink(self, project_id: str) -> None:
        await asyncio.to_thread(remove_link, project_id)

    async def push(self, project_id: str, to_branch: str | None = None) -> SyncResult:
        """The project's versions to the remote branch (the link's, or `to_branch`): a fast-forward or nothing."""
        link = read_link(project_id)
        branch = check_branch(to_branch) if to_branch else link.branch
        repo = repo_path(project_id)
        async with project_lock(project_id):
            head = await self._mirror.sync(project_id)
            if head is None:
                return SyncResult(message="The project has no version to push yet.", branch=branch)
            theirs = await asyncio.to_thread(remote_head, repo, link, branch)
            if theirs == head.commit:
                return SyncResult(message=f"{branch} of {shown(link.url)} is already at version {head.version}.", branch=branch)
            if theirs is not None and not await asyncio.to_thread(is_ancestor, repo, theirs, head.commit, {}):
                if await asyncio.to_thread(is_ancestor, repo, head.commit, theirs, {}):
                    raise RemoteAhead(f"{branch} of {shown(link.url)} has commits Forja does not have; pull them first.")
                raise await asyncio.to_thread(both_moved, repo, link.model_copy(update={"branch": branch}), head.commit, theirs)
            await asyncio.to_thread(
                remote_git, repo, link, "push", "--quiet", "--", link.url, f"{head.commit}:refs/heads/{branch}"
            )
        log.info("project %s pushed up to version %d to %s %s", project_id, head.version, shown(link.url), branch)
        return SyncResult(message=f"Pushed up to version {head.version} to {branch} of {shown(link.url)}.", branch=branch)

    async def pull(self, project_id: str, actor: Actor, merge: bool = False) -> SyncResult:
        """The remote branch's new first-parent commits as versions, checked as a push's; with `merge`, when both
        sides moved, one version merging the remote's changes (to other files only)."""
        link = read_link(project_id)
        repo = repo_path(project_id)
        saved: list[Saved] = []
        async with project_lock(project_id):
            head = await self._mirror.sync(project_id)
            theirs = await asyncio.to_thread(remote_head, repo, link, link.branch)
            said = await self._nothing_to_pull(repo, link, head, theirs)
            if said is not None:
                return SyncResult(message=said, branch=link.branch)
            assert theirs is not None
            new = theirs
            if head is not None and not await asyncio.to_thread(is_ancestor, repo, head.commit, theirs, {}):
                if not merge:
                    raise await asyncio.to_thread(both_moved, repo, link, head.commit, theirs)
                try:
                    new = await asyncio.to_thread(merge_commit, repo, link, head.commit, theirs, actor)
                except PushRefused as exc:
                    raise MergeRefused(exc.message) from None
            old = head.commit if head else ZERO
            try:
                await self._receiver.receive(project_id, actor, repo, [(old, new, MAIN)], {}, head, saved, verb="Pulled by")
            except PushRefused as exc:
                raise InvalidInput(exc.message) from None
            finally:
                if saved:
                    self._mirror.forget(project_id)
                    await asyncio.to_thread(set_tags, repo, {one.version: one.commit for one in saved})
                await self._mirror.measure(project_id)  # the fetched objects stay, taken or not
                await self._receiver.announce(project_id, saved)
        numbers = [one.version for one in saved]
        log.info("project %s pulled %d commit(s) from %s %s", project_id, len(numbers), shown(link.url), link.branch)
        return SyncResult(
            message=f"Pulled {len(numbers)} commit(s) from {link.branch} of {shown(link.url)}; the project is at "
            f"version {numbers[-1]}.",
            branch=link.branch,
            versions=numbers,
        )

    @staticmethod
    async def _nothing_to_pull(repo: Path, link: RemoteLink, head: Head | None, theirs: str | None) -> str | None:
        if theirs is None:
            return f"{shown(link.url)} has no branch {link.branch} yet: nothing to pull."
        if head is not None and await asyncio.to_thread(is_ancestor, repo, theirs, head.commit, {}):
            return f"Forja already has everything on {link.branch} of {shown(link.url)}."
        return None
