"""The apps' email settings as Forja reads them (builder/services/mail.py) and as the doctor tells them: the sender
falls back to the user when it is an address, a header never takes a line break, and the doctor's sentence never holds
the server's name nor its password."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from builder.services.doctor import _email_check  # pyright: ignore[reportPrivateUsage]
from builder.services.mail import can_send, one_line, sender
from builder.settings import settings


def test_the_sender_and_whether_email_can_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "smtp_host", "")
    monkeypatch.setattr(settings, "smtp_from", "")
    monkeypatch.setattr(settings, "smtp_user", "apps@example.org")
    assert sender() == "apps@example.org" and not can_send()
    monkeypatch.setattr(settings, "smtp_host", "mail.example.org")
    assert can_send()
    monkeypatch.setattr(settings, "smtp_user", "apikey")
    assert sender() == "" and not can_send()  # a user name that is no address sends from nobody
    monkeypatch.setattr(settings, "smtp_from", "Apps <apps@example.org>")
    assert sender() == "Apps <apps@example.org>" and can_send()
    assert one_line("Cuts\r\nBcc: all@example.org") == "Cuts Bcc: all@example.org"


def test_the_doctor_says_whether_email_is_set_up_and_never_its_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "smtp_host", "")
    unset = _email_check()
    assert unset.name == "email" and unset.ok and "No mail server is set up" in unset.detail
    for name, value in {
        "smtp_host": "mail.example.org",
        "smtp_port": 465,
        "smtp_tls": "tls",
        "smtp_user": "apps@example.org",
        "smtp_password": SecretStr("doctor-must-not-say-this"),
        "smtp_from": "",
    }.items():
        monkeypatch.setattr(settings, name, value)
    told = _email_check()
    assert told.ok and "port 465, TLS, with a user and its password" in told.detail
    assert "doctor-must-not-say-this" not in told.detail and "mail.example.org" not in told.detail
    monkeypatch.setattr(settings, "smtp_user", "apikey")
    assert not _email_check().ok and "FORJA_SMTP_FROM" in _email_check().detail
