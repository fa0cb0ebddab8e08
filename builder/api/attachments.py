"""Pictures attached in the page before a message is sent: checked by their bytes, kept under a random id.

The page posts each picture's raw bytes here as soon as it is dropped, pasted or picked, shows the
answer's thumbnail, and sends the ids with the message. A refused picture gets a 422 with the reason.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Editor
from builder.attachments import check_picture, load_attachment, save_attachment
from builder.composition import get_services
from builder.filetree import MAX_PATH_LENGTH
from builder.schemas import PictureAdded, RequestBody

router = APIRouter(route_class=CheckedRoute)


class Attached(BaseModel):
    id: str
    media_type: str
    url: str


@router.post("/api/attachments", tags=["generation"])
async def attach_picture(request: Request, actor: CurrentActor, name: str = "") -> Attached:
    """The request body is the picture's bytes (PNG, JPEG, GIF or WebP, at most FORJA_ATTACH_MAX_BYTES); only you
    can read it back."""
    image = check_picture(await request.body(), name[:255])
    attachment_id = await asyncio.to_thread(save_attachment, image, actor.user_id)
    return Attached(id=attachment_id, media_type=image.media_type, url=f"/api/attachments/{attachment_id}")


@router.get("/api/attachments/{attachment_id}", tags=["generation"])
async def attached_picture(attachment_id: str, actor: CurrentActor) -> Response:
    image = await asyncio.to_thread(load_attachment, attachment_id, actor.user_id)
    return Response(
        image.data,
        media_type=image.media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


class PictureToProject(RequestBody):
    attachment_id: str = Field(description="The id /api/attachments answered for the picture you attached.")
    name: str = Field(default="", max_length=255, description="The picture's own name, for the file's ('Logo.png').")
    path: str = Field(
        default="",
        max_length=MAX_PATH_LENGTH,
        description="Where in the project; default: the project's picture folder (public/, static/ or assets/) "
        "and the picture's name.",
    )


@router.post("/api/projects/{project_id}/pictures", tags=["files"])
async def add_picture(project_id: str, body: PictureToProject, actor: Editor) -> PictureAdded:
    """Save a picture you attached into the project as a file ("use this as the logo"): a new version."""
    image = await asyncio.to_thread(load_attachment, body.attachment_id, actor.user_id, body.name)
    path, result = await (await get_services()).projects.add_picture(project_id, image, body.path)
    return PictureAdded(path=path, version=result.version)


@router.get("/api/pictures/{digest}", tags=["generation"])
async def sent_picture(actor: CurrentActor, digest: str = Path(pattern="^[0-9a-f]{64}$")) -> Response:
    """A picture sent with a prompt, by the hash its generation lists (GenerationInfo.pictures), to the people who
    may see that project."""
    image = await (await get_services()).generations.picture(digest, actor)
    # Content-addressed: it never changes under its address.
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=31536000, immutable"}
    return Response(image.data, media_type=image.media_type, headers=headers)
