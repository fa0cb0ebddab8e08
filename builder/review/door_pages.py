"""What an app's answers show, read without sending anything: CORS that lets any site in with credentials, session
cookies without HttpOnly or Secure, a page without nosniff or a Content-Security-Policy, and error pages that show a
stack trace or a debugger (Werkzeug's, Django's DEBUG pages, Express's default error page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from builder.review.findings import Finding, Severity

EVIL_ORIGIN = "https://evil.example"
# Cookies that hold who someone is; a cookie scripts must read by design (a CSRF token's) is not one.
_SESSION_LIKE = re.compile(r"sess|sid|auth|token|jwt|login|remember", re.IGNORECASE)
_SCRIPT_READ = re.compile(r"csrf|xsrf", re.IGNORECASE)
_META_CSP = re.compile(r"<meta[^>]+http-equiv\s*=\s*['\"]?content-security-policy", re.IGNORECASE)
# Werkzeug's debugger (its trace page and console), Django's DEBUG pages (500 and 404 alike say it).
_WERKZEUG = re.compile(r"Werkzeug Debugger|\?__debugger__=yes")
_WERKZEUG_CONSOLE = re.compile(r"CONSOLE_MODE\s*=\s*true")
_DJANGO_DEBUG = re.compile(r"DEBUG = True</code>|Using the URLconf defined in")
# A Python traceback; a Node stack frame (`at fn (/app/server.js:3:9)`, Express's `at Layer.handle...`).
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File &quot;[^&\n]+&quot;, line \d+|File \"[^\"\n]+\", line \d+, in "
    r"|\bat Layer\.handle|\bat (?:[\w$.<>\[\] ]+ \()?(?:file://|node:|/)[^\s()<]*:\d+:\d+"
)


@dataclass(frozen=True)
class Answer:
    """One request the probe sent and what came back (the body cut at the probe's limit)."""

    request: str
    status: int
    headers: httpx.Headers
    text: str
    file: str = ""
    line: int | None = None


def _where_seen(answer: Answer, kind: str, severity: Severity, message: str, fix: str) -> Finding:
    """A doors finding that the answer showed, at the request and (when the source names it) the route's file and line."""
    return Finding(
        check="doors",
        kind=kind,
        severity=severity,
        message=message,
        request=answer.request,
        file=answer.file,
        line=answer.line,
        fix=fix,
    )


def cors_finding(answer: Answer) -> Finding | None:
    """Any origin (ours reflected, or `*`) allowed together with credentials."""
    allowed = answer.headers.get("access-control-allow-origin", "").strip()
    credentials = answer.headers.get("access-control-allow-credentials", "").strip().lower() == "true"
    if not credentials or allowed not in (EVIL_ORIGIN, "*"):
        return None
    return _where_seen(
        answer,
        kind="cors-any-origin",
        severity=Severity.high,
        message="Any other website a signed-in person visits can use this app in their name and read what it answers.",
        fix="Let cross-origin requests with credentials come only from the app's own origins, listed by name: never "
        'reflect the request\'s Origin nor answer "*" together with Access-Control-Allow-Credentials: true.',
    )


def cookie_findings(answers: list[Answer], https: bool) -> list[Finding]:
    """A session-like cookie scripts can read (no HttpOnly); on HTTPS, any cookie without Secure. Each cookie once, as
    the first answer that set it shows it."""
    findings: dict[tuple[str, str], Finding] = {}
    for answer in answers:
        for header in answer.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            name = name.strip()
            flags = {part.strip().split("=", 1)[0].lower() for part in rest.split(";")[1:]}
            request = f"{answer.request} (sets cookie {name})"
            if _SESSION_LIKE.search(name) and not _SCRIPT_READ.search(name) and "httponly" not in flags:
                findings.setdefault(("cookie-not-httponly", name), _cookie_httponly(name, request))
            if https and "secure" not in flags:
                findings.setdefault(("cookie-not-secure", name), _cookie_secure(name, request))
    return list(findings.values())


def _cookie_httponly(name: str, request: str) -> Finding:
    return Finding(
        check="doors",
        kind="cookie-not-httponly",
        severity=Severity.medium,
        message="A sign-in cookie of the app can be read by scripts in its pages, so a script slipped into a page could "
        "steal someone's session.",
        request=request,
        fix=f"Set the cookie {name} with HttpOnly (and SameSite=Lax), so the page's scripts cannot read it.",
    )


def _cookie_secure(name: str, request: str) -> Finding:
    return Finding(
        check="doors",
        kind="cookie-not-secure",
        severity=Severity.medium,
        message="A cookie of the app may also travel over unencrypted connections, where others can read it.",
        request=request,
        fix=f"Set the cookie {name} with Secure, so browsers send it over HTTPS only.",
    )


def header_findings(answer: Answer) -> list[Finding]:
    """An answer without `X-Content-Type-Options: nosniff`, or an HTML page (2xx) without a Content-Security-Policy."""
    findings: list[Finding] = []
    if answer.headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        findings.append(
            Finding(
                check="doors",
                kind="no-nosniff",
                severity=Severity.low,
                message="Browsers may guess what kind of file the app sends, which can let an uploaded file run as a script.",
                request=answer.request,
                fix="Send X-Content-Type-Options: nosniff with every answer of the server.",
            )
        )
    html = 200 <= answer.status < 300 and answer.headers.get("content-type", "").lower().startswith("text/html")
    if html and "content-security-policy" not in answer.headers and not _META_CSP.search(answer.text):
        findings.append(
            Finding(
                check="doors",
                kind="no-csp",
                severity=Severity.low,
                message="The app's page does not tell browsers where its scripts may come from, so a script slipped "
                "into it would run unhindered.",
                request=answer.request,
                fix="Send a Content-Security-Policy with the app's HTML pages that allows scripts from the app's own "
                "origin only (default-src 'self').",
            )
        )
    return findings


def error_page_finding(answer: Answer) -> Finding | None:
    """A debugger's page (Werkzeug's, Django's DEBUG pages) or a stack trace in what the app answered."""
    if _WERKZEUG.search(answer.text) or _DJANGO_DEBUG.search(answer.text):
        return _where_seen(
            answer,
            kind="debug-page",
            severity=Severity.high,
            message="The app runs in debug mode: when it fails, it shows visitors its code and settings.",
            fix="Run the app with debug mode off (Flask's debugger, Django's DEBUG) wherever others can reach it, "
            "and answer errors with a short sentence.",
        )
    if _TRACE.search(answer.text):
        return _where_seen(
            answer,
            kind="stack-trace",
            severity=Severity.high,
            message="When the app fails it shows visitors its inner workings (its files and code), which helps an attacker.",
            fix="Answer server errors with a short sentence and a status (log the details on the server instead): add "
            "an error handler, and never send the error's stack to the browser.",
        )
    return None


def console_finding(answer: Answer) -> Finding | None:
    """Werkzeug's interactive console answering (Flask debug mode): anyone who gets past its PIN runs Python there."""
    if answer.status != 200 or not (_WERKZEUG.search(answer.text) and _WERKZEUG_CONSOLE.search(answer.text)):
        return None
    return Finding(
        check="doors",
        kind="debug-console",
        severity=Severity.critical,
        message="The app's debug console is open to visitors: whoever gets past its PIN can run any command on the app's server.",
        request=answer.request,
        fix="Turn Flask's debug mode off wherever others can reach the app (no debug=True, no FLASK_DEBUG=1, no "
        "--debug), so its debugger and console are never served.",
    )
