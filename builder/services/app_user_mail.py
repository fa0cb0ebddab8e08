"""The email an app's people get, and what its links do: an address check after sign-up, a password reset, and an
invitation where the app takes new accounts by invitation only.

Each link holds a random 256-bit token of which only the SHA-256 is kept (builder/store/app_tokens.py), works once and
for a while: an address check for two days, a reset for an hour, an invitation for a week unless the app's owner
withdraws it first. A reset request answers the same whether or not the email has an account here, and sends nothing
when it has none; it is slowed down per app, email and address as sign-ins are. A reset ends every session of the
person. Email goes through builder/services/mail.py.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Literal

from builder.errors import InvalidInput, MailUnavailable, NoMailServer, NotFound, TooManyAttempts
from builder.models import AppUserToken, utcnow
from builder.publish.addresses import app_url
from builder.schemas import AppInvitationInfo, AppSignUpInfo
from builder.services.access import Actor
from builder.services.accounts import check_email, check_password, hash_token, normal_email
from builder.services.app_data import Scope
from builder.services.app_users import AppUserService, waiting
from builder.services.mail import can_send, one_line, send_mail
from builder.services.throttle import Attempt, Throttle
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

Purpose = Literal["verify", "reset", "invite"]
LASTS: dict[Purpose, timedelta] = {"verify": timedelta(days=2), "reset": timedelta(hours=1), "invite": timedelta(days=7)}
LASTS_WORDS: dict[Purpose, str] = {"verify": "two days", "reset": "an hour", "invite": "a week"}
PATHS: dict[Purpose, str] = {"verify": "verify", "reset": "new-password", "invite": "sign-up"}


def bad_link() -> InvalidInput:
    return InvalidInput("This link does not work any more: it was used already, or it expired. Ask for a new one.")


class AppUserMail:
    def __init__(self, store: ProjectStore, throttle: Throttle, users: AppUserService) -> None:
        self._store = store
        self._throttle = throttle
        self._users = users

    async def _link(
        self, project_id: str, scope: Scope, purpose: Purpose, email: str, user_id: str | None, origin: str
    ) -> tuple[str, AppUserToken]:
        """The link to email, and its record (whose id withdraws an invitation)."""
        token = secrets.token_urlsafe(32)
        record = AppUserToken(
            token_hash=hash_token(token),
            purpose=purpose,
            project_id=project_id,
            scope=scope,
            email=email,
            user_id=user_id,
            expires_at=utcnow() + LASTS[purpose],
        )
        await self._store.add_app_token(record)
        key = "invite" if purpose == "invite" else "token"
        return f"{origin}/_forja/auth/{PATHS[purpose]}?{key}={token}", record

    # -- from the app's own pages: `origin` is the app's, as the browser asked for it --

    async def send_check(self, project_id: str, scope: Scope, email: str, origin: str, app: str) -> bool:
        """Email a new account's address a link that checks it; False when none was sent (no mail server, or it
        refused: the account works all the same)."""
        user = await self._store.app_user_by_email(project_id, scope, normal_email(email))
        if user is None or user.verified_at is not None or not can_send():
            return False
        link, _ = await self._link(project_id, scope, "verify", user.email, user.id, origin)
        text = (
            f"Open this link to confirm that this is your email on {app}:\n\n{link}\n\n"
            f"It works once, for {LASTS_WORDS['verify']}. If you did not make an account on {app}, ignore this email."
        )
        return await self._sent(user.email, f"Confirm your email for {app}", text)

    async def verify(self, project_id: str, scope: Scope, token: str) -> None:
        """Mark the person's address checked; InvalidInput for a link used, expired or not this app's."""
        found = await self._store.app_token(project_id, scope, "verify", hash_token(token))
        if found is None or found.id is None or found.user_id is None or not await self._store.use_app_token(found.id):
            raise bad_link()
        await self._store.verify_app_user(found.user_id)
        log.info("app %s (%s): account %s checked its email", project_id, scope, found.user_id)

    async def request_reset(self, project_id: str, scope: Scope, email: str, origin: str, app: str, attempt: Attempt) -> None:
        """Email a link to choose a new password, when the email has an account here that is not turned off; nothing
        otherwise, and nothing tells the difference. TooManyAttempts after many requests, as sign-ins."""
        email = check_email(email)
        key = f"app {project_id} {scope} reset: {email}"
        try:
            await self._throttle.check(key, attempt, None)
        except TooManyAttempts as exc:
            raise TooManyAttempts(
                f"Many reset links were asked for lately. Try again in {waiting(exc.retry_after or 60)}.",
                retry_after=exc.retry_after,
            ) from None
        await self._throttle.failed(key, attempt)  # every request counts, so links cannot be asked for without end
        user = await self._store.app_user_by_email(project_id, scope, email)
        if user is None or user.disabled_at is not None:
            return
        link, _ = await self._link(project_id, scope, "reset", user.email, user.id, origin)
        text = (
            f"Someone asked to choose a new password for your account on {app}. Open this link to choose it:\n\n{link}\n\n"
            f"It works once, for {LASTS_WORDS['reset']}. If it was not you, ignore this email: your password stays as it is."
        )
        await self._sent(user.email, f"Choose a new password for {app}", text)

    async def reset_works(self, project_id: str, scope: Scope, token: str) -> bool:
        return await self._store.app_token(project_id, scope, "reset", hash_token(token)) is not None

    async def reset(self, project_id: str, scope: Scope, token: str, password: str) -> str:
        """Set the new password, end every session of the person (other browsers are signed out) and sign this one in:
        its new session's token. InvalidInput for a link used, expired or not this app's, or a password too short."""
        found = await self._store.app_token(project_id, scope, "reset", hash_token(token))
        if found is None or found.id is None or found.user_id is None:
            raise bad_link()
        check_password(password, found.email)
        user = await self._store.app_user(project_id, scope, found.user_id)
        if user is None or user.disabled_at is not None or not await self._store.use_app_token(found.id):
            raise bad_link()
        await self._store.reset_app_password(user.id, await self._users.hash_password(password))
        log.info("app %s (%s): account %s chose a new password; its sessions ended", project_id, scope, user.id)
        return await self._users.start_session(user)

    async def sign_up_mode(self, project_id: str, scope: Scope) -> str:
        """open or invite (for the app's sign-up page, which says which)."""
        return await self._store.app_sign_up_mode(project_id, scope)

    # -- the owner's: each method checks who asks --

    async def sign_up_info(self, actor: Actor, project_id: str, scope: Scope = Scope.live) -> AppSignUpInfo:
        await self._users.require_manager(actor, project_id)
        mode = "invite" if await self._store.app_sign_up_mode(project_id, scope) == "invite" else "open"
        return AppSignUpInfo(mode=mode, email=can_send())

    async def set_sign_up(
        self, actor: Actor, project_id: str, mode: Literal["open", "invite"], scope: Scope = Scope.live
    ) -> AppSignUpInfo:
        await self._users.require_manager(actor, project_id)
        await self._store.set_app_sign_up_mode(project_id, scope, mode)
        log.info("app %s (%s): sign-up made %s by %s", project_id, scope, mode, actor.user_id)
        return AppSignUpInfo(mode=mode, email=can_send())

    async def invite(self, actor: Actor, project_id: str, email: str, scope: Scope = Scope.live) -> None:
        """Email `email` a link that lets that address make an account on the published app, even where sign-up is by
        invitation only. NoMailServer without a mail server, MailUnavailable when it refused; InvalidInput for one who
        has an account already."""
        await self._users.require_manager(actor, project_id)
        email = check_email(email)
        if not can_send():
            raise NoMailServer(
                "This Forja cannot send email yet, so no invitation can be sent. Ask its admin to set up a mail server."
            )
        app = await self._store.published_app(project_id)
        if app is None or app.live_release_id is None or app.unpublished_at is not None:
            raise NotFound("This app is not published, so there is nowhere to invite people to. Publish it first.")
        if await self._store.app_user_by_email(project_id, scope, email) is not None:
            raise InvalidInput(f"{email} has an account on this app already.")
        name = one_line(await self._store.app_name(project_id) or "an app")
        link, record = await self._link(project_id, scope, "invite", email, None, app_url(app.name))
        text = (
            f"You are invited to make an account on {name}. Open this link to choose your password:\n\n{link}\n\n"
            f"It works once, for {LASTS_WORDS['invite']}, and only for this email. If you did not expect it, ignore it."
        )
        if not await self._sent(email, f"You are invited to {name}", text):
            # Nobody got the link: it must not be listed as waiting for them.
            if record.id is not None:
                await self._store.withdraw_app_invitation(project_id, scope, record.id)
            raise MailUnavailable("The invitation could not be sent: the mail server did not take it. Try again later.")
        log.info("app %s (%s): an invitation sent by %s", project_id, scope, actor.user_id)

    async def invitations(self, actor: Actor, project_id: str, scope: Scope = Scope.live) -> list[AppInvitationInfo]:
        """The invitations not used, withdrawn or expired yet, the latest first; never their links."""
        await self._users.require_manager(actor, project_id)
        return [
            AppInvitationInfo(id=found.id, email=found.email, sent_at=found.created_at, expires_at=found.expires_at)
            for found in await self._store.app_invitations(project_id, scope)
            if found.id is not None
        ]

    async def withdraw(self, actor: Actor, project_id: str, invitation_id: int, scope: Scope = Scope.live) -> None:
        """Make the invitation's link refuse sign-up (as an expired one does); NotFound for an id that names no
        invitation of this app still waiting."""
        await self._users.require_manager(actor, project_id)
        # An id past the store's integers names no invitation (and must not reach the database to overflow there).
        if not stored_number(invitation_id) or not await self._store.withdraw_app_invitation(project_id, scope, invitation_id):
            raise NotFound("That invitation was used, withdrawn or expired already.")
        log.info("app %s (%s): invitation %s withdrawn by %s", project_id, scope, invitation_id, actor.user_id)

    async def _sent(self, to: str, subject: str, text: str) -> bool:
        try:
            await send_mail(to, subject, text)
        except MailUnavailable:
            return False  # logged by send_mail, with the server's answer
        return True
