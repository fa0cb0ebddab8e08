"""HTTP routes to publish a project at an address of its own, rename its app, list, roll back and take down releases.
The app's address itself is served by builder/publish/edge.py, not here."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Owner, Viewer
from builder.api.params import ReleaseNumber
from builder.composition import get_services
from builder.errors import NotFound
from builder.publish.answers import AppInfo, PublishResult, ReleaseInfo
from builder.schemas import RequestBody
from builder.services.access import Permission
from builder.services.app_domains import DomainInfo

router = APIRouter(route_class=CheckedRoute, tags=["publish"])


class PublishRequest(RequestBody):
    version: int | None = Field(default=None, ge=1, description="Version to publish (default: the current one).")
    name: str | None = Field(
        default=None,
        max_length=63,
        description="The app's name, the first label of its address (default: its own, "
        "or one made from the project's name on the first publish).",
        examples=["barber-shop"],
    )
    override_reason: str | None = Field(
        default=None,
        description="The owner's reason to publish despite critical findings of the review, kept with the release "
        "(owners only; at most 500 characters).",
    )


class DomainRequest(RequestBody):
    domain: str = Field(max_length=253, description="A host name of yours for the app.", examples=["shop.example.com"])


class RenameRequest(RequestBody):
    name: str = Field(max_length=63, description="The app's new name; its old address stops answering.")


@router.post("/api/projects/{project_id}/publish", status_code=201)
async def publish(project_id: str, actor: Editor, body: PublishRequest | None = None) -> PublishResult:
    """Build the version for production and serve it at the app's address. Answers once the release is live (the build
    runs in the preview sandbox, up to FORJA_PUBLISH_BUILD_TIMEOUT_S); a failed build answers 422 with why, and the
    address keeps serving the release it served. A version whose .forja/data.json cannot be read answers 422 with
    the sentence that says what to write, before anything is built; `risks` lists in words each of its rules that lets
    anyone in or lets the app's users reach rows of others. Once built, the release is reviewed (`review`): a critical
    finding its owner has not confirmed answers 409 with the sentence and the review, and the release is not made live,
    unless the owner sends `override_reason`, which is kept with the release."""
    body = body or PublishRequest()
    services = await get_services()
    if body.override_reason is not None:
        await services.access.require(actor, project_id, Permission.own)
    return await services.publishing.publish(project_id, body.version, body.name, actor.user_id, body.override_reason)


@router.get("/api/projects/{project_id}/app")
async def get_app(project_id: str, _: Viewer) -> AppInfo:
    """The project's app: its name, address, state (live, unpublished or none) and live release."""
    app = await (await get_services()).publishing.app(project_id)
    if app is None:
        raise NotFound("This project is not published: nothing is served at an address of its own.")
    return app


@router.patch("/api/projects/{project_id}/app")
async def rename_app(project_id: str, _: Owner, body: RenameRequest) -> AppInfo:
    """Give the app another name (its owner only): the address moves with it."""
    return await (await get_services()).publishing.rename(project_id, body.name)


@router.delete("/api/projects/{project_id}/app")
async def unpublish(project_id: str, _: Editor) -> AppInfo:
    """Take the app down: its address answers 410 until the next publish. Its releases are kept."""
    return await (await get_services()).publishing.unpublish(project_id)


@router.get("/api/projects/{project_id}/releases")
async def list_releases(project_id: str, _: Viewer) -> list[ReleaseInfo]:
    """Every publish, newest first: the version, its state (building, ready, failed, pruned, or blocked: built, but
    stopped by the review), figures, error and the owner's reason when it went live despite critical findings."""
    return await (await get_services()).publishing.releases(project_id)


@router.post("/api/projects/{project_id}/releases/{number}/rollback")
async def rollback(project_id: str, number: ReleaseNumber, _: Editor) -> AppInfo:
    """Serve an earlier release again, as it was built: no rebuild, live at once."""
    return await (await get_services()).publishing.rollback(project_id, number)


@router.get("/api/projects/{project_id}/app/domain")
async def get_domain(project_id: str, _: Viewer, check: bool = False) -> DomainInfo:
    """The app's own domain, its state and the two DNS records it needs: a TXT record that proves the name is the
    owner's (nothing is routed before) and a CNAME that points it here. With `check=true`, both are looked up now, and
    a domain whose TXT record is there is proved and routed at once, as Forja's own periodic check would."""
    info = await (await get_services()).app_domains.info(project_id, check)
    if info is None:
        raise NotFound("This app has no domain of its own.")
    return info


@router.put("/api/projects/{project_id}/app/domain")
async def set_domain(project_id: str, _: Owner, body: DomainRequest) -> DomainInfo:
    """Ask for a domain of yours for the app (its owner only); answers the DNS records to make. It is served there
    only once its TXT record proves it yours; a domain another app proved is refused (409)."""
    return await (await get_services()).app_domains.set(project_id, body.domain)


@router.delete("/api/projects/{project_id}/app/domain", status_code=204)
async def remove_domain(project_id: str, _: Owner) -> Response:
    """Stop serving the app at its own domain (or stop asking for it); its proof value is forgotten."""
    await (await get_services()).app_domains.remove(project_id)
    return Response(status_code=204)
