"""An app's name: the first label of its address (`<name>.apps.<domain>`), chosen by its owner or made from the
project's name, never one people would take for Forja's own."""

from __future__ import annotations

import re
import unicodedata

from builder.errors import InvalidInput
from builder.publish.addresses import LABEL

# Names people would take for Forja's own, or that mail and DNS tools treat specially.
RESERVED_NAMES = frozenset(
    {
        "www",
        "api",
        "admin",
        "forja",
        "apps",
        "app",
        "mail",
        "smtp",
        "ftp",
        "ns1",
        "ns2",
        "localhost",
        "preview",
        "previews",
        "static",
        "assets",
        "status",
        "git",
    }
)


def check_name(name: str) -> str:
    """The name as an address's label, or InvalidInput saying which rule it breaks."""
    label = name.strip().lower()
    if not LABEL.match(label):
        raise InvalidInput(
            f"{name!r} cannot be an app's name: use 1 to 63 letters, digits and hyphens, not starting or ending with a "
            "hyphen (it becomes part of the address)."
        )
    if "--" in label:
        # `<name>--r<N>` is a pinned release's host (share links), and `xn--` an internationalised name's.
        raise InvalidInput(f"{name!r} cannot be an app's name: two hyphens in a row are kept for Forja's own addresses.")
    if label in RESERVED_NAMES:
        raise InvalidInput(f"{label!r} is kept for Forja itself; choose another name.")
    return label


def name_from(project_name: str) -> str:
    """A name for a project's first publish, from its name ("Barber shop" -> "barber-shop")."""
    ascii_name = unicodedata.normalize("NFKD", project_name).encode("ascii", "ignore").decode().lower()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:50].strip("-")
    return label if label and label not in RESERVED_NAMES else "my-app"
