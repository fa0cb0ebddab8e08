"""The review before publish: every check Forja knows, run over a version, its findings kept with the review.

At publish it reads what the release serves (the built files its build wrote; for a server app, the files it serves
as they are from its `static` and `public` folders). On demand it reads the newest release built from the same
version when there is one, else the project's own files, and says so in `looked_at`. A finding stays as it was found:
it is stale once the file it points at changes, and a critical one stops a publish unless the owner confirmed it (for
as long as its file stays as it was then) or publishes anyway with a reason (PublishService).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from builder.app_backend.rules import RULES_PATH
from builder.errors import InvalidInput, NotFound, PublishBlocked
from builder.filetree import is_valid_unicode
from builder.generation.hidden import app_private_values
from builder.models import FindingConfirmation, Release, Review, ReviewFinding
from builder.publish.release_files import read_manifest, releases_root
from builder.review.answers import Confirmation, FindingInfo, ReviewInfo
from builder.review.findings import Finding, Severity, ordered
from builder.review.packages import package_findings
from builder.review.rules_check import rules_findings
from builder.review.secrets import secret_findings
from builder.schemas import VersionInfo
from builder.services.review_sandbox import DoorsSandbox
from builder.store import ProjectStore, content_hash
from builder.wording import plural
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.production import NotPublishable, production_plan

log = logging.getLogger(__name__)

MAX_REASON = 500
BLOCKED = (
    "The review found {} in this version, so it was not published: the app's address still serves what it served. "
    "Fix {}, or the project's owner can publish it anyway, saying why."
)
# What an unpublished version's review reads, in words (`looked_at`).
PROJECT_FILES = "the project's files (the built page is checked when it is published)"
SITE_FILES = "the project's files its address would serve"
SERVER_FILES = "the files its server would serve from its static and public folders"
# What a server app serves as it is, by its frameworks' habits (Flask's static/, Express's public/...).
SERVED_FOLDERS = frozenset({"static", "public"})


@dataclass(frozen=True)
class Subject:
    """What a review reads."""

    tree: Mapping[str, bytes]  # the version's own files
    served: Mapping[str, bytes] | None  # what a browser reads of its release; None: not built (its own files stand in)
    private: Mapping[str, str]  # the app's private values by the words that name them (builder/review/secrets.py)
    client: httpx.AsyncClient  # to the package registries and the advisory feed (builder/review/packages.py)
    doors: Callable[[], Awaitable[list[Finding]]]  # a server app's doors, in a scratch sandbox (review_sandbox.py)


Check = Callable[[Subject], Awaitable[list[Finding]]]
# Every check a review runs, one line each.


async def _secrets(tree: Mapping[str, bytes], served: Mapping[str, bytes] | None, private: Mapping[str, str]) -> list[Finding]:
    """What a browser can read (the project's own files standing in for a page not built yet) holding a secret."""
    return await asyncio.to_thread(secret_findings, tree if served is None else served, private, served is not None)


CHECKS: tuple[Check, ...] = (
    lambda s: _secrets(s.tree, s.served, s.private),
    lambda s: asyncio.to_thread(rules_findings, s.tree.get(RULES_PATH)),
    lambda s: package_findings(s.tree, s.client),
    lambda s: s.doors(),
)


def check_reason(reason: str) -> str:
    """An owner's reason, in words: InvalidInput when there is none or it is too long."""
    reason = " ".join(reason.split())
    if not is_valid_unicode(reason):
        raise InvalidInput("The reason is not valid Unicode (it holds a lone surrogate); type it again.")
    if not reason:
        raise InvalidInput("Say in a few words why: the reason is kept with the finding or the release.")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason is {len(reason)} characters long; say it in at most {MAX_REASON}.")
    return reason


async def _none() -> list[Finding]:
    return []


class ReviewService:
    def __init__(self, store: ProjectStore, logs: LogHub, doors: DoorsSandbox | None = None) -> None:
        self._store = store
        self._logs = logs
        self._doors = doors  # starts a server app in a scratch sandbox and probes its doors
        # Doors checks started ahead of their release's gate, by (project, version): see ahead().
        self._ahead: dict[tuple[str, int], asyncio.Task[list[Finding]]] = {}
        self._client = httpx.AsyncClient(follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def review(self, project_id: str, version: int | None = None) -> ReviewInfo:
        """Review the version (default: the current one): the built files of its newest release when one was built
        from it and is kept; else what a publish of it would serve as the project has it (a plain site's files, a
        server app's static and public folders), or, for a front end still to be built, all of the project's files."""
        started = time.monotonic()
        info, manifest = await self._store.version_manifest(project_id, version)
        for release, number in await self._store.releases(project_id):
            if number == info.number and release.state in ("ready", "blocked") and _folder(release).is_dir():
                return await self.release(release)
        tree = await self._tree(manifest)
        served, looked_at = await self._unbuilt(project_id, tree)
        doors = self._doors_of(project_id, info, tree, looked_at == SERVER_FILES)
        subject = Subject(tree, served, await self._private(project_id), self._client, doors)
        return await self._run(project_id, info, manifest, subject, looked_at, started)

    async def page_secrets(self, project_id: str, tree: Mapping[str, bytes]) -> list[Finding]:
        """The secrets check alone over `tree` (the project's current files), read as `review` reads a version not
        built yet; nothing is kept (an evaluation's probe of a preview: builder/eval/probes.py)."""
        served, _ = await self._unbuilt(project_id, tree)
        return await _secrets(tree, served, await self._private(project_id))

    async def _unbuilt(self, project_id: str, tree: Mapping[str, bytes]) -> tuple[Mapping[str, bytes] | None, str]:
        """What a publish of `tree` would serve as the project has it (None: a front end still to be built, whose own
        files stand in), and those words for `looked_at`."""
        try:
            plan = production_plan(tree, await self._store.run_override(project_id))
        except NotPublishable:
            plan = None
        if plan is not None and plan.kind == "server":
            return _server_served(tree), SERVER_FILES
        if plan is not None and not plan.build:
            prefix = f"{plan.output.strip('/')}/" if plan.output.strip("/") else ""
            return {path: data for path, data in tree.items() if path.startswith(prefix)}, SITE_FILES
        return None, PROJECT_FILES

    async def release(self, release: Release) -> ReviewInfo:
        """Review a built release: what it serves (the publish gate)."""
        started = time.monotonic()
        info, manifest = await self._store.version_manifest(release.project_id, await self._version_of(release))
        tree = await self._tree(manifest)
        if release.kind == "server":
            served = _server_served(tree)
            looked_at = f"the files release {release.number} serves from its static and public folders"
        else:
            served = await asyncio.to_thread(_built_files, _folder(release))
            looked_at = f"the built files of release {release.number}"
        private = await self._private(release.project_id)
        ahead = self._ahead.pop((release.project_id, info.number), None)
        doors = (lambda: ahead) if ahead is not None else self._doors_of(release.project_id, info, tree, release.kind == "server")
        subject = Subject(tree, served, private, self._client, doors)
        return await self._run(release.project_id, info, manifest, subject, looked_at, started, release)

    def ahead(self, project_id: str, version: int, tree: Mapping[str, bytes]) -> Callable[[], Awaitable[None]]:
        """Start the doors check of a server release while its own sandbox starts (PublishService): its gate then
        waits only for what is left of it. Returns what drops it (its sandbox taken down) when the release does not
        reach its gate."""
        key = (project_id, version)
        if self._doors is not None:
            self._ahead[key] = asyncio.create_task(self._doors.findings(project_id, version, tree), name=f"doors-{project_id}")

        async def drop() -> None:
            if (task := self._ahead.pop(key, None)) is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

        return drop

    async def gate(self, release: Release, reason: str) -> ReviewInfo:
        """Review a built release before it goes live: PublishBlocked (the release marked blocked) on critical findings
        not confirmed, unless `reason` (its owner's, checked by the caller) says why it goes live all the same: then the
        reason is kept with the release."""
        review = await self.release(release)
        assert release.id is not None
        if review.blocking and not reason:
            message = BLOCKED.format(plural(review.blocking, "critical problem"), "it" if review.blocking == 1 else "them")
            await self._store.set_release_state(release.id, "blocked", error=message)
            self._logs.emit(release.project_id, f"Not published: {message}", LogLevel.warning, "publish")
            raise PublishBlocked(message, release.number, review.model_dump(mode="json"))
        if review.blocking:
            await self._store.set_release_state(release.id, "ready", override_reason=reason)
            self._logs.emit(
                release.project_id,
                f"Published despite {plural(review.blocking, 'critical problem')} the review found, because: {reason}",
                LogLevel.warning,
                "publish",
            )
        return review

    async def latest(self, project_id: str) -> ReviewInfo | None:
        """The project's newest review, its findings marked stale or confirmed as things are now."""
        await self._store.get_project(project_id)
        kept = await self._store.latest_review(project_id)
        if kept is None:
            return None
        review, number, rows = kept
        return await self._info(review, number, rows)

    async def confirm(self, project_id: str, fingerprint: str, reason: str, user_id: str | None) -> ReviewInfo:
        """Keep the owner's word that a finding of the newest review is meant: it stops no publish while its file is
        as it was. NotFound for a finding that review does not have; InvalidInput for a stale one or a bad reason."""
        reason = check_reason(reason)
        await self._store.get_project(project_id)
        kept = await self._store.latest_review(project_id)
        row = next((row for row in kept[2] if row.fingerprint == fingerprint), None) if kept is not None else None
        if kept is None or row is None:
            raise NotFound("The latest review of this project has no such finding; review again to see what it finds now.")
        current, manifest = await self._store.version_manifest(project_id)
        if _stale(row, manifest, current.number != kept[1]):
            raise InvalidInput("The file of that finding changed since the review: review again, then confirm what it finds.")
        await self._store.confirm_finding(project_id, fingerprint, row.digest, reason, user_id)
        log.info("finding %s of %s confirmed", fingerprint, project_id)
        return await self._info(*kept)

    def _doors_of(
        self, project_id: str, info: VersionInfo, tree: Mapping[str, bytes], server: bool
    ) -> Callable[[], Awaitable[list[Finding]]]:
        """A server app's doors check, in a scratch sandbox of the version; nothing for any other app."""
        if not server or self._doors is None:
            return _none
        return partial(self._doors.findings, project_id, info.number, tree)

    async def _version_of(self, release: Release) -> int:
        number = await self._store.release_version(release.project_id, release.number)
        assert number is not None
        return number

    async def _tree(self, manifest: dict[str, str]) -> dict[str, bytes]:
        blobs = await self._store.read_blobs(manifest.values())
        return {path: blobs[digest] for path, digest in manifest.items()}

    async def _private(self, project_id: str) -> dict[str, str]:
        return await app_private_values(self._store, project_id)

    async def _run(
        self,
        project_id: str,
        info: VersionInfo,
        manifest: dict[str, str],
        subject: Subject,
        looked_at: str,
        started: float,
        release: Release | None = None,
    ) -> ReviewInfo:
        """Run every check; keep the review (timed from `started`, its reading of the files included) and its findings."""
        found = [finding for findings in await asyncio.gather(*(check(subject) for check in CHECKS)) for finding in findings]
        unique = list({finding.fingerprint: finding for finding in reversed(ordered(found))}.values())
        rows = [_row(finding, manifest, subject.served) for finding in ordered(unique)]
        review = Review(
            project_id=project_id,
            version_id=info.id,
            release_id=release.id if release is not None else None,
            looked_at=looked_at,
            duration_s=time.monotonic() - started,
        )
        review = await self._store.add_review(review, rows)
        log.info(
            "reviewed version %s of %s (%s) in %.2f s: %d findings",
            info.number,
            project_id,
            looked_at,
            review.duration_s,
            len(rows),
        )
        return await self._info(review, info.number, rows, release.number if release is not None else None)

    async def latest_of(self, project_ids: list[str]) -> dict[str, ReviewInfo]:
        """What latest answers, for each of these projects that has a review, in a few queries however many there are
        (the admin page's apps live with open findings). Without `release`: what that needs, it does not."""
        kept = await self._store.latest_reviews(project_ids)
        found = [project_id for project_id, (_, _, rows) in kept.items() if rows]
        manifests = await self._store.current_manifests(found)
        confirmations = await self._store.confirmations_of(found)
        return {
            project_id: _review_info(
                review, number, rows, manifests.get(project_id, (number, {})), confirmations.get(project_id, {})
            )
            for project_id, (review, number, rows) in kept.items()
        }

    async def _info(self, review: Review, number: int, rows: list[ReviewFinding], release: int | None = None) -> ReviewInfo:
        current, manifest = await self._store.version_manifest(review.project_id)
        confirmations = await self._store.confirmations(review.project_id)
        if release is None and review.release_id is not None:
            release = next(
                (r.number for r, _ in await self._store.releases(review.project_id) if r.id == review.release_id), None
            )
        return _review_info(review, number, rows, (current.number, manifest), confirmations, release)


def _review_info(
    review: Review,
    number: int,
    rows: list[ReviewFinding],
    current: tuple[int, dict[str, str]],
    confirmations: Mapping[str, FindingConfirmation],
    release: int | None = None,
) -> ReviewInfo:
    """The review as things are now: `current` is the project's current version's number and manifest."""
    findings = [
        _finding_info(row, confirmations.get(row.fingerprint), _stale(row, current[1], current[0] != number)) for row in rows
    ]
    return ReviewInfo(
        project_id=review.project_id,
        version=number,
        release=release,
        looked_at=review.looked_at,
        duration_s=round(review.duration_s, 3),
        created_at=review.created_at.isoformat(),
        findings=findings,
        blocking=sum(finding.blocks for finding in findings),
    )


def _folder(release: Release) -> Path:
    return releases_root() / release.project_id / str(release.id)


def _server_served(tree: Mapping[str, bytes]) -> dict[str, bytes]:
    """What a server app serves as the project has it: the files of its folders named static or public."""
    return {path: data for path, data in tree.items() if SERVED_FOLDERS.intersection(path.split("/")[:-1])}


def _built_files(folder: Path) -> dict[str, bytes]:
    """A release's files as its address serves them (its manifest's; not their compressed forms). Blocking."""
    return {path: (folder / path).read_bytes() for path in read_manifest(folder).files}


def _row(finding: Finding, manifest: dict[str, str], served: Mapping[str, bytes] | None) -> ReviewFinding:
    """The finding as kept, with the digest of the file it points at: the version's own file (in_project), or a built
    one the version has no copy of."""
    digest, in_project = "", False
    if served is not None and finding.file in served:
        digest = content_hash(served[finding.file])
        in_project = manifest.get(finding.file) == digest
    elif finding.file in manifest:
        digest, in_project = manifest[finding.file], True
    return ReviewFinding(
        review_id=0,
        fingerprint=finding.fingerprint,
        check=finding.check,
        kind=finding.kind,
        severity=finding.severity.value,
        message=finding.message,
        file=finding.file,
        line=finding.line,
        request=finding.request,
        fix=finding.fix,
        digest=digest,
        in_project=in_project,
    )


def _stale(row: ReviewFinding, manifest: dict[str, str], other_version: bool) -> bool:
    """A finding in a file of the project is stale once the current version's file differs; one in a built file (or
    shown by a request), once the current version is another (the page is built from other files)."""
    return manifest.get(row.file) != row.digest if row.in_project else other_version


def _finding_info(row: ReviewFinding, confirmation: FindingConfirmation | None, stale: bool) -> FindingInfo:
    finding = Finding(
        check=row.check,
        kind=row.kind,
        severity=Severity(row.severity),
        message=row.message,
        file=row.file,
        line=row.line,
        request=row.request,
        fix=row.fix,
    )
    confirmed = None
    if confirmation is not None and confirmation.digest == row.digest:
        confirmed = Confirmation(reason=confirmation.reason, user_id=confirmation.user_id, at=confirmation.created_at.isoformat())
    return FindingInfo(finding=finding, fingerprint=row.fingerprint, stale=stale, confirmed=confirmed)
