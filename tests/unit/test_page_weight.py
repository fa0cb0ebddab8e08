"""What the page's build sends a phone: an icon whose name is known only in the browser (`rx.icon(State.x)` or
`rx.icon(rx.cond(...))`) makes Reflex import lucide's DynamicIcon, a 54 KB (gzip) map of every icon, on each page that
has one. An `rx.cond` between two named icons costs nothing. The build puts the icons in one file and Radix's components
in another (builder.launch.bundle), bundles only the Radix components pages use (builder.launch.window_libraries) and
compresses it with brotli too (builder.launch.compress)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import reflex as rx
from reflex.config import get_config
from reflex.utils import build, frontend_skeleton
from reflex_base.compiler.templates import app_root_template

from builder.launch.bundle import ChunkGroups, with_groups
from builder.launch.window_libraries import RadixOffWindow, without_radix_on_window

REPO = Path(__file__).resolve().parents[2]


def icons_named_in_the_browser(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "rx.icon"):
            continue
        tag = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "tag"), None)
        # A string, or a function's parameter that its callers give a string (download.py's `icon`).
        if not isinstance(tag, ast.Constant | ast.Name):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: rx.icon({ast.unparse(tag) if tag else ''})")
    return found


def test_every_icon_is_named_when_the_page_is_built() -> None:
    sources = sorted((REPO / "builder").rglob("*.py"))
    assert any("rx.icon(" in path.read_text() for path in sources)
    assert [line for path in sources for line in icons_named_in_the_browser(path)] == []


def test_forjas_chunk_groups_go_into_reflexs_vite_config_once() -> None:
    config = get_config()
    grouped = with_groups(frontend_skeleton._compile_vite_config(config))  # pyright: ignore[reportPrivateUsage]
    assert '{"name": "icons", "test": "/node_modules/lucide-react/dist/esm/icons/", "tags": ["$initial"]},' in grouped
    assert '{"name": "radix", "test": "/node_modules/@radix-ui/", "tags": ["$initial"]},' in grouped
    assert 'name: "reflex-env"' in grouped  # Reflex's own group stays
    assert with_groups(grouped) == grouped
    assert any(isinstance(plugin, ChunkGroups) for plugin in config.plugins)
    assert config.frontend_compression_formats == ["brotli", "gzip"]
    # Loading rxconfig put Forja's brotli in place of Reflex's (builder.launch.compress).
    assert getattr(build._compress_static_output, "forja_brotli", False)  # pyright: ignore[reportPrivateUsage]


def test_a_reflex_whose_config_has_no_group_list_is_said_plainly() -> None:
    with pytest.raises(ValueError, match="chunk groups cannot be added"):
        with_groups("export default defineConfig({});")


def test_radix_themes_is_not_put_whole_on_the_pages_window() -> None:
    # Reflex's app root as it compiles it with Radix Themes' plugin: every library a plugin needs, whole, on the window.
    libraries = [("react", "react"), ("radix_ui_themes", "@radix-ui/themes")]
    root = app_root_template(
        imports=[], custom_codes=[], hooks={}, window_libraries=libraries, render=rx.fragment().render(), dynamic_imports=set()
    )
    assert 'import * as radix_ui_themes from "@radix-ui/themes";' in root
    slim = without_radix_on_window(root)
    assert "radix_ui_themes" not in slim
    assert '"react": react,' in slim  # Reflex's own libraries stay
    assert any(isinstance(plugin, RadixOffWindow) for plugin in get_config().plugins)
    with pytest.raises(ValueError, match="no longer puts Radix Themes on the window"):
        without_radix_on_window(slim)
