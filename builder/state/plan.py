"""Plan and Ask modes in the workspace: the project's proposed plan, edited in place, revised in words, and built
(after the planner's own questions, if it asked any, were answered); and questions about the project, answered from
its files.

The follow-up box's mode sends its text here: Build (the usual generation), Plan first (a plan for the change is
proposed instead of a build), Ask (an answer with the places it relies on; nothing changes), Add check (a
generation that writes the acceptance check described, and makes the app pass it) or Agent (a generation in steps
with tools: builder/services/agent_run.py).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError
from builder.generation.planning import add_check_message
from builder.generation.who_connects import HOW_TO_CONNECT, for_reader
from builder.services.access import Permission
from builder.services.plans import PlanEdit, PlanInfo
from builder.state.agent_approvals import AgentApprovalsState
from builder.state.conversation import ConversationState
from builder.state.editor import EditorState
from builder.state.views import AskedQuestion, ChatEntry, answer_entry, asked_question, plan_request
from builder.state.workspace import Loaded, WorkspaceState

ADD_CHECK_OFFLINE = (
    "Adding a check in words needs a model, which writes its steps (offline starters carry only their own checks). "
    f"Write the check as a file in .forja/checks/ in the Code tab, or {HOW_TO_CONNECT}."
)


AGENT_OFFLINE = (
    "Agent mode needs a model that can use tools (read, edit, run the tests, open the page); offline starters "
    f"cannot. Use Build for offline changes, or {HOW_TO_CONNECT}."
)


NEEDS_MODEL = {"agent": AGENT_OFFLINE, "check": ADD_CHECK_OFFLINE}


class PlanState(WorkspaceState):
    # The project's plan that waits to be built; empty when there is none.
    plan_id: rx.Field[str] = rx.field("")
    title: rx.Field[str] = rx.field("")
    summary: rx.Field[str] = rx.field("")
    pages: rx.Field[str] = rx.field("")
    data: rx.Field[str] = rx.field("")
    checks: rx.Field[list[str]] = rx.field(default_factory=list)
    # The planner's questions while they wait for answers (the plan is drafted once they are answered); empty otherwise.
    asking: rx.Field[list[AskedQuestion]] = rx.field(default_factory=list)
    # "You told us": the questions the plan was drafted with, each with its answer (as `chosen`).
    told: rx.Field[list[AskedQuestion]] = rx.field(default_factory=list)
    new_check: rx.Field[str] = rx.field("")
    revision: rx.Field[str] = rx.field("")
    provider: rx.Field[str] = rx.field("")
    busy: rx.Field[str] = rx.field("")  # what runs now: "plan", "revise", "build", "ask"; empty when idle
    mode: rx.Field[str] = rx.field("build")  # the follow-up box's: "build", "plan", "ask", "check" or "agent"
    note: rx.Field[str] = rx.field("")
    # When the shown plan was last changed: a refresh keeps the person's unsaved typing unless the plan changed.
    _seen: str = ""

    @rx.var
    def note_words(self) -> str:
        """The note as this person can act on it (who_connects.py)."""
        return for_reader(self.note, self.admin)

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:
            self.mode = "build"
            self.revision = self.new_check = self.note = ""
        plans = await loaded.services.plans.of_project(loaded.project.id)
        waiting = next((p for p in reversed(plans) if p.status in ("proposed", "asking")), None)
        if waiting is None:
            self.plan_id = ""
        elif waiting.id != self.plan_id or waiting.updated_at.isoformat() != self._seen:
            self._take(waiting)

    def _take(self, plan: PlanInfo) -> None:
        self.plan_id = plan.id
        self.title, self.summary, self.pages, self.data = plan.title, plan.summary, plan.pages, plan.data
        self.checks = [check.text for check in plan.checks]
        asked = [asked_question(q.question, q.options, q.other, q.answer) for q in plan.questions]
        self.asking = asked if plan.status == "asking" else []
        self.told = [] if plan.status == "asking" else [q for q in asked if q.chosen]
        self.provider = plan.provider
        self._seen = plan.updated_at.isoformat()

    @rx.event
    async def set_mode(self, value: str | list[str]):
        """Take the mode; one that needs a model, with only the offline starters, says so now instead of after the
        request is typed and sent (its item is marked unavailable, which Radix's segmented control cannot do)."""
        if value not in ("build", "plan", "ask", "check", "agent"):
            return
        if value in NEEDS_MODEL and (await self.get_state(ConversationState)).provider == "offline":
            self.error = NEEDS_MODEL[value]
            return
        self.mode, self.error = str(value), ""
        if value == "agent":
            return AgentApprovalsState.load

    @rx.event
    def set_part(self, part: str, text: str) -> None:
        if part in ("title", "summary", "pages", "data"):
            setattr(self, part, text)

    @rx.event
    def set_check(self, index: int, text: str) -> None:
        if 0 <= index < len(self.checks):
            self.checks = [text if i == index else c for i, c in enumerate(self.checks)]

    @rx.event
    async def move_check(self, index: int, step: int):
        target = index + step
        if 0 <= index < len(self.checks) and 0 <= target < len(self.checks):
            checks = list(self.checks)
            checks[index], checks[target] = checks[target], checks[index]
            self.checks = checks
            await self._save()

    @rx.event
    async def delete_check(self, index: int):
        if 0 <= index < len(self.checks):
            self.checks = [c for i, c in enumerate(self.checks) if i != index]
            await self._save()

    @rx.event
    def set_new_check(self, text: str) -> None:
        self.new_check = text

    @rx.event
    async def add_check(self):
        text = self.new_check.strip()
        if text:
            self.checks = [*self.checks, text]
            self.new_check = ""
            await self._save()

    @rx.event
    def choose(self, index: int, option: str) -> None:
        """An option picked for question `index`: it is the answer, unless words of the person's own are typed."""
        self._answering(index, chosen=option)

    @rx.event
    def set_own(self, index: int, text: str) -> None:
        self._answering(index, own=text)

    def _answering(self, index: int, **change: str) -> None:
        if 0 <= index < len(self.asking):
            self.asking = [dataclasses.replace(q, **change) if i == index else q for i, q in enumerate(self.asking)]
            self.note = ""

    @rx.event
    async def answer_questions(self):
        """Continue: the answers go to the planner, which drafts the plan with them."""
        if not self.plan_id or not self.asking or self.busy:
            return
        answers = [q.own.strip() or q.chosen for q in self.asking]
        self.busy = "answer"
        yield
        try:
            allowed = await self.allowed(Permission.edit)
            provider = (await self.get_state(ConversationState)).provider
            plan = await allowed.services.plans.answer(self.plan_id, answers, provider=provider, user_id=allowed.actor.user_id)
        except ForjaError as exc:
            self.note = str(exc)
        else:
            self._take(plan)
            self.note = ""
        finally:
            self.busy = ""

    @rx.event
    def set_revision(self, text: str) -> None:
        self.revision = text

    @rx.event
    async def save(self) -> None:
        """A part's text was left (blur): keep the person's edit with the project."""
        await self._save()

    async def _save(self) -> bool:
        if not self.plan_id:
            return False
        try:
            services = (await self.allowed(Permission.edit)).services
            changes = PlanEdit(title=self.title, summary=self.summary, pages=self.pages, data=self.data, checks=self.checks)
            self._take(await services.plans.edit(self.plan_id, changes))
        except ForjaError as exc:
            self.note = str(exc)
            return False
        self.note = ""
        return True

    @rx.event
    async def revise(self):
        """Ask the model to change the plan in words."""
        ask = self.revision.strip()
        if not ask or self.busy or not await self._save():
            return
        self.busy = "revise"
        yield
        try:
            allowed = await self.allowed(Permission.edit)
            provider = (await self.get_state(ConversationState)).provider
            plan = await allowed.services.plans.revise(self.plan_id, ask, provider=provider, user_id=allowed.actor.user_id)
        except ForjaError as exc:
            self.note = str(exc)
        else:
            self._take(plan)
            self.revision = self.note = ""
        finally:
            self.busy = ""

    @rx.event
    async def submit_followup(self):
        """The follow-up box: the usual build, a plan for the change (Plan first), or an answer (Ask)."""
        if self.mode == "build":
            yield ConversationState.send_followup
            return
        conversation = await self.get_state(ConversationState)
        prompt = conversation.followup.strip()
        if not prompt or self.busy or self.generating:
            return
        if self.mode == "ask":
            self.busy = "ask"
            yield
            try:
                await self._ask(conversation, prompt)
            finally:
                self.busy = ""
            return
        if self.mode in NEEDS_MODEL and conversation.provider == "offline":
            self.error = NEEDS_MODEL[self.mode]
            return
        if self.mode == "agent":
            if await conversation._send(agent=True):
                yield ConversationState.follow_generation
            return
        if self.mode == "check":
            conversation.followup = f"Add a check: {prompt}"
            paths = (await self.get_state(EditorState)).paths
            if await conversation._send(for_model=add_check_message(prompt, paths)):
                yield ConversationState.follow_generation
            return
        self.busy = "plan"
        yield
        try:
            allowed = await self.allowed(Permission.edit)
            plan = await allowed.services.plans.propose(
                prompt, project_id=self.project_id, provider=conversation.provider, owner=allowed.actor.user_id
            )
        except ForjaError as exc:
            self.note = str(exc)
            return
        finally:
            self.busy = ""
        conversation.followup = ""
        conversation.chat = [*conversation.chat, plan_request(prompt, "now")]
        self.note = ""
        self._take(plan)

    async def _ask(self, conversation: ConversationState, question: str) -> None:
        try:
            allowed = await self.allowed(Permission.edit)
            answer = await allowed.services.asking.ask(
                self.project_id, question, provider=conversation.provider, user_id=allowed.actor.user_id
            )
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.error = ""
        conversation.followup = ""
        conversation.chat = [
            *conversation.chat,
            ChatEntry("prompt", "You", answer.question, "now", "Ask mode: a question", tone="violet"),
            answer_entry(answer.answer, answer.references, "now"),
        ]

    @rx.event
    async def build(self):
        """Build this: the normal generation, with the plan (as edited) in the model's prompt."""
        if not self.plan_id or self.busy or self.generating or not await self._save():
            return None
        conversation = await self.get_state(ConversationState)
        try:
            allowed = await self.allowed(Permission.edit)
            plan = await allowed.services.plans.build(self.plan_id, provider=conversation.provider, user_id=allowed.actor.user_id)
        except ForjaError as exc:
            self.note = str(exc)
            return None
        self.plan_id = ""
        self.note = ""
        self.generating = True
        conversation.progress = "Building the plan..."
        conversation.chat = [*conversation.chat, ChatEntry("prompt", "You", plan.prompt, "now", "Build this plan")]
        return ConversationState.follow_generation
