"""Starter templates: manifests load, prompts pick the right starter, renders are safe and valid.

Fast and offline. That each starter really installs and runs is checked by
scripts/check_starters.py, which needs the package registries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from builder import app_backend
from builder.api.app_auth import PAGES
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import RULES_PATH, Action, Who, allows, parse_rules, read_filter, risks
from builder.errors import StarterError
from builder.filetree import is_utf8_text, normalize_path
from builder.generation.prompts import system_prompt
from builder.generation.starters import (
    Starter,
    StarterVariables,
    choose_starter,
    load_starters,
    render_starter,
    starter_conventions,
)
from preview_runtime.check_script import is_check_path, parse_checks
from preview_runtime.plan import plan_for

EXPECTED = {
    "react-vite-tailwind",
    "vue-vite",
    "svelte-vite",
    "html",
    "express-api",
    "fastapi",
    "flask",
    "fullstack-react-fastapi",
    "bookings",
}
# The list starters' module for Forja's sign-in and data.
LIST_MODULE = "src/lib/forjaData.js"
EVIL_TITLE = "Tom's <script>\"&' Bakery"
MARKERS = ("[[", "]]", "[%", "%]", "[#", "#]")


def variables(**overrides: object) -> StarterVariables:
    values: dict[str, object] = {
        "title": EVIL_TITLE,
        "tagline": "Fresh bread & <b>cakes</b>, every morning.",
        "prompt": 'a landing page for "my" bakery </script>',
        "features": ["Order <online>", "Opening hours", 'Quotes " and \\ backslashes'],
        "accent": "#ea580c",
        "dark": True,
        "item_noun": "order",
        "item_noun_plural": "orders",
    }
    values.update(overrides)
    return StarterVariables.model_validate(values)


@pytest.fixture(scope="module")
def starters() -> list[Starter]:
    return load_starters()


@pytest.fixture(scope="module")
def rendered(starters: list[Starter]) -> dict[str, dict[str, str]]:
    return {s.name: render_starter(s, variables()) for s in starters}


def by_name(starters: list[Starter], name: str) -> Starter:
    return next(s for s in starters if s.name == name)


# -- Manifests ------------------------------------------------------------------------------


def test_every_manifest_loads(starters: list[Starter]) -> None:
    assert {s.name for s in starters} == EXPECTED
    for s in starters:
        assert s.root.name == s.name
        assert s.title and s.description and s.conventions and s.stack
        assert s.file_paths(), s.name
        assert all(is_utf8_text((s.files_dir / p).read_bytes()) for p in s.file_paths()), s.name


def test_load_starters_is_cached(starters: list[Starter]) -> None:
    again = load_starters()
    assert again == starters
    assert again[0] is starters[0]


def _write_starter(root: Path, name: str, manifest: object, files: dict[str, bytes] | None = None) -> Path:
    folder = root / name
    (folder / "files").mkdir(parents=True)
    (folder / "template.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest), encoding="utf-8")
    for rel, data in (files or {"index.html": b"<title>[[ title ]]</title>\n"}).items():
        path = folder / "files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def _manifest(name: str, **overrides: object) -> dict[str, object]:
    manifest: dict[str, object] = {
        "name": name,
        "title": "Test",
        "stack": ["html"],
        "keywords": ["test"],
        "description": "A test starter.",
        "conventions": "None.",
    }
    manifest.update(overrides)
    return manifest


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "could not be read"),
        (["a", "list"], "must be a JSON object"),
        ({k: v for k, v in _manifest("broken").items() if k != "description"}, "description"),
        (_manifest("broken", run={"install": "x", "dev": "y", "port": 8080}), "run"),
        (_manifest("broken", colour="red"), "colour"),
        (_manifest("other-name"), "must match its folder"),
    ],
)
def test_invalid_manifest_names_the_file(tmp_path: Path, manifest: object, message: str) -> None:
    folder = _write_starter(tmp_path, "broken", manifest)
    with pytest.raises(StarterError, match=re.escape(message)) as err:
        load_starters(tmp_path)
    assert str(folder / "template.json") in str(err.value)


def test_missing_templates_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StarterError, match="does not exist"):
        load_starters(tmp_path / "nowhere")


# -- Choosing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("A landing page for my bakery", "html"),
        ("A portfolio site for a photographer", "html"),
        ("A todo list with dark mode", "react-vite-tailwind"),
        ("A recipe box where I can save and search recipes", "react-vite-tailwind"),
        ("a booking page for my barber shop", "bookings"),
        ("an app where members log in", "bookings"),
        ("a todo app in Vue", "vue-vite"),
        ("A habit tracker built with Svelte", "svelte-vite"),
        ("a FastAPI backend for notes", "fastapi"),
        ("a flask blog", "flask"),
        ("an express api for products", "express-api"),
        ("a full-stack app with a React front end and a Python API", "fullstack-react-fastapi"),
        ("a REST API for my inventory", "fastapi"),
        ("a plain HTML page for my band", "html"),
        ("something nice", "react-vite-tailwind"),
        ("", "react-vite-tailwind"),
        ("a website", "html"),
    ],
)
def test_choose_starter(starters: list[Starter], prompt: str, expected: str) -> None:
    assert choose_starter(prompt, starters).name == expected


def test_choose_starter_is_case_insensitive_and_uses_word_boundaries(starters: list[Starter]) -> None:
    assert choose_starter("A TODO LIST IN VUE", starters).name == "vue-vite"
    # "reactive", "flasks" and "expressive" are not stack names.
    assert choose_starter("a reactive todo list for my flasks collection, expressive", starters).name == "react-vite-tailwind"


def test_choose_starter_works_on_a_subset(starters: list[Starter]) -> None:
    only_python = [by_name(starters, "flask"), by_name(starters, "fastapi")]
    assert choose_starter("a todo list", only_python).name in {"flask", "fastapi"}
    with pytest.raises(ValueError):
        choose_starter("anything", [])


# -- Rendering ------------------------------------------------------------------------------


def test_render_leaves_no_markers(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        for path, text in files.items():
            for marker in MARKERS:
                assert marker not in text, f"{name}/{path} still contains {marker!r}"


def test_rendered_paths_obey_the_file_tree_rules(rendered: dict[str, dict[str, str]]) -> None:
    for files in rendered.values():
        for path in files:
            assert normalize_path(path) == path


def test_rendered_json_is_valid(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        for path, text in files.items():
            if path.endswith(".json"):
                data = json.loads(text)
                if path.endswith("site.json"):
                    assert data["title"] == EVIL_TITLE, f"{name}/{path}"


def test_rendered_python_compiles(rendered: dict[str, dict[str, str]]) -> None:
    count = 0
    for name, files in rendered.items():
        for path, text in files.items():
            if path.endswith(".py"):
                compile(text, f"{name}/{path}", "exec")
                count += 1
    assert count >= 5


def test_malicious_title_is_escaped(rendered: dict[str, dict[str, str]]) -> None:
    escaped_html = "Tom&#39;s &lt;script&gt;&#34;&amp;&#39; Bakery"
    for name, files in rendered.items():
        for path, text in files.items():
            assert "<script>\"&'" not in text, f"{name}/{path} has the raw title"
            assert "<b>cakes</b>" not in text, f"{name}/{path} has raw tagline HTML"
            if path.endswith(".js") and "Bakery" in text:
                assert "\\u003cscript\\u003e" in text, f"{name}/{path} must use tojson"
    assert rendered["html"]["README.md"].startswith("# Tom's &lt;script&gt;\"&' Bakery\n")
    # Every page that shows the title shows it escaped.
    for name, page in [
        ("html", "index.html"),
        ("bookings", "index.html"),
        ("react-vite-tailwind", "index.html"),
        ("vue-vite", "index.html"),
        ("svelte-vite", "index.html"),
        ("express-api", "public/index.html"),
        ("fastapi", "static/index.html"),
        ("fullstack-react-fastapi", "web/index.html"),
    ]:
        assert f"<title>{escaped_html}</title>" in rendered[name][page], name


def test_acceptance_checks_are_the_plans_checks_in_the_apps_words(
    starters: list[Starter], rendered: dict[str, dict[str, str]]
) -> None:
    # One Playwright Test file a check of the plan, in its order, titled with the check's text as Plan mode shows it.
    for s in starters:
        assert s.plan is not None, s.name
        scripts = {path: text for path, text in rendered[s.name].items() if is_check_path(path)}
        tests = [parse_checks(scripts[path]) for path in sorted(scripts)]
        assert all(len(found) == 1 for found in tests), s.name
        assert [found[0].title for found in tests] == list(s.plan.for_app(variables()).checks), s.name
        # Each opens a page first, so none depends on where another one left the browser.
        assert all(found[0].statements[0].source.startswith("await page.goto('/") for found in tests), s.name
    # The title reaches the file as JSON (`|tojson`): "\\u0026B" is "&B", as JavaScript reads it, not U+026B.
    files = render_starter(by_name(starters, "html"), variables(title="Bread&Butter <b>Cafe</b>"))
    first = parse_checks(files[next(path for path in sorted(files) if is_check_path(path))])[0]
    assert first.title == "Open the site: the name Bread&Butter <b>Cafe</b> and its tagline are at the top."


def test_flask_templates_keep_their_own_syntax(rendered: dict[str, dict[str, str]]) -> None:
    # Flask's Jinja runs at request time: the starter render must leave {{ }} and {% %} alone
    # and keep the person's words out of template code (they come from site.json).
    base = rendered["flask"]["templates/base.html"]
    assert "{{ site.title }}" in base and "{% block content %}" in base
    assert "Bakery" not in base


def test_features_and_nouns_are_used(rendered: dict[str, dict[str, str]], starters: list[Starter]) -> None:
    assert "Order &lt;online&gt;" in rendered["html"]["index.html"]
    site = rendered["react-vite-tailwind"]["src/site.js"]
    assert '"orders"' in site and "Order \\u003conline\\u003e" in site
    # With no features, the list apps still show useful default cards that name the items.
    plain = render_starter(by_name(starters, "react-vite-tailwind"), variables(features=[]))
    assert "Add orders" in plain["src/site.js"]
    plain_html = render_starter(by_name(starters, "html"), variables(features=[]))
    assert plain_html["index.html"].count('class="card"') >= 3


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("react-vite-tailwind", "index.html"),
        ("html", "index.html"),
        ("bookings", "index.html"),
        ("vue-vite", "index.html"),
        ("svelte-vite", "index.html"),
        ("express-api", "public/index.html"),
        ("fastapi", "static/index.html"),
        ("fullstack-react-fastapi", "web/index.html"),
    ],
)
def test_dark_mode_default(starters: list[Starter], name: str, page: str) -> None:
    starter = by_name(starters, name)
    assert '<html lang="en" class="dark">' in render_starter(starter, variables(dark=True))[page]
    light = render_starter(starter, variables(dark=False))[page]
    assert '<html lang="en">' in light and 'class="dark"' not in light


def test_flask_dark_mode_default(starters: list[Starter]) -> None:
    flask = by_name(starters, "flask")
    assert json.loads(render_starter(flask, variables(dark=True))["site.json"])["dark"] is True
    assert json.loads(render_starter(flask, variables(dark=False))["site.json"])["dark"] is False


def test_front_ends_have_a_theme_toggle(rendered: dict[str, dict[str, str]]) -> None:
    for name in EXPECTED:
        assert any("dark" in text and "localStorage" in text for text in rendered[name].values()), name


def test_accent_colour_reaches_the_styles(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        css = "".join(text for path, text in files.items() if path.endswith(".css"))
        assert "#ea580c" in css, name


def test_npm_dependencies_are_pinned_exactly(rendered: dict[str, dict[str, str]]) -> None:
    exact = re.compile(r"^\d+\.\d+\.\d+$")
    seen = 0
    for name, files in rendered.items():
        for path, text in files.items():
            if path.endswith("package.json"):
                data = json.loads(text)
                assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", data["name"]), f"{name}/{path} name {data['name']!r}"
                for section in ("dependencies", "devDependencies"):
                    for dep, version in data.get(section, {}).items():
                        assert exact.match(version), f"{name}/{path}: {dep} {version!r} is not an exact version"
                        seen += 1
    assert seen >= 15


def test_python_requirements_are_pinned_exactly(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        for path, text in files.items():
            if path.endswith("requirements.txt"):
                for line in text.splitlines():
                    if line.strip() and not line.startswith("#"):
                        assert re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[0-9][0-9A-Za-z.]*", line.strip()), f"{name}/{path}: {line!r}"


def test_starters_listen_where_forja_asks(starters: list[Starter], rendered: dict[str, dict[str, str]]) -> None:
    # Forja reads how to run a starter from its files, as for any project; the server gets PORT and HOST.
    for s in starters:
        files = {path: text.encode() for path, text in rendered[s.name].items()}
        plan = plan_for(files)
        tree = "\n".join(rendered[s.name].values()) + "\n" + plan.dev
        assert "PORT" in tree and "HOST" in tree, s.name


def test_the_bookings_starter_keeps_each_customers_bookings_their_own(rendered: dict[str, dict[str, str]]) -> None:
    # Its rules file is the only thing between one customer and another's bookings: the data API reads it as it is.
    rules = parse_rules(rendered["bookings"][RULES_PATH].encode())
    sam, kim, anyone = AppViewer(user_id="sam"), AppViewer(user_id="kim", role="admin"), AppViewer(user_id=None)
    assert allows(rules, "bookings", "create", sam, None) and not allows(rules, "bookings", "create", anyone, None)
    assert (read_filter(rules, "bookings", sam), read_filter(rules, "bookings", kim)) == ("own", "all")
    assert read_filter(rules, "bookings", anyone) == "none"
    for action in ("read", "update", "delete"):
        assert allows(rules, "bookings", action, sam, "sam") and allows(rules, "bookings", action, kim, "sam")
        assert not allows(rules, "bookings", action, AppViewer(user_id="lee"), "sam"), action
    assert list(rules.collections) == ["bookings", "taken"]
    # Which times are taken every signed-in customer reads, and that is the one thing the Publish dialog warns of.
    assert risks(rules) == ["Anyone who signs in can see every row of 'taken', not only their own."]
    assert (read_filter(rules, "taken", sam), read_filter(rules, "taken", anyone)) == ("all", "none")
    assert allows(rules, "taken", "create", sam, None) and not allows(rules, "taken", "create", anyone, None)
    assert allows(rules, "taken", "delete", sam, "sam") and allows(rules, "taken", "delete", kim, "sam")
    assert not allows(rules, "taken", "delete", AppViewer(user_id="lee"), "sam")
    assert not allows(rules, "taken", "update", sam, "sam") and not allows(rules, "taken", "update", kim, "sam")
    # The app's code never handles a password: sign-in is Forja's pages, reached through its client.
    code = "".join(text for path, text in rendered["bookings"].items() if path.endswith((".js", ".html")))
    assert '<script src="/_forja/client.js"' in code and "forja.auth.signInUrl()" in code
    assert "password" not in code.lower()
    # A taken row says when, never who: the app writes only the day and the time to it, and never changes one.
    taken = re.findall(r"forja\.data\('taken'\)\.(\w+)\(([^)]*)\)", code)
    assert {call for call, _ in taken} == {"list", "create", "remove"}
    assert [argument for call, argument in taken if call == "create"] == ["{ day, time }"]


@pytest.mark.parametrize("name", ["react-vite-tailwind", "vue-vite", "svelte-vite"])
def test_a_list_starter_keeps_a_signed_in_persons_items_their_own(
    starters: list[Starter], rendered: dict[str, dict[str, str]], name: str
) -> None:
    files = rendered[name]
    # Its rules keep each person's rows to them alone, and open nothing to the public: a publish warns of nothing.
    rules = parse_rules(files[RULES_PATH].encode())
    assert list(rules.collections) == ["items"] and risks(rules) == []
    sam, lee, anyone = AppViewer(user_id="sam"), AppViewer(user_id="lee"), AppViewer(user_id=None)
    assert allows(rules, "items", "create", sam, None) and not allows(rules, "items", "create", anyone, None)
    assert (read_filter(rules, "items", sam), read_filter(rules, "items", anyone)) == ("own", "none")
    for action in ("read", "update", "delete"):
        assert allows(rules, "items", action, sam, "sam"), action
        assert not allows(rules, "items", action, lee, "sam") and not allows(rules, "items", action, anyone, "sam"), action
    # One module, the same in each list starter, asks Forja's API itself: the page has no client.js script to break
    # where no Forja serves it, and it names only pages Forja has.
    module = files[LIST_MODULE]
    assert module == rendered["react-vite-tailwind"][LIST_MODULE]
    assert "/_forja/client.js" not in files["index.html"]
    assert set(re.findall(r"/_forja/auth/([\w-]+)", module)) == {"me", "sign-in", "sign-out"} <= {"me", *PAGES}
    assert "'/_forja/data/items'" in module and "mine=1" in module
    # What the model and the person are told of it.
    starter = by_name(starters, name)
    assert starter.plan is not None and "once a person signs in" in starter.plan.for_app(variables()).data
    assert "`items` collection" in starter.conventions and LIST_MODULE in starter.conventions
    assert "sign in" in starter.description


# -- Variables and refusals -------------------------------------------------------------------


def test_variables_defaults_and_validation() -> None:
    v = StarterVariables()
    assert v.title and v.item_noun == "item" and v.item_noun_plural == "items" and v.features == []
    assert StarterVariables(item_noun="box").item_noun_plural == "boxes"
    assert StarterVariables(title="Sunrise Bakery!").slug == "sunrise-bakery"
    assert StarterVariables(title="<<>>").slug == "app"
    assert StarterVariables(features=[" a ", "", "  "]).features == ["a"]
    with pytest.raises(ValidationError):
        StarterVariables(accent="red; background: url(x)")
    with pytest.raises(ValidationError):
        StarterVariables(title="")
    with pytest.raises(ValidationError):
        StarterVariables(colour="red")  # type: ignore[call-arg]


def test_render_refuses_binary_files(tmp_path: Path) -> None:
    _write_starter(tmp_path, "with-image", _manifest("with-image"), {"index.html": b"<p>hi</p>\n", "logo.png": b"\x89PNG\r\n"})
    (starter,) = load_starters(tmp_path)
    with pytest.raises(StarterError, match="is not UTF-8 text; starters must be text-only"):
        render_starter(starter, StarterVariables())


def test_render_refuses_unknown_variables(tmp_path: Path) -> None:
    _write_starter(tmp_path, "typo", _manifest("typo"), {"index.html": b"<h1>[[ titel ]]</h1>\n"})
    (starter,) = load_starters(tmp_path)
    with pytest.raises(StarterError, match="titel"):
        render_starter(starter, StarterVariables())


def test_render_skips_local_caches(tmp_path: Path) -> None:
    files = {"index.html": b"<p>[[ title ]]</p>\n", "node_modules/x/index.js": b"junk", "__pycache__/a.pyc": b"\x00"}
    _write_starter(tmp_path, "cached", _manifest("cached"), files)
    (starter,) = load_starters(tmp_path)
    assert render_starter(starter, StarterVariables(title="Hi")) == {"index.html": "<p>Hi</p>\n"}


# -- Prompting --------------------------------------------------------------------------------


def test_starter_conventions_describe_every_starter(starters: list[Starter]) -> None:
    text = starter_conventions(starters)
    for s in starters:
        assert f"`{s.name}`" in text
        plan = plan_for({path: text.encode() for path, text in render_starter(s, StarterVariables()).items()})
        assert f"dev `{plan.dev}`" in text and s.conventions in text
        for path in s.file_paths():
            assert f"- {path}" in text


def test_the_system_prompt_tells_of_forjas_sign_in_and_data_as_they_are() -> None:
    # What the model is told to call must exist: each page, each method of client.js, each word of the rules file.
    prompt = system_prompt()
    client = (Path(app_backend.__file__).parent / "client.js").read_text()
    for page in PAGES:
        assert f"/{page}`" in prompt, page
    methods = ("me", "signInUrl", "signUpUrl", "signOutUrl", "list", "get", "create", "update", "replace", "remove", "watch")
    for method in methods:
        assert f"{method}(" in prompt and re.search(rf"\b{method}\b ?[(:]", client), method
    assert '<script src="/_forja/client.js"></script>' in prompt and "`GET /_forja/auth/me`" in prompt
    for word in (*get_args(Who), *get_args(Action), RULES_PATH, "deny by default"):
        assert word in prompt, word
