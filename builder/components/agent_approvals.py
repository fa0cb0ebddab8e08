"""Under Agent mode's options: the teams' tools that may change things outside Forja, each unticked until the person
allows it for the next run (builder/state/agent_approvals.py). Nothing shows when there are none."""

import reflex as rx

from builder.state.agent_approvals import AgentApprovalsState, ApprovalRow


def _approval(row: ApprovalRow) -> rx.Component:
    return rx.el.label(
        rx.checkbox(
            checked=row.approved,
            on_change=lambda on: AgentApprovalsState.approve(row.name, on),
            size="1",
            class_name="agent-approval-tick",
        ),
        rx.text(row.label, size="1"),
        title=row.description,
        class_name="agent-approval",
    )


def agent_approvals() -> rx.Component:
    return rx.cond(
        AgentApprovalsState.approvals.length() > 0,
        rx.vstack(
            rx.text("This run may use:", size="1", weight="medium"),
            rx.foreach(AgentApprovalsState.approvals, _approval),
            spacing="1",
            width="100%",
            id="agent-approvals",
        ),
    )
