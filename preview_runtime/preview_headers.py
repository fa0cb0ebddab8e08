"""What Forja's preview proxy adds to every answer and request, and how Forja tells its own answers from an app's.

Previews and published server apps are shown in Forja's cross-origin-isolated workspace (COOP same-origin + COEP
credentialless or require-corp), so each answer carries the headers that let it be framed there.
"""

from __future__ import annotations

import httpx

# Why each header (Forja's workspace is cross-origin isolated: COOP same-origin + COEP credentialless or require-corp):
# - Cross-Origin-Embedder-Policy: a document framed by a page whose COEP is credentialless or require-corp must itself
#   declare a COEP compatible with cross-origin isolation, or the browser blocks the frame (HTML "check a navigation
#   response's adherence to its embedder policy"). `credentialless` is the least intrusive such value: the preview's own
#   cross-origin no-cors loads (CDN images, fonts) still work, only without cookies.
# - Cross-Origin-Resource-Policy: under an embedder policy other than unsafe-none, a cross-origin *navigation* response
#   (the iframe document) without CORP is treated as `same-origin` and blocked (Fetch "cross-origin resource policy
#   check", forNavigation), for credentialless as for require-corp. `cross-origin` lets Forja's page embed it.
# - X-Content-Type-Options: nosniff, so a preview's files are never run as a type they were not served as.
# - X-Frame-Options is removed (empty value = remove in Traefik): frameworks send DENY/SAMEORIGIN by default (Django),
#   which would keep the preview out of Forja's iframe.
# - Cache-Control: no-cache: a preview is a dev server whose files change on every save; browsers must revalidate
#   instead of reusing a heuristically fresh copy (static servers send Last-Modified and no cache policy).
# If-Modified-Since is removed from requests (PREVIEW_REQUEST_HEADERS): Last-Modified has a one-second resolution, so a
#   file saved within the second after the page loaded would be answered 304 and the reloaded preview would be stale.
#   ETag revalidation (Vite's, Next's) is left alone.
# - Referrer-Policy: same-origin: the preview's host name is its only secret beside the gate's cookie (gate.py), so its
#   pages never send it to another site in Referer (nor in Origin, which is then null, except on CORS requests, which
#   need it); the app's own requests keep their full Referer, which some frameworks check.
# Nothing CORS-related is added: a preview is another origin (another host) and gets no access to Forja's cookies or API.
PREVIEW_RESPONSE_HEADERS: dict[str, str] = {
    "Cross-Origin-Embedder-Policy": "credentialless",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "same-origin",
}
PREVIEW_REQUEST_HEADERS: dict[str, str] = {"If-Modified-Since": ""}

NOT_FOUND_MARKER = "X-Forja-Preview"  # set only by Forja's own pages: "none" on the catch-all, "waking" on the waking one
APP = "app"  # what serves a host answering without the marker: the preview's own upstream (see served_by)
WAKING = "waking"  # the marker's value on the waking page; waking.html looks for it
# Traefik's own answers when the upstream refuses the connection or does not answer: not the app's.
GATEWAY_ERRORS = frozenset({502, 504})


def app_answered(response: httpx.Response) -> bool:
    """Whether the preview's app itself gave this answer, whatever its status: an app whose first page answers 500 (a
    Flask app whose database is not made yet) runs, and the preview shows its error page; Forja's own pages (the
    marker) and Traefik's gateway errors are no answer of the app."""
    return NOT_FOUND_MARKER not in response.headers and response.status_code not in GATEWAY_ERRORS


# Forja's waking page sets its headers itself; no-store so that no browser keeps it once the app answers.
WAKING_HEADERS = {**PREVIEW_RESPONSE_HEADERS, "Cache-Control": "no-store", NOT_FOUND_MARKER: WAKING, "Retry-After": "1"}
