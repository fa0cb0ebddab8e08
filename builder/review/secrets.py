"""Secrets where a browser can read them: keys of known shapes (detect-secrets' rules, run in this process) and the
exact values of the app's private variables and database password, in every text file a browser may load.

Source maps (`*.map`) are read through their `sourcesContent`, the original code they carry, so a finding names the
source file and its line. Binary files (images, fonts) are skipped. detect-secrets' entropy and keyword rules are not
run: in a bundle every hash and minified name looks random to them, and every `password:` label looks like a
secret, so they would bury real findings; a key of no known shape is found only as a private variable's own value.
Pure (no I/O, no network: the plugins' "verify" calls to the services whose keys they find are never made).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from builder.review.findings import SEVERITY_ORDER, Finding, Severity
from builder.wording import joined

if TYPE_CHECKING:
    from detect_secrets.plugins.base import RegexBasedDetector

CHECK = "secrets"
ENV_VALUE = "env-value"
# Kinds that are often meant for the page, or often not secrets at all: told, but they do not stop a publish.
# A Twilio "AC..." id names an account (it is no key); a JWT may be a public key for the browser (Supabase's anon
# key), unless it says it is the service's own (critical: see _jwt_severity); a user:password@ address may be an
# example in a library.
NOT_CRITICAL = frozenset({"JSON Web Token", "Twilio API Key", "Basic Auth Credentials"})
# A private key's header alone is a label libraries carry (PEM parsers): a key is the header and its body.
_KEY_BODY = re.compile(r"(?:[A-Za-z0-9+/=]|\\n|\s){64,}")
SERVICE_ROLES = frozenset({"service_role"})  # Supabase's key that passes every row rule


@dataclass(frozen=True)
class Hit:
    kind: str
    words: str  # what it is: detect-secrets' type ("Stripe Access Key"), or whose value it is ("the value of STRIPE_KEY")
    line: int
    source: str  # a source map's original file the line is in; "" for the file itself
    severity: Severity


@cache
def _plugins() -> tuple[RegexBasedDetector, ...]:
    # Imported at the first review, not with Forja: loading its plugins takes half a second of every process's start.
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.ip_public import IPPublicDetector  # a public IP address is no secret

    mapping = get_mapping_from_secret_type_to_class()
    return tuple(
        cls()  # pyright: ignore[reportAbstractUsage] (each class sets its secret_type and denylist)
        for _, cls in sorted(mapping.items())
        if issubclass(cls, RegexBasedDetector) and not issubclass(cls, IPPublicDetector)
    )


def slug(secret_type: str) -> str:
    """detect-secrets' type as a finding's kind: "AWS Access Key" -> "aws-access-key"."""
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


def secret_findings(files: Mapping[str, bytes], private: Mapping[str, str], served: bool = True) -> list[Finding]:
    """The findings in `files` (path -> bytes): served files of a release, or (`served` False) the project's own.
    `private` maps words that name a value ("the value of STRIPE_KEY") to the value, which no finding carries."""
    findings: list[Finding] = []
    for path, data in sorted(files.items()):
        if b"\0" in data[:8192]:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        hits = [hit for source, body in _texts(path, text) for hit in _hits(body, source, private)]
        findings += _findings(path, hits, served)
    return findings


def _texts(path: str, text: str) -> Iterator[tuple[str, str]]:
    """The texts of a file to read: a source map's original sources (by name), or the file itself."""
    if path.endswith(".map"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            sources = parsed.get("sources") or []
            contents = parsed.get("sourcesContent") or []
            if isinstance(sources, list) and isinstance(contents, list):
                for index, body in enumerate(contents):
                    if isinstance(body, str):
                        name = sources[index] if index < len(sources) and isinstance(sources[index], str) else ""
                        yield (name or f"source {index + 1}"), body
                return
    yield "", text


def _hits(text: str, source: str, private: Mapping[str, str]) -> Iterator[Hit]:
    for words, value in private.items():
        at = text.find(value)
        if at >= 0:
            yield Hit(ENV_VALUE, words, text.count("\n", 0, at) + 1, source, Severity.critical)
    for number, line in enumerate(text.splitlines(), 1):
        for plugin in _plugins():
            for secret in plugin.analyze_string(line):
                severity = _severity(plugin.secret_type, secret, line)
                if severity is not None:
                    yield Hit(slug(plugin.secret_type), plugin.secret_type, number, source, severity)


def _severity(secret_type: str, secret: str, line: str) -> Severity | None:
    """How bad a match of the type is; None when it is no secret after all (a private key's header alone)."""
    if secret_type == "Private Key":
        after = line[line.find(secret) + len(secret) :]
        return Severity.critical if _KEY_BODY.search(after[:400]) else None
    if secret_type == "JSON Web Token":
        return _jwt_severity(secret)
    return Severity.high if secret_type in NOT_CRITICAL else Severity.critical


def _jwt_severity(token: str) -> Severity:
    """A token that says it is the service's own (Supabase's service_role key) opens everything: critical."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return Severity.high
    role = claims.get("role") if isinstance(claims, dict) else None
    return Severity.critical if role in SERVICE_ROLES else Severity.high


def _a(words: str) -> str:
    return "an" if words[:1].lower() in "aeiou" else "a"


def _findings(path: str, hits: list[Hit], served: bool) -> list[Finding]:
    """One finding per kind of secret in the file, at its first place; the values of variables found together in one
    finding that names them all."""
    by_kind: dict[str, list[Hit]] = {}
    for hit in hits:
        by_kind.setdefault(hit.kind, []).append(hit)
    findings = []
    for kind, found in by_kind.items():
        first = min(found, key=lambda hit: (hit.source, hit.line))
        if kind == ENV_VALUE:
            names = list(dict.fromkeys(hit.words for hit in found))
            it = joined(names)
            said = f"{it[:1].upper()}{it[1:]} {'are' if len(names) > 1 else 'is'}"
        else:
            said, it = f"{_a(first.words).title()} {first.words} is", f"the {first.words}"
        severity = min((hit.severity for hit in found), key=SEVERITY_ORDER.__getitem__)
        place = f"the project's files (the built page carries it in {path})" if served else path
        fix = (
            f"Take {it} out of {place}: keep it only in a private variable in Environment, used by server code, never "
            "in code the browser loads."
        )
        findings.append(
            Finding(
                check=CHECK,
                kind=kind,
                severity=severity,
                message=f"{said} written in {_where(path, first, served)}.",
                file=path,
                line=None if first.source else first.line,
                fix=fix,
            )
        )
    return findings


def _where(path: str, hit: Hit, served: bool) -> str:
    if hit.source:
        return (
            f"{path}, the page's source map (its copy of {hit.source}, line {hit.line}), which anyone who opens the app can read"
        )
    if served:
        return f"{path}, which anyone who opens the app can read"
    return f"{path}; once the page carries it, anyone who opens the app can read it"
