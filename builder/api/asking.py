"""HTTP route for Ask mode: a question about a project, answered from its files with the places it relies on.

An editor may ask (an answer spends the project's model budget, as a follow-up does); nothing in the project changes.
"""

from __future__ import annotations

from fastapi import APIRouter

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor
from builder.api.plans import Provider
from builder.composition import get_services
from builder.schemas import Prompt, RequestBody
from builder.services.asking import AskAnswer

router = APIRouter(route_class=CheckedRoute)


class AskRequest(RequestBody):
    question: Prompt
    provider: str | None = Provider
    model: str | None = None


@router.post("/api/projects/{project_id}/ask", tags=["generations"])
async def ask_project(project_id: str, body: AskRequest, actor: Editor) -> AskAnswer:
    """Answer a question about the project from its current version's files: the answer in plain words and its
    `references` (file and line). No version is made and no file changes; the question and answer join the
    conversation. 422 for an empty question or a project with no version yet."""
    services = await get_services()
    return await services.asking.ask(project_id, body.question, provider=body.provider, model=body.model, user_id=actor.user_id)
