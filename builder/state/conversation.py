"""The conversation: the chat, the follow-up box, the model choice and following a generation."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import get_args

import reflex as rx

from builder.errors import ForjaError
from builder.generation.engine import GenerationEvent
from builder.generation.picked import new_text_request, with_picked
from builder.generation.providers.choice import PROVIDER_LABELS, available_providers, default_provider, labelled_providers
from builder.generation.who_connects import NOT_CONNECTED
from builder.schemas import Engine
from builder.services.access import Permission
from builder.services.engine_run import model_note
from builder.state.agent_approvals import AgentApprovalsState
from builder.state.attachments import AttachmentsState
from builder.state.editor import EditorState
from builder.state.preview import PreviewPaneState
from builder.state.select import SelectState
from builder.state.views import (
    PLAN_ASKED,
    AskedQuestion,
    ChatEntry,
    ProviderOption,
    asked_question,
    asking_run,
    chat_entries,
    usage_words,
)
from builder.state.workspace import Loaded, WorkspaceState

GENERATION_BATCH_SECONDS = 0.05


class ConversationState(WorkspaceState):
    chat: rx.Field[list[ChatEntry]] = rx.field(default_factory=list)
    followup: rx.Field[str] = rx.field("")
    provider: rx.Field[str] = rx.field("offline")
    provider_options: rx.Field[list[ProviderOption]] = rx.field(default_factory=list)
    progress: rx.Field[str] = rx.field("")
    # Tokens and cost of the project's generations so far, repairs included.
    usage_line: rx.Field[str] = rx.field("")
    # Agent mode: each run's change waits for the person to accept or reject it (the project's setting).
    approve_changes: rx.Field[bool] = rx.field(False)
    # What works on the project: "forja" (its own model), or a coding agent ("opencode", "codex"), the project's
    # setting; and the sentence saying the agent cannot work with the project's model, when it cannot.
    engine: rx.Field[str] = rx.field("forja")
    engine_note: rx.Field[str] = rx.field("")
    # Agent mode: the run whose questions wait for answers (0: none), its questions as the form holds them, and what
    # was wrong with the answers sent.
    asking_run: rx.Field[int] = rx.field(0)
    agent_asking: rx.Field[list[AskedQuestion]] = rx.field(default_factory=list)
    asking_note: rx.Field[str] = rx.field("")
    _generation_token: int = 0
    # This page asked for the generation that runs (the others follow it): its avatar says "generating" to them.
    _asked: bool = False

    @rx.var
    def offline_follow_up(self) -> bool:
        """Offline starters make only plain edits, so the follow-up box suggests those."""
        return self.provider == "offline" and self.current_version > 0

    @rx.var
    def plan_request_at(self) -> int:
        """Where in the conversation the plan waiting to be built was asked for (its card shows below that request,
        and later answers below the card); -1: not in it (the card then closes the conversation)."""
        return next((i for i in range(len(self.chat) - 1, -1, -1) if self.chat[i].detail == PLAN_ASKED), -1)

    @rx.var
    def has_model(self) -> bool:
        """A model is set up (a key or a server); else only the offline starters can build."""
        return len(self.provider_options) > 1

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:
            self.followup = ""
        labelled = await labelled_providers()
        available = [name for name, _ in labelled]
        self.provider_options = [ProviderOption(name, label) for name, label in labelled]
        chosen = loaded.project.provider if loaded.project.provider in available else await default_provider()
        self.provider = chosen if chosen in available else "offline"
        services = loaded.services
        generations = await services.generations.records(loaded.project.id)
        checks = await services.verifications.records(loaded.project.id)
        names = {member.user_id: member.name or member.email for member in await services.access.members(loaded.project.id)}
        diffs = await services.agent.diffs(loaded.project.id, generations)
        self.chat = chat_entries(
            loaded.project.versions, generations, checks, names, loaded.actor.user_id, diffs, loaded.actor.is_admin
        )
        self.approve_changes = loaded.project.approve_changes
        self.engine = loaded.project.engine
        self.engine_note = await model_note(self.engine, self.provider)
        asking = asking_run(generations)
        if asking is None or asking.id != self.asking_run:
            # A new run's questions start blank; the same run's keep what the person picked or typed so far.
            self.asking_run = asking.id if asking else 0
            self.agent_asking = [asked_question(q.question, q.options, q.other) for q in asking.questions] if asking else []
            self.asking_note = ""
        self.usage_line = usage_words(await services.generations.usage(loaded.project.id))

    async def _on_open(self) -> rx.event.EventCallback[()] | None:
        """A generation still running is followed from its first event; with none running, nothing spins, even if a
        follower from before a reload never got to see the end (seen when a reload came just as the check ended)."""
        if await (await self.allowed()).services.generations.running(self.project_id):
            self.generating = True
            return ConversationState.follow_generation
        self.generating = False
        self.progress = ""
        # A generation that ended between the page's loading and this check saved its version meanwhile: show it.
        await self._refresh(self.project_id)
        return None

    @rx.event
    async def set_provider(self, provider: str) -> None:
        if provider not in await available_providers():
            self.error = NOT_CONNECTED.format(label=PROVIDER_LABELS.get(provider, provider))
            return
        services = (await self.allowed(Permission.edit)).services
        self.provider = provider
        await services.projects.set_provider(self.project_id, provider)
        self.engine_note = await model_note(self.engine, provider)

    @rx.event
    def set_followup(self, text: str) -> None:
        self.followup = text

    @rx.event
    async def send_followup(self):
        """Ask for a change (or, on an empty project, the first build) in words.

        With an element picked in the preview, the model is told which one; offline, a follow-up that only
        gives the element's new text is saved straight away, as if typed into the preview.
        """
        select = await self.get_state(SelectState)
        picked = select.picked()
        new_text = new_text_request(self.followup) if picked is not None and self.provider == "offline" else None
        if picked is not None and new_text is not None and picked.leaf and picked.text and not self.generating:
            self.followup = ""
            return await select.save_picked_text(new_text)
        if await self._send(with_picked(self.followup.strip(), picked) if picked and self.provider != "offline" else None):
            select.clear_picked()
            return ConversationState.follow_generation

    async def _send(self, for_model: str | None = None, agent: bool = False) -> bool:
        """Start a generation for the follow-up box's text (the model reads `for_model` instead when given: the
        same with more context; `agent`: in Agent mode); False, with the reason shown, when none starts."""
        prompt = self.followup.strip()
        if not prompt or self.generating:
            return False
        attachments = await self.get_state(AttachmentsState)
        try:
            allowed = await self.allowed(Permission.edit)
            images = await asyncio.to_thread(attachments.take, allowed.actor.user_id)
            approved = (await self.get_state(AgentApprovalsState)).take() if agent else frozenset()
            await allowed.services.generations.start(
                self.project_id,
                prompt,
                self.provider,
                for_model=for_model,
                images=images,
                user_id=allowed.actor.user_id,
                agent=agent,
                approved_tools=approved,
            )
        except ForjaError as exc:
            self.error = str(exc)
            return False
        attachments.clear()
        self.followup = ""
        self.error = ""
        (await self.get_state(EditorState)).notice = ""
        self.generating = True
        self._asked = True
        await self._place_changed()
        self.progress = "The agent is working..." if agent else "Generating..."
        pictures = f"With {len(images)} picture{'s' if len(images) != 1 else ''}." if images else ""
        detail = " ".join(filter(None, ["Agent mode" if agent else "", pictures]))
        self.chat = [*self.chat, ChatEntry("prompt", "You", prompt, "now", detail)]
        return True

    @rx.event
    async def set_approve_changes(self, on: bool) -> None:
        try:
            await (await self.allowed(Permission.edit)).services.agent.set_approve_changes(self.project_id, on)
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.approve_changes = on

    @rx.event
    async def set_engine(self, engine: str) -> None:
        chosen: Engine = next((known for known in get_args(Engine) if known == engine), "forja")
        try:
            await (await self.allowed(Permission.edit)).services.agent.set_engine(self.project_id, chosen)
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.engine = chosen
        self.engine_note = await model_note(chosen, self.provider)

    @rx.event(background=True)
    async def accept_change(self, run_id: int):
        """An agent run's waiting change, saved as a version, then checked as a generation's is."""
        async with self:
            if self.generating:
                return
            try:
                allowed = await self.allowed(Permission.edit)
            except ForjaError as exc:
                self.error = str(exc)
                return
            project_id = self.project_id
            self.generating, self.progress, self.error = True, "Saving the change, then checking it...", ""
        agent = allowed.services.agent
        try:
            result = await agent.accept(project_id, run_id, allowed.actor.user_id)
            async with self:
                (await self.get_state(EditorState)).notice = f"Saved as version {result.version.number}."
                await self._refresh(project_id)
            yield PreviewPaneState.reload_preview
            await agent.check_accepted(project_id)
        except ForjaError as exc:
            async with self:
                self.error = str(exc)
        finally:
            async with self:
                self.generating, self.progress = False, ""
                await self._refresh(project_id)

    @rx.event
    async def reject_change(self, run_id: int):
        """An agent run's waiting change, dropped: the preview shows the saved version again."""
        try:
            await (await self.allowed(Permission.edit)).services.agent.reject(self.project_id, run_id)
        except ForjaError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        await self._refresh(self.project_id)
        return PreviewPaneState.reload_preview

    @rx.event
    def choose_answer(self, index: int, option: str) -> None:
        """An option picked for the agent's question `index`: the answer, unless words of the person's own are typed."""
        self._answering(index, chosen=option)

    @rx.event
    def set_own_answer(self, index: int, text: str) -> None:
        self._answering(index, own=text)

    def _answering(self, index: int, **change: str) -> None:
        if 0 <= index < len(self.agent_asking):
            self.agent_asking = [dataclasses.replace(q, **change) if i == index else q for i, q in enumerate(self.agent_asking)]
            self.asking_note = ""

    @rx.event
    async def answer_agent(self):
        """Continue: the answers are kept with the run that asked, and a new agent run goes on with them."""
        if not self.asking_run or self.generating:
            return None
        answers = [q.own.strip() or q.chosen for q in self.agent_asking]
        try:
            allowed = await self.allowed(Permission.edit)
            await allowed.services.agent.answer(
                self.project_id, self.asking_run, answers, provider=self.provider, user_id=allowed.actor.user_id
            )
        except ForjaError as exc:
            self.asking_note = str(exc)
            return None
        self.asking_note = self.error = ""
        self.generating = True
        self._asked = True
        await self._place_changed()
        self.progress = "The agent goes on with your answers..."
        return ConversationState.follow_generation

    @rx.event
    async def fix_this(self):
        """A repair round for the problems the last check found (the button under that check)."""
        if self.generating:
            return None
        try:
            allowed = await self.allowed(Permission.edit)
            await allowed.services.generations.repair(self.project_id, self.provider, user_id=allowed.actor.user_id)
        except ForjaError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        self.generating = True
        self._asked = True
        await self._place_changed()
        self.progress = "Fixing the problems the check found..."
        return ConversationState.follow_generation

    @rx.event
    async def stop_generation(self) -> None:
        """Stop the running generation, its check or its repairs; a version already saved stays."""
        if await (await self.allowed(Permission.edit)).services.generations.stop(self.project_id):
            self.progress = "Stopping..."

    @rx.event(background=True)
    async def follow_generation(self):
        """Show a running generation: files join the tree as they complete, in batched updates. Also on the pages of
        everyone else with the project open (PresenceState starts it there): the prompt shows with its first event."""
        async with self:
            self._generation_token += 1
            token, project_id = self._generation_token, self.project_id
            self.generating = True
            self.progress = self.progress or "Generating..."
        hub = (await self.allowed()).services.generations
        queue: asyncio.Queue[GenerationEvent | None] = asyncio.Queue()

        async def pump() -> None:
            async for event in hub.follow(project_id):
                queue.put_nowait(event)
            queue.put_nowait(None)

        pumping = asyncio.create_task(pump())
        previewing = awaiting = False
        try:
            finished, first = False, True
            while not finished:
                batch = [await queue.get()]
                # Files often complete in bursts: one state update per burst, not per file.
                await asyncio.sleep(GENERATION_BATCH_SECONDS)
                while not queue.empty():
                    batch.append(queue.get_nowait())
                finished = any(event is None or event.type in ("done", "error") for event in batch)
                saved = any(event is not None and event.type == "saved" for event in batch)
                # An agent run's steps are kept as they go: the conversation lists each one as it is done.
                stepped = any(event is not None and event.type == "step" for event in batch)
                # A change waiting for approval is in the running preview (not saved): shown there to try.
                awaiting = awaiting or any(
                    event is not None and event.type == "done" and event.version is None and event.generation_id
                    for event in batch
                )
                async with self:
                    if self._generation_token != token or self.project_id != project_id:
                        return
                    await self._apply([e for e in batch if e is not None])
                    if saved or first or stepped:
                        # The first event comes once the prompt is recorded: a page that did not send it shows it now.
                        await self._refresh(project_id)
                first = False
                if saved and not previewing:
                    # The saved version is being run for its check: show it as it comes up.
                    previewing = True
                    yield WorkspaceState.set_tab("preview")
                    yield PreviewPaneState.start_preview
                elif saved:
                    # A repair's files are in the running preview; a page without hot reload shows them on a reload.
                    yield PreviewPaneState.reload_preview
            async with self:
                if self._generation_token != token or self.project_id != project_id:
                    return
                self.generating = False
                self.progress = ""
                self._asked = False
                await self._place_changed()
                await self._refresh(project_id)
                moved = await (await self.get_state(PreviewPaneState))._moved()
            if moved:
                yield PreviewPaneState.start_preview
            elif awaiting:
                yield PreviewPaneState.reload_preview
        finally:
            pumping.cancel()

    async def _apply(self, events: list[GenerationEvent]) -> None:
        editor = await self.get_state(EditorState)
        completed: dict[str, str] = {}
        for event in events:
            if event.type == "file_done" and event.path is not None:
                completed[event.path] = event.content or ""
                self.progress = f"Generating... {event.files_done} files \u00b7 {event.path}"
            elif event.type == "file_started" and event.path is not None:
                self.progress = f"Generating... {event.files_done} files \u00b7 writing {event.path}"
            elif event.type in ("status", "verification"):
                self.progress = event.message
            elif event.type == "step" and event.step is not None:
                self.progress = f"Step {event.step['number']}: {event.message}"
            elif event.type == "error":
                self.error = event.message
            elif event.type == "saved":
                editor.notice = f"Saved as version {event.version}."
        if completed:
            editor._add_streamed(completed)
