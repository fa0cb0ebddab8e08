"""Who uses the page, for every state: the session cookie the page's socket carried when it connected.

The only way a page's state reaches the services (tests/unit/test_state_access.py holds every state
module to it): `signed_in` names the person, `for_project` also checks their role in a project. The
socket's cookie is read at each event, and the sign-in it names is looked up each time, so signing
out (or an admin disabling the account) takes effect at the next click, even on a page left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import reflex as rx

from builder.api.identity import session_token_of
from builder.composition import Services, get_services
from builder.errors import NotSignedIn
from builder.models import ProjectRole
from builder.services.access import Actor, Permission
from builder.settings import settings


@dataclass(frozen=True)
class Allowed:
    """The services, for a person whose right to the request was checked."""

    services: Services
    actor: Actor
    role: ProjectRole | None = None


def sign_in_page(come_back_to: str) -> str:
    """The sign-in page's address, which brings the person back to `come_back_to` once they are signed in."""
    return f"/login?next={quote(come_back_to or '/', safe='/')}"


async def signed_in(state: rx.State) -> Allowed:
    """The person using the page (NotSignedIn, which sends the page to sign in and back, when accounts are on and they
    are not signed in)."""
    services = await get_services()
    try:
        actor = await services.accounts.actor(session_token_of(state.router.headers.cookie))
    except NotSignedIn as exc:
        raise NotSignedIn(exc.message, come_back_to=state.router.url.path) from None
    return Allowed(services, actor)


async def for_project(state: rx.State, project_id: str, need: Permission) -> Allowed:
    """The person, if their role in the project allows `need` (NotFound or Forbidden otherwise)."""
    allowed = await signed_in(state)
    role = await allowed.services.access.require(allowed.actor, project_id, need)
    return Allowed(allowed.services, allowed.actor, role)


class AuthState(rx.State):
    """The person the top bar shows; empty without accounts."""

    accounts_on: bool = False
    user_name: str = ""
    user_email: str = ""
    is_admin: bool = False

    @rx.var
    def user_initial(self) -> str:
        return (self.user_name or self.user_email or "?")[:1].upper()

    @rx.event
    async def require(self):
        """First on_load of every page that needs a sign-in: the sign-in page (coming back here after) when there is
        none."""
        self.accounts_on = settings.auth_mode == "password"
        if not self.accounts_on:
            self.user_name, self.user_email, self.is_admin = "", "", True
            return None
        services = await get_services()
        actor = await services.accounts.actor_or_none(session_token_of(self.router.headers.cookie))
        if actor is None:
            self.user_name, self.user_email, self.is_admin = "", "", False
            return rx.redirect(sign_in_page(self.router.url.path))
        self.user_name, self.user_email, self.is_admin = actor.name, actor.email, actor.is_admin
        return None
