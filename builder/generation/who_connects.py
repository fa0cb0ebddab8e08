"""Who can connect a model, in the words of a reply or a refusal: the person reading it, when they are this Forja's
admin (or accounts are off, so they run it), else the person who runs it.

Replies and refusals are made once and kept (a version's message, a generation's error), then read by whoever opens
the project: they are written with the words for anyone, and `for_reader` turns those into the admin's as they are
shown. Plain words: the settings that connect a model are the admin's, on the admin page and in the docs.
"""

from __future__ import annotations

# Each sentence's words for anyone, then for an admin, who can act on them.
HOW_TO_CONNECT = "the person who runs this Forja can connect one on its admin page"
ASK_ADMIN = "The person who runs this Forja can check the model on the admin page."
NOT_CONNECTED = "{label} is not connected on this Forja: the person who runs it can connect it on the admin page."
_YOURSELF = {
    HOW_TO_CONNECT: "you can connect one yourself in the Models section of the admin page",
    ASK_ADMIN: "You can check the model yourself in the Models section of the admin page.",
    "the person who runs it can connect it on the admin page.": "you can connect it yourself in the Models section "
    "of the admin page.",
}


def for_reader(text: str, admin: bool) -> str:
    """`text` as the person reading it can act on it: an admin is told to connect (or check) the model themselves."""
    if not admin:
        return text
    for anyone, yourself in _YOURSELF.items():
        text = text.replace(anyone, yourself)
    return text


def tells_admin(text: str) -> bool:
    """Whether `text` tells an admin to open the Models section (where the page can link it)."""
    return any(yourself in text for yourself in _YOURSELF.values())
