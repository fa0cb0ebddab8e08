"""HTTP routes for the people who use a project's published app (their accounts on the app, not Forja's): the list,
turning an account off and on, making someone the app's admin, removing them. `?scope=preview` names the people of the
project's preview instead (accounts made in the preview, apart from the published app's); the default is `live`.
Whether anyone may sign up to the published app or only the people invited, and the invitations: sent, listed while
they wait, withdrawn (builder/services/app_user_mail.py).

Only the project's owner and the admins of this Forja may; the service checks (builder/services/app_users.py), so a
person with no role in the project gets the same 404 as for a made-up id, its editors and viewers a 403.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor
from builder.api.params import RowId
from builder.composition import get_services
from builder.schemas import AppInvitationInfo, AppSignUpInfo, AppUserInfo, RequestBody
from builder.services.app_data import Scope

# Whose people: the published app's (live) or the project's preview's.
PeopleScope = Annotated[Scope, Query(description="live (the published app's people) or preview (the preview's).")]

router = APIRouter(route_class=CheckedRoute, tags=["app users"])


class AppRoleChange(RequestBody):
    role: Literal["user", "admin"] = Field(description="admin (sees every row of the app's data) or user.")


class AppSignUpChange(RequestBody):
    mode: Literal["open", "invite"] = Field(description="open: anyone may sign up; invite: only with an invitation.")


class AppInvitation(RequestBody):
    email: str = Field(max_length=254, description="Whom to invite: they get a link that lets this email make an account.")


@router.get("/api/projects/{project_id}/app-users")
async def list_app_users(project_id: str, actor: CurrentActor, scope: PeopleScope = Scope.live) -> list[AppUserInfo]:
    """Everyone with an account on the published app (or, with `scope=preview`, made in its preview), the first to
    sign up first."""
    return await (await get_services()).app_users.people(actor, project_id, scope)


@router.post("/api/projects/{project_id}/app-users/{user_id}/disable")
async def disable_app_user(project_id: str, user_id: str, actor: CurrentActor, scope: PeopleScope = Scope.live) -> AppUserInfo:
    """Turn the account off: the person is signed out everywhere at once and cannot sign in until it is turned on."""
    return await (await get_services()).app_users.turn_off(actor, project_id, user_id, scope)


@router.post("/api/projects/{project_id}/app-users/{user_id}/enable")
async def enable_app_user(project_id: str, user_id: str, actor: CurrentActor, scope: PeopleScope = Scope.live) -> AppUserInfo:
    """Turn the account on again: the person may sign in."""
    return await (await get_services()).app_users.turn_on(actor, project_id, user_id, scope)


@router.put("/api/projects/{project_id}/app-users/{user_id}/role")
async def set_app_user_role(
    project_id: str, user_id: str, body: AppRoleChange, actor: CurrentActor, scope: PeopleScope = Scope.live
) -> AppUserInfo:
    """Make the person an admin of the app, or a user again."""
    return await (await get_services()).app_users.set_role(actor, project_id, user_id, body.role, scope)


@router.delete("/api/projects/{project_id}/app-users/{user_id}", status_code=204)
async def remove_app_user(project_id: str, user_id: str, actor: CurrentActor, scope: PeopleScope = Scope.live) -> Response:
    """Remove the account and its sessions for good; the person may sign up again as someone new."""
    await (await get_services()).app_users.remove(actor, project_id, user_id, scope)
    return Response(status_code=204)


@router.get("/api/projects/{project_id}/app-sign-up")
async def get_app_sign_up(project_id: str, actor: CurrentActor) -> AppSignUpInfo:
    """Whether anyone may make an account on the published app or only the people invited, and whether this Forja can
    send email (without it, no invitation can be sent)."""
    return await (await get_services()).app_user_mail.sign_up_info(actor, project_id)


@router.put("/api/projects/{project_id}/app-sign-up")
async def set_app_sign_up(project_id: str, body: AppSignUpChange, actor: CurrentActor) -> AppSignUpInfo:
    """Let anyone make an account (open), or only the people invited (invite); the app's owner may always."""
    return await (await get_services()).app_user_mail.set_sign_up(actor, project_id, body.mode)


@router.post("/api/projects/{project_id}/app-invitations", status_code=204)
async def invite_app_user(project_id: str, body: AppInvitation, actor: CurrentActor) -> Response:
    """Email a link that lets this email make an account on the published app (for a week, once), even where sign-up
    is by invitation only. 409 when this Forja has no mail server, 503 when it refused the email; 422 when the email
    has an account already."""
    await (await get_services()).app_user_mail.invite(actor, project_id, body.email)
    return Response(status_code=204)


@router.get("/api/projects/{project_id}/app-invitations")
async def list_app_invitations(project_id: str, actor: CurrentActor) -> list[AppInvitationInfo]:
    """The invitations to the published app not used, withdrawn or expired yet, the latest first (never their links)."""
    return await (await get_services()).app_user_mail.invitations(actor, project_id)


@router.delete("/api/projects/{project_id}/app-invitations/{invitation_id}", status_code=204)
async def withdraw_app_invitation(project_id: str, invitation_id: RowId, actor: CurrentActor) -> Response:
    """Withdraw the invitation: its link then refuses sign-up as an expired one does. 404 when no invitation by that
    id is still waiting."""
    await (await get_services()).app_user_mail.withdraw(actor, project_id, invitation_id)
    return Response(status_code=204)
