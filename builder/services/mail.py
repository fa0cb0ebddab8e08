"""Email Forja sends for the apps it serves, through the mail server of FORJA_SMTP_* (builder/settings/mail.py).

Plain text, one message at a time, sent from a thread (smtplib blocks). The server's password is read only here, when
signing in to it, and is in no message, log line or page; a failure is logged by its kind and the server's answer.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from builder.errors import MailUnavailable, NoMailServer
from builder.settings import settings

log = logging.getLogger(__name__)

TIMEOUT_S = 20


def sender() -> str:
    """Who the apps' email is from: FORJA_SMTP_FROM, else FORJA_SMTP_USER when it is an address; "" when neither."""
    return settings.smtp_from.strip() or (settings.smtp_user if "@" in settings.smtp_user else "")


def can_send() -> bool:
    """Whether a mail server is set up to send the apps' email."""
    return bool(settings.smtp_host.strip() and sender())


def one_line(text: str) -> str:
    """Text for a header: a name may hold no line break (a header of its own)."""
    return " ".join(text.split())


async def send_mail(to: str, subject: str, text: str) -> None:
    """Send one message; NoMailServer without a mail server, MailUnavailable, in words, when it refused."""
    if not can_send():
        raise NoMailServer("This Forja cannot send email yet: no mail server is set up.")
    message = EmailMessage()
    message["From"] = sender()
    message["To"] = to
    message["Subject"] = one_line(subject)
    message["Message-ID"] = make_msgid(domain=sender().rpartition("@")[2].strip(">") or None)
    message.set_content(text)
    try:
        await asyncio.to_thread(_deliver, message)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        log.warning("an email was not sent: the mail server %s (%s)", type(exc).__name__, _answer(exc))
        raise MailUnavailable("The email could not be sent: the mail server did not take it. Try again later.") from None


def _answer(exc: Exception) -> str:
    """What the server said (an SMTP code and text), or the connection's error; never what Forja sent."""
    if isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        return f"{exc.smtp_code} {(said.decode('utf-8', 'replace') if isinstance(said, bytes) else said)[:200]}"
    return str(exc)[:200]


def _deliver(message: EmailMessage) -> None:
    host, port, mode = settings.smtp_host.strip(), settings.smtp_port, settings.smtp_tls
    context = ssl.create_default_context()
    client = (
        smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=context)
        if mode == "tls"
        else smtplib.SMTP(host, port, timeout=TIMEOUT_S)
    )
    with client:
        if mode == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        client.send_message(message)
