"""preview_runtime.verify's PageChecker against pages served on loopback: what it reports, and what it keeps the page from.

Real headless Chromium, real HTTP servers on 127.0.0.1; the pages are written to show one problem each.
"""

from __future__ import annotations

from preview_runtime.verify import PageChecker
from tests.local_site import Site


async def test_a_working_page_passes_with_a_screenshot(checker: PageChecker, sites: list[Site]) -> None:
    site = Site({"/": (200, "<h1>Barber shop</h1><p>Book a cut.</p>")})
    sites.append(site)
    report = await checker.check(site.url + "/")
    assert report.problems == []
    assert report.screenshot is not None and report.screenshot[:3] == b"\xff\xd8\xff"


async def test_each_kind_of_problem_is_reported_in_words(checker: PageChecker, sites: list[Site]) -> None:
    page = (
        "<h1>Shop</h1><script src='/app.js'></script>"
        "<script>console.error('Could not load the prices'); fetch('/api/prices');</script>"
    )
    site = Site({"/": (200, page), "/app.js": (200, "undefinedFunction();")})
    sites.append(site)
    report = await checker.check(site.url + "/")
    messages = {(p.kind, p.message) for p in report.problems}
    assert ("console", "The browser console shows an error: Could not load the prices") in {
        (k, m.split(" (")[0]) for k, m in messages
    }
    assert ("request", "/api/prices answered 404 Not Found") in messages
    [exception] = [p for p in report.problems if p.kind == "exception"]
    assert "undefinedFunction is not defined" in exception.message and "(at /app.js:1)" in exception.message


async def test_a_blank_page_and_a_failing_route_are_problems(checker: PageChecker, sites: list[Site]) -> None:
    site = Site({"/": (200, "<div id='root'></div>"), "/api/health": (500, "<p>boom</p>"), "/about": (200, "<p>About</p>")})
    sites.append(site)
    report = await checker.check(site.url + "/", routes=["/about", "/api/health"])
    assert [(p.kind, p.message) for p in report.problems] == [
        ("blank", "The page is blank: nothing is visible on it."),
        ("route", "/api/health answered 500 Internal Server Error"),
    ]


async def test_the_page_reaches_only_its_own_origin(checker: PageChecker, sites: list[Site]) -> None:
    # Another server on this machine (Forja's API, say) must get nothing from the checked page: not a fetch,
    # not an image, not a script; and being kept from it is not the app's problem.
    other = Site({"/api/projects": (200, "<p>secret</p>")})
    page = (
        f"<h1>App</h1><img src='{other.url}/api/projects'>"
        f"<script>fetch('{other.url}/api/projects', {{mode: 'no-cors'}}).catch(() => {{}});</script>"
        f"<script src='{other.url}/api/projects'></script>"
    )
    site = Site({"/": (200, page)})
    sites.extend([other, site])
    report = await checker.check(site.url + "/")
    assert other.requested == []
    assert report.problems == []


async def test_forjas_own_paths_are_not_the_apps_missing_files(checker: PageChecker, sites: list[Site]) -> None:
    # /_forja/ is Forja's on an app's address: a refusal there (not signed in), nothing there yet, or an edge that did not
    # reach Forja's server is no file to write.
    page = (
        "<h1>Bookings</h1><script src='/_forja/client.js'></script>"
        "<script>fetch('/_forja/data/bookings'); fetch('/_forja/auth/nowhere'); fetch('/bookings.json');"
        "fetch('/_forja/auth/me');"
        "fetch('/_forja/data/broken'); fetch('/_forja/data/bookings?limit=1000');</script>"
    )
    site = Site(
        {
            "/": (200, page),
            "/_forja/data/bookings": (401, '{"detail": "Sign in first."}'),
            "/_forja/auth/me": (502, "Bad Gateway"),
            "/_forja/data/broken": (500, "{}"),
            "/_forja/data/bookings?limit=1000": (422, '{"detail": "A list holds at most 100 rows."}'),
        }
    )
    sites.append(site)
    report = await checker.check(site.url + "/")
    # A request Forja cannot answer, and Forja failing, are still problems; the app's own missing file is one as ever.
    assert sorted((p.kind, p.message) for p in report.problems) == [
        ("request", "/_forja/data/bookings?limit=1000 answered 422 Unprocessable Entity"),
        ("request", "/_forja/data/broken answered 500 Internal Server Error"),
        ("request", "/bookings.json answered 404 Not Found"),
    ]
