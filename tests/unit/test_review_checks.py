"""The review's own checks over planted files, each with the findings it must give and a clean twin that gives none:
secrets a browser can read (a key in a Vite-like bundle, a private value pasted into a component, a source map's
source with a key) and the data rules' risks. No finding carries the secret it is about."""

from __future__ import annotations

import base64
import json

from builder.app_secrets import private_values
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.review.findings import Severity
from builder.review.rules_check import rules_findings
from builder.review.secrets import secret_findings

# Made of parts, so that no scanner of this repository takes the tests' planted keys for real ones.
STRIPE_SECRET = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_PUBLIC = "pk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
SHOP_SECRET = "shop-" + "hush-41f9c2a7d3"


def bundle(key: str) -> bytes:
    """A minified bundle as Vite writes one: a long first line, the key in a module's string."""
    code = "".join(f"function a{i}(t){{return t+{i}}}" for i in range(200))
    return (f'(function(){{"use strict";{code};const c={{key:"{key}",currency:"eur"}};a1(c)}})();\n').encode()


def source_map(source: str) -> bytes:
    return json.dumps(
        {
            "version": 3,
            "sources": ["../src/main.jsx", "../src/pay.js"],
            "sourcesContent": ["import './pay.js'\n", source],
            "mappings": "AAAA",
        }
    ).encode()


def jwt(claims: dict[str, str]) -> str:
    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def shown(findings: list) -> list[tuple[str, str, str, int | None]]:
    return [(f.kind, f.severity.value, f.file, f.line) for f in findings]


def test_a_secret_key_in_a_bundle_is_critical_and_a_publishable_one_is_no_finding() -> None:
    found = secret_findings(
        {"index.html": b"<script src=/assets/index-B2x.js></script>", "assets/index-B2x.js": bundle(STRIPE_SECRET)}, {}
    )
    assert shown(found) == [("stripe-access-key", "critical", "assets/index-B2x.js", 1)]
    assert found[0].check == "secrets"
    assert found[0].message == "A Stripe Access Key is written in assets/index-B2x.js, which anyone who opens the app can read."
    assert STRIPE_SECRET not in found[0].model_dump_json()
    assert secret_findings({"assets/index-B2x.js": bundle(STRIPE_PUBLIC)}, {}) == []  # meant for the page


def test_a_private_value_pasted_into_a_component_is_critical_and_reading_it_on_the_server_is_not() -> None:
    private = private_values(
        {"SHOP_SECRET": SHOP_SECRET, "VITE_SHOP_NAME": "Barber-shop-2", "PORT_HINT": "8080", "APP_MODE": "production"},
        ("VITE_",),
        {"live": "pg-pass-77aa91"},
    )
    # Public, short and plain-word ones are left out ("production" is in every bundle).
    assert set(private) == {"the value of SHOP_SECRET", "the password of the app's live database"}
    pasted = (
        f'export function Pay() {{\n  return fetch("/api/pay", {{headers: {{key: "{SHOP_SECRET}"}}}})\n}}\n// pg-pass-77aa91\n'
    )
    found = secret_findings({"src/Pay.jsx": pasted.encode()}, private, served=False)
    assert shown(found) == [("env-value", "critical", "src/Pay.jsx", 2)]
    assert found[0].message == (
        "The value of SHOP_SECRET and the password of the app's live database are written in src/Pay.jsx; once the page "
        "carries it, anyone who opens the app can read it."
    )
    assert SHOP_SECRET not in found[0].model_dump_json() and "pg-pass-77aa91" not in found[0].model_dump_json()
    twin = 'export function Pay() {\n  return fetch("/api/pay")\n}\n'  # the server adds the key
    assert secret_findings({"src/Pay.jsx": twin.encode(), "server.js": b"const key = process.env.SHOP_SECRET\n"}, private) == []


def test_a_source_maps_copy_of_a_source_with_a_key_is_found_at_its_source_line() -> None:
    planted = f"const s3 = new S3({{accessKeyId: '{AWS_KEY}'}})\nexport default s3\n"
    found = secret_findings({"assets/index-B2x.js.map": source_map("// uploads\n" + planted)}, {})
    assert shown(found) == [("aws-access-key", "critical", "assets/index-B2x.js.map", None)]
    assert "its copy of ../src/pay.js, line 2" in found[0].message
    assert secret_findings({"assets/index-B2x.js.map": source_map("export const s3 = null\n")}, {}) == []


def test_binary_files_and_a_private_keys_header_alone_are_no_findings_but_a_whole_key_is() -> None:
    picture = b"\x89PNG\r\n\x1a\n\x00\x00" + STRIPE_SECRET.encode()
    label = b'const PEM = "-----BEGIN RSA PRIVATE KEY-----";\n'  # what a PEM parser in a bundle carries
    assert secret_findings({"logo.png": picture, "assets/pem.js": label}, {}) == []
    key = b'const k = "-----BEGIN RSA PRIVATE KEY-----\\n' + b"MIIEowIBAAKCAQEA" * 8 + b'";\n'
    assert shown(secret_findings({"assets/pem.js": key}, {})) == [("private-key", "critical", "assets/pem.js", 1)]


def test_a_browser_token_is_high_and_a_service_token_critical() -> None:
    anon = f'createClient("https://db.example.org", "{jwt({"role": "anon"})}")\n'
    service = f'createClient("https://db.example.org", "{jwt({"role": "service_role"})}")\n'
    assert shown(secret_findings({"app.js": anon.encode()}, {})) == [("json-web-token", "high", "app.js", 1)]
    assert shown(secret_findings({"app.js": service.encode()}, {})) == [("json-web-token", "critical", "app.js", 1)]


def test_rules_findings_by_risk() -> None:
    risky = {
        "collections": {
            "bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "public"},
            "notes": {"read": "signed-in", "create": "signed-in", "update": "signed-in"},
            "menu": {"read": "public", "create": "public"},
        }
    }
    found = rules_findings(json.dumps(risky, indent=2).encode())
    assert [(f.kind, f.severity, f.file, f.line) for f in found] == [
        ("public-write", Severity.critical, ".forja/data.json", 3),
        ("public-read", Severity.high, ".forja/data.json", 14),
        ("signed-in-write", Severity.high, ".forja/data.json", 9),
        ("signed-in-read", Severity.medium, ".forja/data.json", 9),
    ]
    assert found[0].message == "Anyone, even without signing in, can delete any row of 'bookings' and add rows to 'menu'."
    assert found[3].message == "Anyone who signs in can see every row of 'notes', not only their own."
    safe = {"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"}}}
    assert rules_findings(json.dumps(safe).encode()) == [] and rules_findings(None) == []


def test_the_starters_own_files_have_no_finding_but_the_bookings_starters_taken_times() -> None:
    """What an on-demand review reads before the first publish; the taken times (a day and a time, no name) are a
    medium finding, which stops no publish."""
    for starter in load_starters():
        files = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title="Cuts")).items()}
        found = secret_findings(files, {}, served=False) + rules_findings(files.get(".forja/data.json"))
        expected = [("signed-in-read", Severity.medium)] if starter.name == "bookings" else []
        assert [(f.kind, f.severity) for f in found] == expected, starter.name
        if found:
            assert "'taken'" in found[0].message


def test_unreadable_rules_are_one_critical_finding_with_the_sentence_of_what_to_write() -> None:
    (found,) = rules_findings(b'{"collections": {"bookings": {"read": "everyone"}}}')
    assert (found.kind, found.severity) == ("unreadable", Severity.critical)
    assert '"read" must be "public", "signed-in", "owner" or "admin"' in found.message
