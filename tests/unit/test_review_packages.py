"""The review's packages check (builder/review/packages.py) against a real registry and advisory feed on loopback.

Each planted project is the React starter's real lockfile (or a starter's real requirements) with one package added
that the check must catch, and its clean twin is the same project without it: the twin must have no finding at all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from builder.errors import PackagesRefused
from builder.review.findings import Finding, Severity
from builder.review.install_commands import install_manifests
from builder.review.lockfiles import Ecosystem, dependencies
from builder.review.packages import package_findings
from builder.review.typos import misspelled
from builder.services.install_gate import InstallGate
from builder.settings.review_packages import ReviewPackageSettings
from preview_runtime.local.registry_reading import Verdict
from tests.package_registry import Registry, RegistryServer, Version, days_ago, registry_in_child

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parent
# `npm install --package-lock-only` of templates/react-vite-tailwind's package.json, from the starters' npm cache.
REACT_LOCK = (HERE / "review_packages" / "react-starter-package-lock.json").read_text()
STARTER_REQUIREMENTS = "flask==3.1.3\nfastapi==0.165.0\nuvicorn==0.54.0\n"  # templates/flask's and templates/fastapi's

LODASH_ADVISORY = {
    "id": "GHSA-35jh-r3h4-6jhm",
    "summary": "Command Injection in lodash",
    "database_specific": {"severity": "HIGH"},
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
        }
    ],
}
JINJA_ADVISORY = {
    "id": "PYSEC-2019-217",
    "summary": "Sandbox escape in jinja2",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "jinja2"},
            "ecosystem_specific": {"severity": "MODERATE"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
        }
    ],
}
UNGRADED_ADVISORY = {"id": "GHSA-unrated-0001", "summary": "A problem nobody graded", "affected": []}


def _registry() -> Registry:
    lock = json.loads(REACT_LOCK)
    npm: dict[str, dict[str, Version]] = {}
    for key, entry in lock["packages"].items():
        if key:
            npm.setdefault(key.rsplit("node_modules/", 1)[1], {})[entry["version"]] = Version()
    npm |= {
        "raect": {"1.0.0": Version()},  # a look-alike someone published
        "fresh-charts": {"1.9.0": Version(), "2.0.0": Version(published=days_ago(1))},
        "old-router": {"1.0.0": Version(deprecated="No longer maintained; use new-router")},
        "lodash": {"4.17.20": Version(), "4.17.21": Version()},
        "left-pad": {"1.3.0": Version()},
        "@acme/forms": {"3.0.0": Version()},
        "tiny-graded": {"1.0.0": Version()},
    }
    pypi = {
        "flask": {"3.1.3": Version()},
        "fastapi": {"0.165.0": Version()},
        "uvicorn": {"0.54.0": Version()},
        "requets": {"2.32.3": Version()},
        "fresh-orm": {"0.1.0": Version(published=days_ago(0.2))},
        "oldlib": {"1.0.0": Version(yanked="broken build")},
        "jinja2": {"2.10": Version()},
    }
    advisories = {
        ("npm", "lodash", "4.17.20"): [LODASH_ADVISORY],
        ("npm", "tiny-graded", "1.0.0"): [UNGRADED_ADVISORY],
        ("PyPI", "jinja2", "2.10"): [JINJA_ADVISORY],
    }
    return Registry(npm=npm, pypi=pypi, advisories=advisories)


@pytest.fixture(scope="module")
def server() -> Iterator[RegistryServer]:
    running = RegistryServer(_registry())
    yield running
    running.close()


def _settings(url: str, **changes: object) -> ReviewPackageSettings:
    values = {
        "review_npm_registry": url,
        "review_pypi_url": f"{url}/pypi",
        "review_advisory_feed": url,
        "review_package_timeout_s": 2.0,
        "review_allowed_packages": "",
        "review_min_package_age_days": 2,
    }
    return ReviewPackageSettings.model_validate(values | changes)


def _review(tree: dict[str, bytes], settings: ReviewPackageSettings) -> list[Finding]:
    async def run() -> list[Finding]:
        async with httpx.AsyncClient() as client:
            return await package_findings(tree, client, settings)

    return asyncio.run(run())


def _planted(extra: dict[str, str] | None = None) -> dict[str, bytes]:
    """The React starter's lockfile with packages added (name to version)."""
    lock = json.loads(REACT_LOCK)
    for name, version in (extra or {}).items():
        lock["packages"][""]["dependencies"][name] = version
        tarball = f"https://registry.npmjs.org/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"
        lock["packages"][f"node_modules/{name}"] = {"version": version, "resolved": tarball}
    return {"package.json": b"{}", "package-lock.json": json.dumps(lock, indent=2).encode()}


def _line(tree: dict[str, bytes], path: str, needle: str) -> int:
    text = tree[path].decode()
    return text[: text.index(needle)].count("\n") + 1


def _summary(findings: list[Finding]) -> list[tuple[str, Severity, str, str]]:
    return [(f.kind, f.severity, f.file, f.request) for f in findings]


def test_the_react_starters_real_lockfile_has_no_finding(server: RegistryServer) -> None:
    template = json.loads(
        (REPO / "templates" / "react-vite-tailwind" / "files" / "package.json").read_text().replace("[[ slug|tojson ]]", '"s"')
    )
    root = json.loads(REACT_LOCK)["packages"][""]
    assert (root["dependencies"], root["devDependencies"]) == (template["dependencies"], template["devDependencies"])
    tree = {"package.json": b"{}", "package-lock.json": REACT_LOCK.encode()}
    assert len(dependencies(tree)) == len(json.loads(REACT_LOCK)["packages"]) - 1
    assert _review(tree, _settings(server.url)) == []


@pytest.mark.parametrize(
    ("planted", "kind", "severity", "shown_by"),
    [
        ({"react-auth-magic-kit": "1.0.0"}, "missing", Severity.critical, "npm react-auth-magic-kit 1.0.0"),
        ({"left-pad": "1.4.0"}, "missing-version", Severity.high, "npm left-pad 1.4.0"),
        ({"fresh-charts": "2.0.0"}, "too-new", Severity.high, "npm fresh-charts 2.0.0"),
        ({"old-router": "1.0.0"}, "deprecated", Severity.medium, "npm old-router 1.0.0"),
        ({"raect": "1.0.0"}, "misspelling", Severity.high, "npm raect 1.0.0"),
        ({"lodash": "4.17.20"}, "advisory", Severity.high, "npm lodash 4.17.20 GHSA-35jh-r3h4-6jhm"),
        ({"tiny-graded": "1.0.0"}, "advisory", Severity.high, "npm tiny-graded 1.0.0 GHSA-unrated-0001"),
    ],
)
def test_a_planted_npm_package_is_its_one_finding(
    server: RegistryServer, planted: dict[str, str], kind: str, severity: Severity, shown_by: str
) -> None:
    tree = _planted(planted)
    name = shown_by.split(" ")[1]
    findings = _review(tree, _settings(server.url))
    assert _summary(findings) == [(kind, severity, "package-lock.json", shown_by)]
    assert findings[0].line == _line(tree, "package-lock.json", f'"node_modules/{name}"')
    assert name in findings[0].message and name in findings[0].fix
    assert "http" not in findings[0].message and "FORJA" not in findings[0].message


def test_the_findings_say_what_is_wrong_in_words(server: RegistryServer) -> None:
    tree = _planted(
        {"raect": "1.0.0", "react-auth-magic-kit": "1.0.0", "old-router": "1.0.0", "fresh-charts": "2.0.0", "lodash": "4.17.20"}
    )
    words = {f.kind: (f.message, f.fix) for f in _review(tree, _settings(server.url))}
    assert "popular package react" in words["misspelling"][0] and "Replace raect with react" in words["misspelling"][1]
    assert "does not exist on npm" in words["missing"][0]
    assert "No longer maintained; use new-router" in words["deprecated"][0]
    assert "published only 24 hours ago" in words["too-new"][0]  # a day and the moments since the registry was made
    assert "Command Injection in lodash" in words["advisory"][0] and "Upgrade lodash to 4.17.21" in words["advisory"][1]


def test_a_misspelt_name_nobody_published_is_one_critical_finding(server: RegistryServer) -> None:
    findings = _review(_planted({"expres": "4.0.0"}), _settings(server.url))
    assert _summary(findings) == [("missing", Severity.critical, "package-lock.json", "npm expres 4.0.0")]
    assert "perhaps express was meant" in findings[0].message


def test_python_requirements_planted_and_clean(server: RegistryServer) -> None:
    settings = _settings(server.url)
    assert _review({"requirements.txt": STARTER_REQUIREMENTS.encode()}, settings) == []
    planted = {
        "requets==2.32.3": ("misspelling", Severity.high),
        "flask-sqlalchemy-magic==1.0": ("missing", Severity.critical),
        "fresh-orm==0.1.0": ("too-new", Severity.high),
        "oldlib==1.0.0": ("deprecated", Severity.medium),
        "Jinja2==2.10": ("advisory", Severity.medium),
    }
    for line, (kind, severity) in planted.items():
        text = STARTER_REQUIREMENTS + f"# added\n{line}  # planted\n"
        findings = _review({"api/requirements.txt": text.encode()}, settings)
        assert [(f.kind, f.severity, f.file, f.line) for f in findings] == [(kind, severity, "api/requirements.txt", 5)], line


def test_pyproject_dependencies_are_read_when_there_is_no_requirements_file(server: RegistryServer) -> None:
    pyproject = b'[project]\nname = "app"\ndependencies = [\n  "flask==3.1.3",\n  "requets>=2",\n]\n'
    findings = _review({"pyproject.toml": pyproject}, _settings(server.url))
    assert [(f.kind, f.request, f.line) for f in findings] == [("misspelling", "PyPI requets", 5)]


YARN_LOCK = """# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@vitejs/plugin-react@6.3.0":
  version "6.3.0"
  resolved "https://registry.yarnpkg.com/@vitejs/plugin-react/-/plugin-react-6.3.0.tgz#0bf0be125b67014adcb0b0921e62db7bffe16b2e"
  integrity sha512-PYAthTa2m2VKxuvSD3DPC/Gy+U+sOA1LAuT8mkmRuvw+NACSaeXEQ+NHcVF7rONl6qcaxV3Uuemwawk+7+SJLw==

react@19.3.1, react@^19.0.0:
  version "19.3.1"
  resolved "https://registry.yarnpkg.com/react/-/react-19.3.1.tgz"
  dependencies:
    scheduler "^0.27.0"
"""
PNPM_LOCK = """lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      react:
        specifier: 19.3.1
        version: 19.3.1

packages:

  '@vitejs/plugin-react@6.3.0':
    resolution: {integrity: sha512-MzCVoWtcg4Pm2B3je5mMvYMvj3MmBKw+fU7vbsJc9/iT8ip6/eYIHo/Dsm/mr+wsHB6SEyJDuxB09Yy6r/8+4A==}

  react@19.3.1:
    resolution: {integrity: sha512-JcrSPzPvZuNZvJqPTF9Fw25LbOJ8avzFVlaf2grmH4Cku0oGP47tRgqPZadcfj3YoZMHkFVnCYFbQM8I+i5QEw==}

snapshots:

  react@19.3.1: {}
"""


def test_yarn_and_pnpm_lockfiles_planted_and_clean(server: RegistryServer) -> None:
    settings = _settings(server.url)
    yarn_planted = (
        YARN_LOCK + '\nraect@^1.0.0:\n  version "1.0.0"\n  resolved "https://registry.yarnpkg.com/raect/-/raect-1.0.0.tgz"\n'
    )
    pnpm_planted = PNPM_LOCK.replace(
        "\nsnapshots:", "\n  fresh-charts@2.0.0:\n    resolution: {integrity: sha512-x}\n\nsnapshots:"
    )
    assert _review({"web/yarn.lock": YARN_LOCK.encode()}, settings) == []
    assert _review({"pnpm-lock.yaml": PNPM_LOCK.encode()}, settings) == []
    yarn_tree = {"web/yarn.lock": yarn_planted.encode()}
    pnpm_tree = {"pnpm-lock.yaml": pnpm_planted.encode()}
    yarn_line = _line(yarn_tree, "web/yarn.lock", "raect@^1.0.0:")
    pnpm_line = _line(pnpm_tree, "pnpm-lock.yaml", "fresh-charts@2.0.0:")
    assert [(f.kind, f.file, f.line) for f in _review(yarn_tree, settings)] == [("misspelling", "web/yarn.lock", yarn_line)]
    assert [(f.kind, f.file, f.line) for f in _review(pnpm_tree, settings)] == [("too-new", "pnpm-lock.yaml", pnpm_line)]


def test_a_package_json_without_lockfile_is_checked_by_name(server: RegistryServer) -> None:
    manifest = json.dumps({"dependencies": {"react": "^19.0.0", "react-auth-magic-kit": "^1.0.0", "lodash": "4.17.20"}})
    findings = _review({"package.json": manifest.encode()}, _settings(server.url))
    assert _summary(findings) == [
        ("missing", Severity.critical, "package.json", "npm react-auth-magic-kit"),
        ("advisory", Severity.high, "package.json", "npm lodash 4.17.20 GHSA-35jh-r3h4-6jhm"),
    ]


def test_allowed_names_may_be_new_and_look_like_popular_ones(server: RegistryServer) -> None:
    tree = _planted({"raect": "1.0.0", "fresh-charts": "2.0.0"})
    assert [f.kind for f in _review(tree, _settings(server.url))] == ["misspelling", "too-new"]
    assert _review(tree, _settings(server.url, review_allowed_packages="Raect, fresh-charts")) == []
    assert _review(tree, _settings(server.url, review_min_package_age_days=0.5, review_allowed_packages="raect")) == []


def test_packages_from_a_private_registry_are_not_asked_about(server: RegistryServer) -> None:
    lock = json.loads(_planted({"react-auth-magic-kit": "1.0.0", "@acme/secret-ui": "2.0.0"})["package-lock.json"])
    lock["packages"]["node_modules/react-auth-magic-kit"]["resolved"] = "https://npm.internal.example/r/-/r-1.0.0.tgz"
    tree = {"package-lock.json": json.dumps(lock).encode(), "web/.npmrc": b"@acme:registry=https://npm.internal.example/\n"}
    asked = len(server.registry.requested)
    assert _review(tree, _settings(server.url)) == []
    assert not [r for r in server.registry.requested[asked:] if "magic-kit" in r or "secret-ui" in r]
    assert _summary(_review({**tree, "web/.npmrc": b""}, _settings(server.url)))[0][3] == "npm @acme/secret-ui 2.0.0"


def test_one_request_per_name_a_scope_escaped_as_npm_does_and_answers_kept() -> None:
    registry = Registry(npm={"@acme/forms": {"3.0.0": Version(), "2.0.0": Version()}, "cache-probe": {"1.0.0": Version()}})
    running = RegistryServer(registry)
    try:
        lock = {"lockfileVersion": 3, "packages": {"": {}, "node_modules/@acme/forms": {"version": "3.0.0"}}}
        lock["packages"]["node_modules/cache-probe"] = {"version": "1.0.0"}
        lock["packages"]["node_modules/cache-probe/node_modules/@acme/forms"] = {"version": "2.0.0"}
        tree = {"package-lock.json": json.dumps(lock).encode()}
        settings = _settings(running.url)
        assert _review(tree, settings) == []
        assert sorted(r for r in registry.requested if r.startswith("GET")) == ["GET /@acme%2fforms", "GET /cache-probe"]
        assert registry.requested.count("POST /v1/querybatch") == 1
        asked = len(registry.requested)
        assert _review(tree, settings) == []
        assert len(registry.requested) == asked  # the second review asked nothing
    finally:
        running.close()


def test_an_outage_is_one_low_finding_per_source_and_never_raises(server: RegistryServer) -> None:
    down = RegistryServer(Registry())
    closed = down.url
    down.close()
    tree = _planted({"raect": "1.0.0", "fresh-charts": "2.0.0"})
    tree["requirements.txt"] = b"fresh-orm==0.1.0\n"
    started = time.monotonic()
    findings = _review(tree, _settings(closed))
    assert time.monotonic() - started < 2
    assert _summary(findings) == [
        ("misspelling", Severity.high, "package-lock.json", "npm raect 1.0.0"),  # needs no registry
        ("unchecked", Severity.low, "", "PyPI"),
        ("unchecked", Severity.low, "", "npm's registry"),
        ("unchecked", Severity.low, "", "the security advisory feed"),
    ]
    assert "could not be reached" in findings[1].message and "127.0.0.1" not in findings[1].message
    feed_down = RegistryServer(Registry())
    feed_down.status = 503
    try:
        findings = _review(_planted({"lodash": "4.17.20"}), _settings(server.url, review_advisory_feed=feed_down.url))
        assert [(f.kind, f.request) for f in findings] == [("unchecked", "the security advisory feed")]
        assert "answered with an error (503)" in findings[0].message
    finally:
        feed_down.close()


def test_a_registry_that_does_not_answer_in_time_costs_one_wait(server: RegistryServer) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        findings = _review(_planted(), _settings(url, review_package_timeout_s=0.3, review_advisory_feed=server.url))
        assert time.monotonic() - started < 1.5
        assert [(f.kind, f.message) for f in findings] == [
            (
                "unchecked",
                "The app's packages could not be checked for whether they exist, are deprecated or are too "
                "new: npm's registry did not answer in time. The next review tries again.",
            )
        ]
    finally:
        silent.close()


def test_three_hundred_packages_take_under_a_second_of_the_checks_time() -> None:
    """The processor time of the check itself (the registry runs in a process of its own): the wall time on a loaded
    machine (CI's two cores shared by two test workers) measures the load, not the check."""
    names = (REPO / "builder" / "review" / "popular-npm.txt").read_text().splitlines()[:300]
    lock = {"lockfileVersion": 3, "packages": {"": {}, **{f"node_modules/{n}": {"version": "1.0.0"} for n in names}}}
    tree = {"package-lock.json": json.dumps(lock).encode()}
    misspelled("npm", "warm-up")  # the names' index is built once per process, not per review
    with registry_in_child(Registry(npm={name: {"1.0.0": Version()} for name in names})) as url:
        started, wall = time.process_time(), time.monotonic()
        assert _review(tree, _settings(url)) == []
        took, waited = time.process_time() - started, time.monotonic() - wall
    assert took < 1.0, f"300 packages took {took:.2f} s of processor time ({waited:.2f} s in all)"


@pytest.mark.parametrize(
    ("ecosystem", "name", "popular"),
    [
        ("npm", "raect", "react"),
        ("npm", "loadsh", "lodash"),
        ("npm", "crossenv", "cross-env"),
        ("npm", "axois", "axios"),
        ("PyPI", "requets", "requests"),
        ("PyPI", "djnago", "django"),
        ("PyPI", "Requests", ""),
        ("npm", "preact", ""),
        ("npm", "react", ""),
        ("PyPI", "python_dateutil", ""),
    ],
)
def test_misspellings_of_popular_names(ecosystem: Ecosystem, name: str, popular: str) -> None:
    assert misspelled(ecosystem, name) == popular


def test_every_lockfile_format_names_its_registry_packages_and_skips_the_rest() -> None:
    lock_v1 = {
        "lockfileVersion": 1,
        "dependencies": {
            "react": {"version": "19.3.1", "resolved": "https://registry.npmjs.org/react/-/react-19.3.1.tgz"},
            "my-alias": {"version": "npm:raect@1.0.0"},
            "local-ui": {"version": "file:../ui"},
            "from-git": {"version": "git+https://example.invalid/x.git#abc", "resolved": "git+https://example.invalid/x.git#abc"},
            "vite": {"version": "8.3.8", "dependencies": {"esbuild": {"version": "0.28.2"}}},
        },
    }
    berry = (
        '__metadata:\n  version: 8\n\n"react@npm:^19.0.0":\n  version: 19.3.1\n  resolution: "react@npm:19.3.1"\n\n'
        '"ui@workspace:packages/ui":\n  version: 0.0.0-use.local\n  resolution: "ui@workspace:packages/ui"\n'
    )
    pnpm_v6 = "lockfileVersion: '6.0'\npackages:\n  /react@19.3.1:\n    resolution: {integrity: x}\n  /@vitejs/plugin-react@6.3.0(vite@8.3.8):\n    dev: true\n"
    pnpm_v5 = "lockfileVersion: 5.4\npackages:\n  /react/19.3.1:\n    resolution: {integrity: x}\n  /@scope/pkg/1.0.0_react@19.3.1:\n    dev: true\n"
    found = {
        name: [(d.name, d.version) for d in dependencies({name.split(":")[0]: text.encode()})]
        for name, text in {
            "package-lock.json": json.dumps(lock_v1),
            "yarn.lock": berry,
            "pnpm-lock.yaml:6": pnpm_v6,
            "pnpm-lock.yaml:5": pnpm_v5,
        }.items()
    }
    assert found == {
        "package-lock.json": [("react", "19.3.1"), ("raect", "1.0.0"), ("vite", "8.3.8"), ("esbuild", "0.28.2")],
        "yarn.lock": [("react", "19.3.1")],
        "pnpm-lock.yaml:6": [("react", "19.3.1"), ("@vitejs/plugin-react", "6.3.0")],
        "pnpm-lock.yaml:5": [("react", "19.3.1"), ("@scope/pkg", "1.0.0")],
    }
    workspace = {"pnpm-lock.yaml": pnpm_v6.encode(), "apps/web/package.json": b'{"dependencies": {"raect": "^1"}}'}
    assert [d.file for d in dependencies(workspace)] == ["pnpm-lock.yaml", "pnpm-lock.yaml"]  # the root's lock rules
    assert dependencies({"package-lock.json": b"{not json", "requirements.txt": b"-r base.txt\n-e .\ngit+https://x/y\n"}) == []
    assert dependencies({"package-lock.json": b"[" * 100_000 + b"]" * 100_000, "pnpm-lock.yaml": b"- a\n- b\n"}) == []


def test_addresses_that_are_not_http_are_refused_at_start_and_an_empty_index_is_not_asked(server: RegistryServer) -> None:
    for bad in ("registry.npmjs.org", "http://[bad", "ftp://mirror.example"):
        with pytest.raises(ValueError, match="is not an http:// or https:// address"):
            ReviewPackageSettings.model_validate({"review_advisory_feed": bad})
    asked = len(server.registry.requested)
    findings = _review(
        {"requirements.txt": b"requets==2.32.3\nflask-sqlalchemy-magic==1.0\n"},
        _settings(server.url, review_pypi_url="", review_advisory_feed=""),
    )
    assert [(f.kind, f.request) for f in findings] == [("misspelling", "PyPI requets 2.32.3")]
    assert server.registry.requested[asked:] == []


# -- the install gate (builder/services/install_gate.py): what a sandbox refuses to install ----------------------------


def _gate(asked: dict[str, bytes] | str, settings: ReviewPackageSettings) -> str:
    """The gate's refusal of a project's files, or of a shell line (a str), "" when it installs or runs."""

    async def run() -> str:
        gate = InstallGate(settings)
        try:
            await (gate.check_command(asked) if isinstance(asked, str) else gate.check(asked))
        except PackagesRefused as refused:
            return refused.message
        finally:
            await gate.close()
        return ""

    return asyncio.run(run())


def test_an_install_is_refused_for_a_name_nobody_published_a_look_alike_and_a_brand_new_version(
    server: RegistryServer,
) -> None:
    template = REPO / "templates" / "react-vite-tailwind" / "files" / "package.json"
    react = template.read_text().replace("[[ slug|tojson ]]", '"errands"').encode()
    settings = _settings(server.url)
    assert _gate({"package.json": react, "src/App.jsx": b""}, settings) == ""  # the starter's own names install
    manifest = json.loads(react)
    manifest["dependencies"] |= {"raect": "^1.0.0", "react-auth-magic-kit": "^1.0.0", "old-router": "^1.0.0"}
    refused = _gate({"package.json": json.dumps(manifest).encode()}, settings)
    assert refused.startswith("The app's packages were not installed: ")
    assert "react-auth-magic-kit does not exist on npm" in refused and "popular package react" in refused
    assert "old-router" not in refused  # deprecated: the review says so, the install goes on
    assert refused.endswith("Change package.json, then start it again.")
    requirements = {"requirements.txt": (STARTER_REQUIREMENTS + "fresh-orm==0.1.0\n").encode()}
    assert "fresh-orm 0.1.0 was published only" in _gate(requirements, settings)
    assert _gate(requirements, _settings(server.url, review_allowed_packages="fresh-orm")) == ""
    # A lockfile's packages are not asked about one by one: only the names the project asks for.
    asked = len(server.registry.requested)
    assert _gate(_planted({"raect": "1.0.0"}), settings) == ""  # its package.json asks for nothing
    assert server.registry.requested[asked:] == []


def test_a_workspaces_own_packages_are_not_asked_about(server: RegistryServer) -> None:
    root = {"name": "shop", "private": True, "workspaces": ["packages/*"], "dependencies": {"@shop/ui": "*"}}
    tree = {
        "package.json": json.dumps(root).encode(),
        "packages/ui/package.json": json.dumps({"name": "@shop/ui", "dependencies": {"react": "^19.0.0"}}).encode(),
    }
    assert [(d.name, d.file) for d in dependencies(tree)] == [("react", "packages/ui/package.json")]
    assert _gate(tree, _settings(server.url)) == ""


def test_an_unreachable_registry_refuses_no_install_but_a_look_alike_still_is(server: RegistryServer) -> None:
    offline = _settings("http://127.0.0.1:1")
    assert _gate({"package.json": json.dumps({"dependencies": {"react": "^19.0.0"}}).encode()}, offline) == ""
    # A look-alike is known without a registry (the popular names ship with Forja).
    assert "one or two letters away from the popular package react" in _gate(
        {"package.json": json.dumps({"dependencies": {"raect": "^1.0.0"}}).encode()}, offline
    )


@pytest.mark.parametrize(
    ("line", "npm", "pypi"),
    [
        ("npm install raect", {"raect": "latest"}, ""),
        ("cd web && npm i -D vite@8.3.8 @types/node", {"vite": "8.3.8", "@types/node": "latest"}, ""),
        ("NODE_ENV=dev pnpm add --filter web lodash; yarn add left-pad@^1", {"lodash": "latest", "left-pad": "^1"}, ""),
        ("bun add zod | tee log", {"zod": "latest"}, ""),
        ("python -m pip install -r requirements.txt requets==2.32.3 'flask[async]>=3'", {}, "requets==2.32.3\nflask[async]>=3\n"),
        ("uv pip install httpx && uv add rich && poetry add --group dev pytest", {}, "httpx\nrich\npytest\n"),
        # Nothing by a registry's name: paths, addresses, git and GitHub sources, a file of requirements.
        ("npm install ./lib https://example.org/a.tgz user/repo git+https://x/y.git && pip install -e . -r dev.txt", {}, ""),
        ("npm run build && npm test && pip list && echo 'npm install raect'", {}, ""),
        ("npm install 'unclosed", {}, ""),  # the shell could not split it
    ],
)
def test_the_packages_a_shell_line_installs_by_name(line: str, npm: dict[str, str], pypi: str) -> None:
    made = install_manifests(line)
    assert (json.loads(made["package.json"])["dependencies"] if "package.json" in made else {}) == npm
    assert made.get("requirements.txt", b"").decode() == pypi


def test_an_install_command_naming_a_refused_package_is_not_run(server: RegistryServer) -> None:
    settings = _settings(server.url)
    refused = _gate("npm install react raect", settings)
    assert refused.startswith("The command was not run: ") and "popular package react" in refused
    assert "react-auth-magic-kit does not exist on npm" in _gate("npm i react-auth-magic-kit", settings)
    assert "fresh-orm 0.1.0 was published only" in _gate("pip install fresh-orm==0.1.0", settings)
    assert _gate("npm install react && pip install flask", settings) == ""  # real, popular names run
    assert _gate("npm run build", settings) == ""


def test_what_an_installer_may_have_of_one_package_it_asks_the_registry_for(server: RegistryServer) -> None:
    """The egress proxy's question (preview_runtime/local/registry_relay.py): refused names, and the versions held back."""

    async def run(settings: ReviewPackageSettings, *asked: tuple[Ecosystem, str]) -> list[Verdict]:
        gate = InstallGate(settings)
        try:
            return [await gate.verdict(ecosystem, name) for ecosystem, name in asked]
        finally:
            await gate.close()

    settings = _settings(server.url)
    left_pad, fresh, fresh_orm, raect, invented = asyncio.run(
        run(settings, ("npm", "left-pad"), ("npm", "fresh-charts"), ("PyPI", "fresh-orm"), ("npm", "raect"), ("npm", "nope-kit"))
    )
    assert left_pad == Verdict() and fresh == Verdict(held_back=frozenset({"2.0.0"}))
    assert fresh_orm == Verdict(held_back=frozenset({"0.1.0"}))  # from PyPI's page of the project, every release's date
    assert raect.refusal.startswith("Forja did not let this package install: raect is one or two letters away from")
    assert "The package nope-kit does not exist on npm" in invented.refusal and not invented.held_back
    allowed = asyncio.run(run(_settings(server.url, review_allowed_packages="fresh-charts"), ("npm", "fresh-charts")))
    assert allowed == [Verdict()]
