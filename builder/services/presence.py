"""How a person shows to the others who have a project open: a colour of their own (an avatar's, a cursor's), their
name and its initials. Who has a project open is builder.cluster.presence's."""

from __future__ import annotations

import hashlib
from typing import get_args

from builder.schemas import MAX_SHOWN_NAME, PresenceColour
from builder.services.access import Actor
from builder.settings import settings

# Radix colours that read well as an avatar's background in light and dark themes, in a fixed order.
COLOURS: tuple[PresenceColour, ...] = get_args(PresenceColour)
# The same colours as hex, for a person's cursor and its label in the editor: Radix's step 11 (light), dark enough for
# white text on it.
CURSOR_HEX: dict[PresenceColour, str] = {
    "tomato": "#d13415",
    "blue": "#0d74ce",
    "grass": "#2a7e3b",
    "violet": "#6550b9",
    "amber": "#ab6400",
    "cyan": "#107d98",
    "pink": "#c2298a",
    "teal": "#008573",
    "indigo": "#3a5bc7",
    "orange": "#cc4e00",
    "jade": "#208368",
    "plum": "#953ea3",
}


def colour_for(key: str) -> PresenceColour:
    """The same colour for the same key (a person's id, a guest's tab) on every worker and every day."""
    return COLOURS[int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(COLOURS)]


def shown_name(actor: Actor) -> str:
    """The name other people see for this person: their account's name (its email without one), "Guest" without
    accounts. Never what a page says about itself."""
    if settings.auth_mode == "none":
        return "Guest"
    return " ".join((actor.name or actor.email).split())[:MAX_SHOWN_NAME] or "?"


def initials_of(name: str) -> str:
    """ "Ada Lovelace" -> "AL", "ada@x.org" -> "A", "" -> "?"."""
    words = name.split("@")[0].replace(".", " ").replace("_", " ").split()
    return "".join(word[0] for word in words[:2]).upper() or "?"
