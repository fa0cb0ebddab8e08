"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd, in a thread of its own) that checks the user and password
a client signs in with, and keeps every message it took. Nothing leaves this machine."""

from __future__ import annotations

import email
import email.policy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from preview_runtime.free_ports import free_port

# aiosmtpd's own use of its deprecated attribute, on every sign-in: nothing Forja or the test does.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated", category=DeprecationWarning)

USER = "forja-mailer"
PASSWORD = "mail-server-secret-Zq81x"  # distinctive, so a test can look for it anywhere


@dataclass
class Inbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


class _Keep:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._inbox.messages.append(email.message_from_bytes(content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server: Server, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@contextmanager
def mail_server() -> Iterator[Inbox]:
    """The server, listening until the block ends; its inbox."""
    inbox = Inbox(port=free_port())
    controller = Controller(
        _Keep(inbox),
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=_authenticator,
        auth_require_tls=False,  # loopback only: the test's own connection
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
