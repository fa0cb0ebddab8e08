"""One generation, from prompt to saved version.

The answer is collected in segments (a segment cut at max_tokens is continued, and only its
complete files are kept), validated file by file, and applied as ONE new version at the end:
whatever goes wrong on the way, the project is either unchanged or moved to a valid version.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from builder.attachments import Picture, vision_refusal
from builder.errors import FileTreeError, GenerationError, NotFound, ProviderError, QuotaExceeded, TransientProviderError
from builder.filetree import normalize_path, text_of
from builder.generation import prompts
from builder.generation.budget import Allowance, check_budget
from builder.generation.guard import contains_secret, redact
from builder.generation.hidden import HiddenValues
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import (
    Finished,
    Message,
    ModelRequest,
    Note,
    Provider,
    TextDelta,
    ToolDelta,
    UsageReport,
)
from builder.generation.providers.choice import get_provider
from builder.generation.schema import FileEdit, FileWrite
from builder.generation.stream_parser import FieldDone, FileStarted, FileTreeStreamParser, ItemDone
from builder.models import Author
from builder.schemas import CommitResult, ProjectDetail
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)

EventType = Literal["status", "file_started", "file_done", "summary", "usage", "saved", "verification", "step", "error", "done"]


class GenerationEvent(BaseModel):
    """What the UI, the SSE API and the CLI are told while a generation runs."""

    type: EventType
    project_id: str
    message: str = ""
    path: str | None = None
    content: str | None = Field(default=None, description="The complete file, on file_done.")
    files_done: int = 0
    title: str | None = None
    summary: str | None = None
    version: int | None = None
    usage: dict[str, Any] | None = Field(default=None, description="On done: summed over every round of the generation.")
    verification: dict[str, Any] | None = Field(
        default=None, description="On verification and done: status, problems, attempts and screenshot of the last check."
    )
    round: int = Field(default=0, description="0 for the person's request, 1, 2... for automatic repair rounds.")
    step: dict[str, Any] | None = Field(default=None, description="On step (agent mode): the step done (AgentStep).")
    generation_id: int | None = Field(
        default=None, description="Agent mode, on step and done: the run's record (to accept or reject its change)."
    )
    questions: list[dict[str, Any]] | None = Field(
        default=None,
        description="Agent mode, on done: the questions the run asked (question, options, other), to answer at "
        "/api/projects/{id}/agent/{generation_id}/answers.",
    )


class Saver(Protocol):
    """How a generation saves its version: the project service's save (log, preview and all)."""

    async def __call__(
        self,
        project_id: str,
        writes: Mapping[str, bytes | str],
        deletes: list[str] | None = None,
        message: str = "",
        author: Author = Author.user,
    ) -> CommitResult: ...


@dataclass
class _Collected:
    """The answer as assembled across segments and retries."""

    title: str = ""
    summary: str = ""
    stack: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    edits: list[FileEdit] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)

    def add_file(self, raw: dict[str, Any]) -> FileWrite | None:
        try:
            item = FileWrite.model_validate(raw)
        except (ValidationError, FileTreeError):
            self.rejected.append(str(raw.get("path", "?")))
            return None
        if contains_secret(item.content):
            item = FileWrite(path=item.path, content=redact(item.content))
            self.redacted.append(item.path)
        self.files[item.path] = item.content
        return item

    def add_edit(self, raw: dict[str, Any]) -> None:
        try:
            edit = FileEdit.model_validate(raw)
        except (ValidationError, FileTreeError):
            self.rejected.append(str(raw.get("path", "?")))
            return
        self.edits.append(FileEdit(path=edit.path, search=edit.search, replace=redact(edit.replace)))

    def merge_fields(self, raw: dict[str, Any]) -> None:
        """The complete tool input's other fields; its files and edits were taken while streaming."""
        self.title = str(raw.get("title") or self.title)
        self.summary = str(raw.get("summary") or self.summary)
        if isinstance(raw.get("stack"), list):
            self.stack = [str(s) for s in raw["stack"]]
        for path in raw.get("delete") or []:
            try:
                self.delete.append(normalize_path(str(path)))
            except (ValidationError, FileTreeError):
                self.rejected.append(str(path))

    def absorb(self, part: _Collected) -> None:
        """Add a finished segment's results; later segments win for the same path."""
        self.title = part.title or self.title
        self.summary = part.summary or self.summary
        self.stack = part.stack or self.stack
        self.files.update(part.files)
        self.edits.extend(part.edits)
        self.delete.extend(part.delete)
        self.rejected.extend(part.rejected)
        self.redacted.extend(part.redacted)


def _restored(answer: _Collected, hidden: HiddenValues) -> _Collected:
    """The answer with the app's secrets back where it wrote their placeholders (hidden.py)."""
    answer.files = {path: hidden.restore(content) for path, content in answer.files.items()}
    answer.edits = [
        FileEdit(path=e.path, search=hidden.restore(e.search), replace=hidden.restore(e.replace)) for e in answer.edits
    ]
    return answer


_FENCE = re.compile(r"(?:^|\n)(?P<before>[^\n]*)\n```(?P<info>[^\n]*)\n(?P<body>.*?)\n```", re.DOTALL)
_PATH_LIKE = re.compile(r"([\w.\-]+/)*[\w\-]+\.[A-Za-z0-9]{1,8}")


def files_from_prose(text: str) -> dict[str, str]:
    """Fenced code blocks whose info string or preceding line names a file path."""
    found: dict[str, str] = {}
    for match in _FENCE.finditer("\n" + text):
        candidates = re.findall(r"[\w./\-]+", match["info"]) + re.findall(r"[\w./\-]+", match["before"])
        path = next((c.strip("`*:'\"") for c in candidates if _PATH_LIKE.fullmatch(c.strip("`*:'\""))), None)
        if path:
            found[path] = match["body"] + "\n"
    return found


def usage_dict(provider: Provider, usage: UsageReport) -> dict[str, Any]:
    """A round's usage as its events carry it: provider, model, tokens, and the estimated cost (offline: nothing)."""
    return {
        "provider": provider.name,
        "model": provider.model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_usd": estimate_cost(provider.model, usage) if provider.name != "offline" else 0.0,
    }


def change_fingerprint(writes: Mapping[str, str], deletes: list[str]) -> str:
    """Names one change to a project: the same files written with the same content, the same deletions."""
    digest = hashlib.sha256()
    for path in sorted(writes):
        digest.update(path.encode() + b"\0" + hashlib.sha256(writes[path].encode()).digest())
    digest.update(json.dumps(sorted(deletes)).encode())
    return digest.hexdigest()


def apply_edits(tree: dict[str, str], edits: list[FileEdit]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Apply search/replace edits to text files; each search must occur exactly once.

    Returns the changed files and the failed edits; failed edits change nothing.
    """
    changed: dict[str, str] = {}
    failures: list[tuple[str, str]] = []
    for edit in edits:
        current = changed.get(edit.path, tree.get(edit.path))
        if current is None or current.count(edit.search) != 1:
            failures.append((edit.path, edit.search))
            continue
        changed[edit.path] = current.replace(edit.search, edit.replace, 1)
    return changed, failures


@dataclass
class _Segment:
    """One model answer: what arrived complete, and why it stopped."""

    part: _Collected
    tool_text: str = ""
    prose: str = ""
    stop: str = "end_turn"
    open_path: str | None = None
    # The tool input parsed as a whole; False means it ended unfinished.
    complete: bool = False


class GenerationRun:
    """Runs one prompt against one project, reporting through `emit`; `run` returns the final event unsent.

    `stale_before` goes to the store's guard (see ProjectStore.start_generation); with
    `discard_if_failed` a project that has no version yet is removed when the run fails.
    A repair round (`kind="repair"`) records `prompt` but sends the model `request`; a change
    whose fingerprint is in `seen_changes` (an earlier round's) is refused, not saved again.
    `on_file` hears each file as it completes while the answer streams.
    """

    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        save: Saver,
        project_id: str,
        prompt: str,
        emit: Callable[[GenerationEvent], None],
        provider: str | None = None,
        model: str | None = None,
        *,
        stale_before: datetime,
        discard_if_failed: bool = False,
        kind: str = "prompt",
        request: str | None = None,
        seen_changes: set[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
        round_: int = 0,
        images: list[Picture] | None = None,
        user_id: str | None = None,
        allowance: Allowance | None = None,
    ) -> None:
        self._store = store
        self._logs = logs
        self._save = save
        self.stale_before = stale_before
        self.discard_if_failed = discard_if_failed
        self.project_id = project_id
        self.prompt = prompt
        self.emit_event = emit
        self.provider_name = provider
        self.model = model
        self.kind = kind
        self.request = request
        self.seen_changes = seen_changes if seen_changes is not None else set()
        self.on_file = on_file
        self.round = round_
        self.images = images or []
        self.user_id = user_id
        self.allowance = allowance
        self.usage = UsageReport()
        self.cost: float | None = 0.0
        self.files_done = 0
        # The providers' notes already told, so a note repeated by every segment or retry is said once.
        self._noted: set[str] = set()

    def emit(self, type_: EventType, **data: Any) -> None:
        self.emit_event(GenerationEvent(type=type_, project_id=self.project_id, round=self.round, **data))

    def log(self, text: str, level: LogLevel = LogLevel.info) -> None:
        self._logs.emit(self.project_id, text, level, source="generate")

    async def _fail(self, message: str) -> GenerationEvent:
        if self.discard_if_failed:
            await self._store.discard_if_empty(self.project_id)
        return GenerationEvent(type="error", project_id=self.project_id, message=message, round=self.round)

    async def run(self) -> GenerationEvent:
        try:
            project = await self._store.get_project(self.project_id)
            provider = await get_provider(self.provider_name or project.provider or None, self.model or project.model or None)
            prompt = redact(self.prompt.strip())
            if not prompt:
                raise GenerationError("Describe what you want first: the request was empty.")
            record = await self._store.start_generation(
                self.project_id, prompt, provider.name, provider.model, self.stale_before, self.kind, self.images, self.user_id
            )
        except (GenerationError, ProviderError, NotFound) as exc:
            return await self._fail(str(exc))
        started = time.monotonic()
        self.log(f"Generating with {provider.name} ({provider.model or 'starter templates'}): {prompt[:200]}")
        self.emit("status", message="Generating..." if self.kind == "prompt" else prompt)
        try:
            async with asyncio.timeout(settings.generation_timeout_s):
                final, version_id = await self._generate(provider, project, redact(self.request or prompt))
        except asyncio.CancelledError:
            await asyncio.shield(self._record(record, provider, started, outcome="stopped", error="Stopped by the person."))
            self.log("Generation stopped by the person; nothing was saved.", LogLevel.warning)
            raise
        # A quota refuses a model request or the save (tokens today, storage): its sentence says which and what to do.
        except (GenerationError, ProviderError, FileTreeError, NotFound, QuotaExceeded, TimeoutError) as exc:
            message = (
                f"The generation took longer than {settings.generation_timeout_s:.0f} s and was stopped; nothing was saved."
                if isinstance(exc, TimeoutError)
                else str(exc)
            )
            await self._record(record, provider, started, outcome="failed", error=message)
            self.log(f"Generation failed: {message}", LogLevel.error)
            return await self._fail(message)
        except Exception:
            log.exception("generation %s crashed", record)
            message = "Generation stopped because of an internal error. Nothing was changed; try again."
            await self._record(record, provider, started, outcome="failed", error=message)
            self.log(message, LogLevel.error)
            return await self._fail(message)
        await self._record(
            record,
            provider,
            started,
            outcome="saved",
            summary=final.summary or "",
            version_id=version_id,
        )
        # Sent by the caller only once the record is final: whoever reacts to it sees the finished generation.
        return final

    async def _record(self, record: int, provider: Provider, started: float, **fields: Any) -> None:
        cost = estimate_cost(provider.model, self.usage) if provider.name != "offline" else 0.0
        self.cost = cost
        await self._store.finish_generation(
            record,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cache_read_tokens=self.usage.cache_read_tokens,
            cache_write_tokens=self.usage.cache_write_tokens,
            cost_usd=cost or 0.0,
            cost_known=cost is not None,
            duration_s=round(time.monotonic() - started, 3),
            **fields,
        )

    async def _generate(self, provider: Provider, project: ProjectDetail, prompt: str) -> tuple[GenerationEvent, int]:
        store = self._store
        follow_up = project.current_version is not None
        tree_bytes = await store.read_tree(self.project_id) if follow_up else {}
        shown: list[str] = []
        if follow_up:
            shown = prompts.relevant_files(tree_bytes, prompt, settings.followup_context_bytes)
            history = [f"{v.author.value}: {v.message}" for v in project.versions if v.message]
            first = prompts.follow_up_message(prompt, history, tree_bytes, shown)
            # The names only, so the code reads them (process.env.STRIPE_KEY); a value never reaches a model.
            if names := [row.name for row in await store.env_vars(self.project_id)]:
                first += "\n\n" + prompts.env_names_note(names)
        else:
            first = prompts.new_project_message(prompt)
        # The app's own secrets, where a file holds one, reach the model as placeholders only (hidden.py).
        hidden = await HiddenValues.of(store, self.project_id) if follow_up else HiddenValues()
        if (shown_first := hidden.hide(first)) != first:
            first = f"{shown_first}\n\n{prompts.HIDDEN_NOTE}"
        tree = {p: text for p, d in tree_bytes.items() if (text := text_of(d)) is not None}
        images = self.images
        if images:
            refusal = vision_refusal(provider.name, provider.model, provider.base_url)
            if refusal:
                images = []
                self.emit("status", message=refusal)
                self.log(refusal, LogLevel.warning)
            else:
                self.log(f"Sending {len(images)} attached picture(s) with the request.")
        request = ModelRequest(
            system=prompts.system_prompt(),
            messages=[Message("user", redact(first), images)],
            max_tokens=settings.max_output_tokens,
            prompt=prompt,
            context_paths=shown,
            tree=tree,
        )
        answer = _restored(await self._collect(provider, request), hidden)
        writes, failures = self._apply(tree, answer)
        if failures:
            self.emit(
                "status", message=f"{len(failures)} edit(s) did not match; asking the model again with the current files..."
            )
            self.log(
                f"{len(failures)} edit(s) did not match the files; retrying once with their current content.", LogLevel.warning
            )
            current = {**tree_bytes, **{p: c.encode() for p, c in writes.items()}}
            retry_request = ModelRequest(
                system=request.system,
                messages=[
                    *request.messages,
                    Message("assistant", answer.summary or "(edits)"),
                    Message("user", redact(hidden.hide(prompts.failed_edits_message(failures, current)))),
                ],
                max_tokens=request.max_tokens,
                prompt=prompt,
            )
            fix = _restored(await self._collect(provider, retry_request), hidden)
            merged = {**tree, **writes}
            more, failures = self._apply(merged, fix)
            if failures:
                paths = ", ".join(sorted({p for p, _ in failures}))
                raise GenerationError(
                    f"The change could not be applied to {paths}: the text to replace is not in the file. "
                    "Nothing was saved. Try describing the change differently, or make it in the Code tab."
                )
            writes.update(more)
            answer.delete.extend(fix.delete)
            answer.summary = answer.summary or fix.summary
        deletes = sorted({p for p in answer.delete if p in tree_bytes and p not in writes})
        notes = []
        if answer.rejected:
            notes.append(f"Skipped {len(answer.rejected)} file(s) with unsafe paths: {', '.join(answer.rejected[:5])}.")
        if answer.redacted:
            notes.append(f"Removed secrets the model wrote into {', '.join(answer.redacted[:5])}.")
        # Title and summary are stored and shown like files, so a key the model put there is removed the same way.
        answer.title = redact(answer.title)
        summary = redact(" ".join([answer.summary or "Done.", *notes]).strip())
        self.emit("summary", title=answer.title, summary=summary)
        self.emit("usage", usage=self._usage_dict(provider))
        if not writes and not deletes:
            raise GenerationError(
                "The model did not change any file. " + (" ".join(notes) if notes else "Try asking in more detail.")
            )
        fingerprint = change_fingerprint(writes, deletes)
        if fingerprint in self.seen_changes:
            raise GenerationError("The model proposed the same change as in an earlier round, so it was not applied again.")
        self.seen_changes.add(fingerprint)
        # A model restates the title on every answer, so only a new project takes it; the offline provider sends one
        # on a follow-up only when asked to rename ("call it Luna Bakery"), and then the project is renamed too.
        if answer.title and (not follow_up or provider.name == "offline"):
            await store.rename(self.project_id, answer.title)
        result = await self._save(self.project_id, writes, deletes, message=summary, author=Author.ai)
        version = result.version.number
        self.log(f"Generation saved as version {version} ({len(result.changed)} changed, {len(result.deleted)} deleted).")
        event = GenerationEvent(
            type="done",
            project_id=self.project_id,
            version=version,
            title=answer.title,
            summary=summary,
            files_done=len(result.changed),
            usage=self._usage_dict(provider),
            round=self.round,
        )
        return event, result.version.id

    def _apply(self, tree: dict[str, str], answer: _Collected) -> tuple[dict[str, str], list[tuple[str, str]]]:
        base = {**tree, **answer.files}
        edited, failures = apply_edits(base, answer.edits)
        return {**answer.files, **edited}, failures

    def _usage_dict(self, provider: Provider) -> dict[str, Any]:
        return usage_dict(provider, self.usage)

    async def _collect(self, provider: Provider, request: ModelRequest) -> _Collected:
        collected = _Collected()
        messages = list(request.messages)
        for part in range(1, settings.max_segments + 1):
            segment = await self._segment_with_retries(provider, ModelRequest(**{**request.__dict__, "messages": messages}))
            collected.absorb(segment.part)
            if segment.stop == "max_tokens":
                if part == settings.max_segments:
                    raise GenerationError(
                        f"The answer was still not finished after {part} parts (the model's output limit). "
                        "Nothing was saved. Ask for a smaller app or a smaller change."
                    )
                done = sorted(collected.files)
                self.emit("status", message=f"The answer hit the output limit; continuing (part {part + 1})...")
                self.log(f"Answer cut at max_tokens after {len(done)} complete files; continuing.", LogLevel.warning)
                messages = [
                    *messages,
                    Message("assistant", f"(Wrote {len(done)} files: {', '.join(done)}; the answer was cut off.)"),
                    Message("user", prompts.continuation_message(done, segment.open_path)),
                ]
                continue
            if segment.tool_text:
                if not segment.complete:
                    # Not cut at the output limit, yet unfinished (a refusal, a dropped stream): saving the files
                    # that did arrive would leave a half-made app.
                    raise GenerationError(
                        f"The model's answer ended before it was complete (reason: {segment.stop}), so nothing was saved. Try again."
                    )
            elif segment.prose:
                fenced = files_from_prose(segment.prose)
                if not fenced:
                    snippet = " ".join(segment.prose.split())[:240]
                    raise GenerationError(
                        f"The model answered in words instead of writing files, so nothing was saved: \u201c{snippet}\u201d"
                    )
                self.log(f"The model answered in prose; took {len(fenced)} file(s) from its code blocks.", LogLevel.warning)
                for path, content in fenced.items():
                    if (item := collected.add_file({"path": path, "content": content})) is not None:
                        self._file_done(item.path, item.content)
                collected.summary = collected.summary or "Files taken from the model's code blocks."
            elif not collected.files:
                raise GenerationError("The model returned an empty answer, so nothing was saved. Try again.")
            return collected
        raise AssertionError("unreachable")

    async def _segment_with_retries(self, provider: Provider, request: ModelRequest) -> _Segment:
        counted = self.files_done
        if provider.name != "offline":
            await check_budget(self._store, self.project_id, provider.model, request, self.usage, self.allowance)
        for attempt in range(1, settings.retry_attempts + 1):
            try:
                return await self._segment(provider, request)
            except TransientProviderError as exc:
                # The failed attempt's files are dropped: count the retried answer's files from the same start.
                self.files_done = counted
                # Nothing is applied before the end, so the whole segment can be asked for again.
                if attempt == settings.retry_attempts:
                    raise GenerationError(f"{exc} Tried {attempt} times; nothing was saved. Try again in a minute.") from exc
                delay = settings.retry_base_delay_s * 2 ** (attempt - 1)
                self.emit("status", message=f"{exc} Retrying in {delay:.0f} s...")
                self.log(f"{exc} Retrying in {delay:.1f} s (attempt {attempt + 1}).", LogLevel.warning)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _file_done(self, path: str, content: str) -> None:
        self.files_done += 1
        if self.on_file is not None:
            self.on_file(path, content)
        self.emit(
            "file_done", path=path, content=content, files_done=self.files_done, message=f"Generating... {self.files_done} files"
        )

    async def _segment(self, provider: Provider, request: ModelRequest) -> _Segment:
        segment = _Segment(part=_Collected())
        parser = FileTreeStreamParser()
        prose: list[str] = []
        async for event in provider.stream(request):
            if isinstance(event, ToolDelta):
                for parsed in parser.feed(event.partial_json):
                    if isinstance(parsed, FileStarted):
                        segment.open_path = parsed.path
                        self.emit("file_started", path=parsed.path, files_done=self.files_done)
                    elif isinstance(parsed, ItemDone) and parsed.array == "files":
                        segment.open_path = None
                        if (item := segment.part.add_file(parsed.value)) is not None:
                            self._file_done(item.path, item.content)
                    elif isinstance(parsed, ItemDone):
                        segment.part.add_edit(parsed.value)
                    elif isinstance(parsed, FieldDone) and parsed.name == "title":
                        segment.part.title = parsed.value
            elif isinstance(event, TextDelta):
                prose.append(event.text)
            elif isinstance(event, UsageReport):
                self.usage.add(event)
            elif isinstance(event, Note) and event.text not in self._noted:
                self._noted.add(event.text)
                self.emit("status", message=event.text)
                self.log(event.text, LogLevel.warning)
            elif isinstance(event, Finished):
                segment.stop = event.stop_reason
        segment.tool_text = parser.text
        segment.prose = "".join(prose)
        if segment.stop != "max_tokens" and segment.tool_text:
            try:
                raw = json.loads(segment.tool_text)
            except json.JSONDecodeError:
                raw = None
            if isinstance(raw, dict):
                segment.part.merge_fields(raw)
                segment.complete = True
        return segment
