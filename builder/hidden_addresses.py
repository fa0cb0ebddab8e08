"""Text that quotes other programs with the network addresses and URL credentials taken out, for reports people read
(the doctor's): a registry's name resolved to a private address, Docker's or apt's error naming the host it could not
reach, a proxy URL with its password. What the text says stays; only the address or the credentials go.
"""

from __future__ import annotations

import ipaddress
import re

HIDDEN = "[address]"

# Runs of the characters an address is written with, holding a dot or a colon: each is checked as an address.
_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*(?:%[\w-]+)?")
# A URL's user and password (scheme://user:password@host).
_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def _address(token: str) -> str | None:
    """The address `token` is or starts (without a sentence's stop, or a port after an IPv4 address); None if none."""
    for whole in (token, token.rstrip("."), token.rstrip(".:")):
        for candidate in (whole, whole.rpartition(":")[0] if whole.count(":") == 1 else ""):
            try:
                ipaddress.ip_address(candidate.split("%", 1)[0])
            except ValueError:
                continue
            return candidate
    return None


def without_addresses(text: str) -> str:
    """`text` with every IPv4 or IPv6 address replaced by HIDDEN and every URL's credentials removed."""

    def hide(match: re.Match[str]) -> str:
        token = match.group(0)
        address = _address(token)
        return token.replace(address, HIDDEN, 1) if address else token

    return _CANDIDATE.sub(hide, _CREDENTIALS.sub(r"\1", text))
