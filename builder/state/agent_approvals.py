"""Agent mode's approvals in the follow-up box: the teams' MCP tools an admin allowed that may change things outside
Forja (builder/services/mcp_servers.py `approvable`), each a checkbox, unticked until the person ticks it. The ticked
ones go with the next run only (ConversationState._send), then are unticked again."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError
from builder.state.workspace import WorkspaceState


@dataclasses.dataclass
class ApprovalRow:
    name: str
    label: str
    description: str
    approved: bool = False


class AgentApprovalsState(WorkspaceState):
    approvals: rx.Field[list[ApprovalRow]] = rx.field(default_factory=list)

    @rx.event
    async def load(self) -> None:
        try:
            found = await (await self.allowed()).services.mcp_servers.approvable()
        except ForjaError:
            found = []
        self.approvals = [ApprovalRow(t.name, f"{t.tool} (changes things in {t.server})", t.description) for t in found]

    @rx.event
    def approve(self, name: str, on: bool) -> None:
        self.approvals = [dataclasses.replace(row, approved=on) if row.name == name else row for row in self.approvals]

    def take(self) -> frozenset[str]:
        """The approved tools, for the run about to start; unticked after it, as each run asks again."""
        approved = frozenset(row.name for row in self.approvals if row.approved)
        self.approvals = [dataclasses.replace(row, approved=False) for row in self.approvals]
        return approved
