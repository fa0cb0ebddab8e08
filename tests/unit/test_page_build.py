"""builder.launch.page: the run command builds the page again only when what the build reads changed, and compiles
it again only when what the compile reads changed (builder.launch.app_sources); builder.launch.compress: the build's
brotli files."""

from __future__ import annotations

import ast
import gzip
import json
import shutil
from pathlib import Path

import brotli
import pytest

from builder.launch.app_sources import sources_digest
from builder.launch.compress import quality, with_brotli
from builder.launch.page import STAMP, PageBuild, inputs_digest

ENV_3000 = '{"EVENT": "ws://localhost:3000/_event", "PING": "http://localhost:3000/ping", "TEST_MODE": false}'
ENV_4123 = '{"EVENT": "ws://localhost:4123/_event", "PING": "http://localhost:4123/ping", "TEST_MODE": false}'


def compiled_page(web: Path) -> Path:
    """A .web folder as Reflex leaves it after compiling: sources, installed packages, an earlier build."""
    (web / "app" / "routes").mkdir(parents=True)
    (web / "app" / "routes" / "index.jsx").write_text("export default () => 'home'")
    (web / "env.json").write_text(ENV_3000)
    (web / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (web / "node_modules" / "react").mkdir(parents=True)
    (web / "node_modules" / "react" / "index.js").write_text("react")
    (web / "reflex.json").write_text('{"last_reflex_run_datetime": "2026-11-25 06:21:17"}')
    return web


class ReflexBuild:
    """Stands for `npm run export` as Reflex runs it: the build folder removed, then written again."""

    def __init__(self, web: Path, fails: bool = False) -> None:
        self.web, self.fails, self.runs = web, fails, 0

    def __call__(self) -> None:
        self.runs += 1
        shutil.rmtree(self.web / "build", ignore_errors=True)
        if self.fails:
            raise SystemExit(1)
        (self.web / "build" / "client" / "assets").mkdir(parents=True)
        (self.web / "build" / "client" / "index.html").write_text(f"build {self.runs}")
        # Vite bundles env.json into a chunk of its own, compressed beside it.
        env = json.loads((self.web / "env.json").read_text())
        chunk = "const e={" + ",".join(f"{key}:`{value}`" for key, value in env.items()) + "};export{e as t};"
        for part in ("client", "server"):
            (self.web / "build" / part / "assets").mkdir(parents=True, exist_ok=True)
            (self.web / "build" / part / "assets" / "reflex-env-Dg1.js").write_text(chunk)
        (self.web / "build" / "client" / "assets" / "reflex-env-Dg1.js.gz").write_bytes(gzip.compress(chunk.encode()))
        (self.web / "build" / "client" / "assets" / "reflex-env-Dg1.js.br").write_bytes(brotli.compress(chunk.encode()))


def test_the_digest_follows_the_sources_node_and_the_build_environment_only(tmp_path: Path) -> None:
    web = compiled_page(tmp_path / ".web")
    first = inputs_digest(web, {}, "v24.19.0")
    (web / "build" / "client").mkdir(parents=True)
    (web / "build" / "client" / "index.html").write_text("built")
    (web / "node_modules" / "react" / "index.js").write_text("changed in place")
    (web / "reflex.json").write_text('{"last_reflex_run_datetime": "2026-11-26 09:00:00"}')
    assert inputs_digest(web, {"HOME": "/elsewhere"}, "v24.19.0") == first

    assert inputs_digest(web, {}, "v24.20.0") != first
    assert inputs_digest(web, {"VITE_MINIFY": "false"}, "v24.19.0") != first
    # A build compressed only with gzip has no brotli files to serve: another list of formats is built again.
    assert inputs_digest(web, {}, "v24.19.0", ["gzip"]) != inputs_digest(web, {}, "v24.19.0", ["brotli", "gzip"])
    (web / "env.json").write_text(ENV_4123)  # another FORJA_PORT: not built again (see below)
    assert inputs_digest(web, {}, "v24.19.0") == first


def test_an_unchanged_page_is_not_built_again(tmp_path: Path) -> None:
    web = compiled_page(tmp_path / ".web")
    build = ReflexBuild(web)
    page = PageBuild(build, lambda: web, lambda: "v24.19.0")
    page()
    assert (build.runs, page.skipped) == (1, False)
    assert (web / STAMP).is_file()

    again = PageBuild(build, lambda: web, lambda: "v24.19.0")
    again()
    assert (build.runs, again.skipped) == (1, True)
    assert (web / "build" / "client" / "index.html").read_text() == "build 1"

    (web / "app" / "routes" / "index.jsx").write_text("export default () => 'changed'")
    PageBuild(build, lambda: web, lambda: "v24.19.0")()
    assert build.runs == 2


def test_the_app_is_compiled_again_only_when_its_sources_or_the_compiled_page_changed(tmp_path: Path) -> None:
    web = compiled_page(tmp_path / ".web")
    sources = ["code 1"]
    build = ReflexBuild(web)
    page = PageBuild(build, lambda: web, lambda: "v24.19.0", sources=lambda: sources[0])
    assert not page.compile_unchanged()  # never built
    page()
    assert page.compile_unchanged()
    assert not PageBuild(build, lambda: web, lambda: "v24.19.0").compile_unchanged()  # sources not known

    sources[0] = "code 2"
    assert not page.compile_unchanged()
    page()  # compiled again (the same files here), and built: the record follows
    assert (build.runs, page.compile_unchanged()) == (1, True)

    (web / "app" / "routes" / "index.jsx").write_text("export default () => 'edited by hand'")
    assert not page.compile_unchanged()
    page()
    assert (build.runs, page.compile_unchanged()) == (2, True)

    shutil.rmtree(web / "build")  # Reflex removes it when a build starts: a build that failed records nothing
    assert not page.compile_unchanged()


def test_what_the_compile_reads_counts_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "builder" / "pages").mkdir(parents=True)
    (tmp_path / "builder" / "pages" / "home.py").write_text("title = 'Forja'")
    (tmp_path / "rxconfig.py").write_text("config = 1")
    first = sources_digest(tmp_path)

    (tmp_path / "builder" / "__pycache__").mkdir()
    (tmp_path / "builder" / "__pycache__" / "home.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "forja.db").write_bytes(b"a Forja's data")
    assert sources_digest(tmp_path) == first

    (tmp_path / "builder" / "pages" / "home.py").write_text("title = 'Forja!'")
    assert sources_digest(tmp_path) != first
    (tmp_path / "builder" / "pages" / "home.py").write_text("title = 'Forja'")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "editor.js").write_text("export {}")
    assert sources_digest(tmp_path) != first


def _settings_read_when_built(path: Path) -> list[int]:
    """Lines of a state module where a setting is read in a class body (a state variable's default, compiled into the
    page), not in a method (when a person uses the page)."""
    found: list[int] = []

    def visit(node: ast.AST, in_class: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if in_class and isinstance(node, ast.Name) and node.id == "settings":
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_class or isinstance(node, ast.ClassDef))

    visit(ast.parse(path.read_text()), False)
    return found


def test_no_page_or_component_reads_a_setting_when_it_is_built() -> None:
    """What app_sources.py leaves out of the compile's digest: a page built from a setting would be served as another
    Forja's settings made it."""
    builder = Path(__file__).resolve().parents[2] / "builder"
    built = [*(builder / "pages").glob("*.py"), *(builder / "components").glob("*.py")]
    assert built and [p.name for p in built if _reads_settings(p)] == []
    states = list((builder / "state").glob("*.py"))
    assert states and {p.name: lines for p in states if (lines := _settings_read_when_built(p))} == {}


def _reads_settings(path: Path) -> bool:
    """The module imports Forja's settings or names them (not in words: in code)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("builder.settings"):
            return True
        if isinstance(node, ast.Name) and node.id == "settings":
            return True
    return False


def test_a_failed_or_removed_build_is_built_again(tmp_path: Path) -> None:
    web = compiled_page(tmp_path / ".web")
    PageBuild(ReflexBuild(web), lambda: web, lambda: "v24.19.0")()
    (web / "app" / "routes" / "index.jsx").write_text("export default () => 'broken'")
    with pytest.raises(SystemExit):
        PageBuild(ReflexBuild(web, fails=True), lambda: web, lambda: "v24.19.0")()
    assert not (web / STAMP).exists()

    build = ReflexBuild(web)
    PageBuild(build, lambda: web, lambda: "v24.19.0")()
    assert build.runs == 1

    shutil.rmtree(web / "build" / "client")  # the stamp alone is no build
    PageBuild(build, lambda: web, lambda: "v24.19.0")()
    assert build.runs == 2


def test_a_build_for_another_address_is_served_with_this_one(tmp_path: Path) -> None:
    web = compiled_page(tmp_path / ".web")
    build = ReflexBuild(web)
    PageBuild(build, lambda: web, lambda: "v24.19.0")()
    (web / "env.json").write_text(ENV_4123)  # FORJA_PORT=4123, or a copy of the page for a second Forja
    moved = PageBuild(build, lambda: web, lambda: "v24.19.0")
    moved()
    assert (build.runs, moved.skipped) == (1, True)
    for chunk in (web / "build").rglob("reflex-env-*.js"):
        assert (
            chunk.read_text()
            == "const e={EVENT:`ws://localhost:4123/_event`,PING:`http://localhost:4123/ping`,TEST_MODE:`False`};export{e as t};"
        )
    chunk = (web / "build" / "client" / "assets" / "reflex-env-Dg1.js").read_text()
    assert gzip.decompress((web / "build" / "client" / "assets" / "reflex-env-Dg1.js.gz").read_bytes()).decode() == chunk
    assert brotli.decompress((web / "build" / "client" / "assets" / "reflex-env-Dg1.js.br").read_bytes()).decode() == chunk
    assert not any("3000" in path.read_text() for path in (web / "build").rglob("*.js"))

    # Anything but an address differs: built again.
    (web / "env.json").write_text(ENV_4123.replace("false", "true"))
    PageBuild(build, lambda: web, lambda: "v24.19.0")()
    assert build.runs == 2


def test_the_builds_brotli_files_are_written_beside_its_own(tmp_path: Path) -> None:
    client = tmp_path / "client"
    (client / "assets").mkdir(parents=True)
    chunk = ("export const greeting = `hello`;\n" * 40).encode()
    (client / "assets" / "root-Dg1.js").write_bytes(chunk)
    (client / "assets" / "tiny-Dg1.js").write_bytes(b"export{};")  # under 256 bytes: not worth it
    (client / "assets" / "logo-Dg1.png").write_bytes(bytes(range(256)) * 4)  # compressed already
    (client / "index.html").write_text("<!doctype html><p>hi</p>")  # pages always, as Reflex does
    formats_reflex_got: list[tuple[str, ...]] = []

    def reflex_compress(directory: Path, formats: tuple[str, ...]) -> None:  # Reflex's Node step, gzip only here
        formats_reflex_got.append(formats)

    with_brotli(reflex_compress)(client, ("brotli", "gzip"))
    assert formats_reflex_got == [("gzip",)]
    assert brotli.decompress((client / "assets" / "root-Dg1.js.br").read_bytes()) == chunk
    assert brotli.decompress((client / "index.html.br").read_bytes()) == b"<!doctype html><p>hi</p>"
    assert sorted(path.name for path in client.rglob("*.br")) == ["index.html.br", "root-Dg1.js.br"]

    for packed in client.rglob("*.br"):
        packed.unlink()
    with_brotli(reflex_compress)(client, ("gzip",))  # brotli not asked for: none written
    assert formats_reflex_got[-1] == ("gzip",)
    assert not list(client.rglob("*.br"))


def test_brotli_quality_falls_with_a_files_size() -> None:
    # 11 for what a page loads first (its pruned stylesheet too), 10 up to a megabyte, 9 for Monaco's megabytes.
    assert [quality(size) for size in (300, 512 << 10, (512 << 10) + 1, 1 << 20, 7_000_000)] == [11, 11, 10, 10, 9]
