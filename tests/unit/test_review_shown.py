"""What the Publish dialog shows of a review that stopped a publish: worst first, how bad in words, where, and the
change request its Fix this sends, made from the finding's own fix, file and line, with no secret value."""

from __future__ import annotations

from builder.app_secrets import private_values
from builder.review.answers import Confirmation, FindingInfo
from builder.review.findings import Finding, Severity
from builder.review.secrets import secret_findings
from builder.review.shown import FindingRow, finding_row, fix_request, where, worst_first

SHOP_SECRET = "shop-" + "hush-41f9c2a7d3"  # in parts, so no scanner of this repository takes it for a real one


def info(finding: Finding, confirmed: bool = False) -> FindingInfo:
    mark = Confirmation(reason="Meant.", at="2026-01-01T00:00:00+00:00") if confirmed else None
    return FindingInfo(finding=finding, fingerprint=finding.fingerprint, stale=False, confirmed=mark)


def test_a_pasted_private_value_is_shown_as_must_fix_with_its_place_and_a_fix_request_without_the_value() -> None:
    page = f"<!doctype html>\n<html>\n<script>fetch('/api/pay', {{headers: {{key: '{SHOP_SECRET}'}}}})</script>\n</html>\n"
    files = {"src/App.jsx": page.encode()}
    (pasted,) = secret_findings(files, private_values({"SHOP_SECRET": SHOP_SECRET}, (), {}))
    row = finding_row(info(pasted))
    assert (row.severity, row.where, row.confirmed) == ("critical", "in src/App.jsx, line 3", False)
    assert row.message == pasted.message and SHOP_SECRET not in row.message
    request = fix_request(pasted)
    assert request.startswith(f"The review before publishing found a problem: {pasted.message} (It is in src/App.jsx, line 3.)")
    assert request.endswith(f"Change this: {pasted.fix}")
    assert SHOP_SECRET not in request


def test_findings_are_listed_worst_first_and_a_request_or_no_place_reads_in_words() -> None:
    def made(severity: Severity, kind: str, file: str = "", request: str = "") -> Finding:
        return Finding(
            check="doors", kind=kind, severity=severity, message=f"{kind}.", fix=f"Close {kind}.", file=file, request=request
        )

    low = made(Severity.low, "cookie", file="server.js")
    door = made(Severity.critical, "open-delete", request="DELETE /api/items/1 with no session")
    high = made(Severity.high, "cors")
    rows = [finding_row(i) for i in worst_first([info(low), info(high), info(door, confirmed=True)])]
    assert rows == [
        FindingRow("critical", "open-delete.", "when the app was sent DELETE /api/items/1 with no session", True),
        FindingRow("high", "cors.", "", False),
        FindingRow("low", "cookie.", "in server.js", False),
    ]
    assert (
        where(high) == ""
        and fix_request(high) == "The review before publishing found a problem: cors.\n\nChange this: Close cors."
    )
