"""The sign-in, sign-up and password-reset pages: what each offers, from the address's query and the server's mode.

The forms themselves post to /api/auth/... (assets/forja_auth.js), which set the HttpOnly cookie
no page state could; this state only fills the pages in.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import reflex as rx

from builder.api.identity import local_next, session_token_of
from builder.composition import get_services
from builder.settings import settings

SIGNUP_TITLES = {
    "setup": "Make the admin account",
    "open": "Make an account",
    "invite": "You are invited to Forja",
    "closed": "Sign-up is closed",
}


class SignInState(rx.State):
    next_path: str = "/"
    mode: str = ""
    invite: str = ""
    invite_email: str = ""
    invite_broken: bool = False
    reset_token: str = ""

    @rx.var
    def signup_title(self) -> str:
        return SIGNUP_TITLES.get(self.mode, "Make an account")

    @rx.var
    def signup_open(self) -> bool:
        """The sign-up form is offered: to the first admin, to anyone, or with a working invitation."""
        return self.mode in ("setup", "open") or (self.mode == "invite" and self.invite != "" and not self.invite_broken)

    @rx.event
    async def load(self):
        """Every sign-in page: nothing to do here without accounts, or when already signed in."""
        params = {name: values[-1] for name, values in parse_qs(self.router.url.query).items()}
        self.next_path = local_next(params.get("next", "/"))
        if settings.auth_mode != "password":
            return rx.redirect("/")
        accounts = (await get_services()).accounts
        if await accounts.actor_or_none(session_token_of(self.router.headers.cookie)) is not None and not params.get("token"):
            return rx.redirect(self.next_path)
        self.mode = await accounts.signup_mode()
        self.invite = params.get("invite", "")[:200]
        self.invite_email, self.invite_broken = "", False
        if self.invite:
            email = await accounts.link_email("invite", self.invite)
            self.invite_email, self.invite_broken = email or "", email is None
        self.reset_token = params.get("token", "")[:200]
        return None
