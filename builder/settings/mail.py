"""Settings of the email Forja sends for the apps it serves (their people's address checks, password resets and
invitations)."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class MailSettings(BaseSettings):
    """Email"""

    smtp_host: str = Field(
        default="",
        description="The mail server that sends the email of the apps' sign-in pages (address checks, password reset "
        "links, invitations), e.g. `smtp.example.com`. Empty: no email is sent; the apps' pages and the Users dialog "
        "say so, and the doctor lists it.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of FORJA_SMTP_HOST.")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="How the connection to the mail server is encrypted: `starttls` (upgraded after connecting, usually "
        "port 587), `tls` (from the first byte, usually port 465) or `none` (a relay on this machine or its network "
        "only: the password and the links would cross the network in clear).",
    )
    smtp_user: str = Field(default="", description="User name on the mail server; empty: no sign-in to it.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""),
        description="Password of FORJA_SMTP_USER. Never logged nor shown: the doctor says only whether it is set.",
    )
    smtp_from: str = Field(
        default="",
        description="The sender of the apps' email, e.g. `Apps <apps@example.com>`; empty: FORJA_SMTP_USER when it "
        "is an address.",
    )
