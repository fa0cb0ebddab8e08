"""HTTP route for direct text edits (what the preview's Select mode saves): a new version, no model call.

ForjaError answers with its status (builder.api's handler): InvalidInput and TextNotFound 422, NotFound 404.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field, model_validator

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor
from builder.composition import get_services
from builder.schemas import CommitResult, RequestBody
from builder.services.text_edits import TextChange

router = APIRouter(route_class=CheckedRoute)


class TextEditRequest(RequestBody):
    old: str = Field(min_length=1, max_length=2000, description="The element's text as the preview showed it.")
    new: str = Field(min_length=1, max_length=2000, description="The text to put in its place.")
    src: str = Field(default="", max_length=1000, description="`path:line:column` of the element's opening tag.")
    dom_path: str = Field(
        default="", max_length=2000, description="For plain HTML: `html > body:nth-of-type(1) > h1:nth-of-type(1)`."
    )
    page: str = Field(default="/", max_length=1000, description="The preview's address path the DOM path is on.")

    @model_validator(mode="after")
    def _placed(self) -> TextEditRequest:
        if not self.src and not self.dom_path:
            raise ValueError("give the element's place: src or dom_path")
        return self


@router.post("/api/projects/{project_id}/text", tags=["files"])
async def replace_text(project_id: str, body: TextEditRequest, actor: Editor) -> CommitResult:
    """Replace an element's text at its source place and save a new version; 422 when it is not found exactly there."""
    change = TextChange(old=body.old, new=body.new, src=body.src, dom_path=body.dom_path, page=body.page)
    return await (await get_services()).text_edits.replace_text(project_id, change, actor.user_id)
