"""Radix Themes off the page's `window.__reflex`, so the build bundles only the Radix components Forja's pages use.

Reflex's app root imports each library a plugin depends on whole (`import * as radix_ui_themes from "@radix-ui/themes"`)
and puts it on `window.__reflex`, where only components sent as code at run time (Reflex's dynamic components, which
its state.js evaluates) look for it. Forja sends none. That one namespace import kept every Radix Themes component in
the build, Slider, Data List, Context Menu, Hover Card and the rest no page draws, in the file every page loads first;
and their class names in the code kept their rules in the stylesheet (builder.launch.css_pruning).
"""

from __future__ import annotations

from typing import Unpack

from reflex_base.plugins.base import Plugin, PreCompileContext

ROOT = "app/root.jsx"
NAMESPACE_IMPORT = 'import * as radix_ui_themes from "@radix-ui/themes";\n'
ON_WINDOW = '"@radix-ui/themes": radix_ui_themes,\n'


def without_radix_on_window(root: str) -> str:
    """Reflex's app root without Radix Themes' namespace import and its place on `window.__reflex`."""
    lines = root.splitlines(keepends=True)
    kept = [line for line in lines if line.strip() + "\n" not in (NAMESPACE_IMPORT, ON_WINDOW)]
    if len(lines) - len(kept) != 2:
        raise ValueError(f"Reflex's {ROOT} no longer puts Radix Themes on the window (window.__reflex) as Forja expects.")
    return "".join(kept)


class RadixOffWindow(Plugin):
    """Takes Radix Themes off the page's window.__reflex (without_radix_on_window)."""

    def pre_compile(self, **context: Unpack[PreCompileContext]) -> None:
        context["add_modify_task"](ROOT, without_radix_on_window)
