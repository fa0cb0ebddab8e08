"""A browser's visit to a private preview as Forja sends one, from Python: the address with its one-time ticket asked on
loopback with the preview's Host, then the page it leads to with the cookie the gate set. (httpx's cookie jar would not
send that cookie: it is Secure, and the requests go to 127.0.0.1.)"""

from __future__ import annotations

import httpx

from builder.cluster.previews import direct


def cookie_of(response: httpx.Response) -> str:
    """The `name=value` of the cookie an answer sets."""
    return response.headers["set-cookie"].split(";", 1)[0]


async def visit(client: httpx.AsyncClient, ticket_url: str) -> tuple[str, httpx.Response]:
    """Follows a ticket's address to the page it opens: the gate's cookie, and that page's answer."""
    address, headers = direct(ticket_url)
    swapped = await client.get(address, headers=headers)
    assert swapped.status_code == 302, swapped.text
    cookie = cookie_of(swapped)
    checked = await client.get(address.join(swapped.headers["location"]), headers={**headers, "Cookie": cookie})
    assert checked.status_code == 302, checked.text
    return cookie, await client.get(address.join(checked.headers["location"]), headers={**headers, "Cookie": cookie})
