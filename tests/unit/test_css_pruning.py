"""builder.launch.css_pruning: the page's stylesheet loses the Radix rules no page can match, and nothing else."""

from __future__ import annotations

import ast
import gzip
import re
from pathlib import Path

from builder.launch.css_pruning import KEPT_COLOURS, RADIX_COLOURS, Names, prune, renamed, with_pruned_css

REPO = Path(__file__).resolve().parents[2]

# What Radix's bundled code holds for a Button and a Grid (a component's class as written, a prop's stem before its
# value), and a page's Grid given 1 column, 2 from the sm breakpoint.
JS = "className:`rt-Button`,cls=`rt-variant-${v}`,{className:`rt-r-gtc`},V(G,{columns:{initial:`1`,sm:`2`}})"


def pruned(css: str, js: str = JS) -> str:
    return prune(css, Names([js]))


def test_a_rule_for_a_component_no_page_imports_goes_and_the_others_stay_as_written() -> None:
    css = ".rt-Button{color:red}.rt-TableRoot{color:blue}.rt-Button:where(.rt-variant-solid){color:green}"
    assert pruned(css) == ".rt-Button{color:red}.rt-Button:where(.rt-variant-solid){color:green}"


def test_only_the_selectors_that_cannot_match_leave_a_list() -> None:
    assert pruned(".rt-TableRoot,.rt-Button>a,.rt-DataListItem{margin:0}") == ".rt-Button>a{margin:0}"


def test_forjas_own_classes_elements_and_custom_properties_are_never_pruned() -> None:
    css = ":root{--accent-9:#f60}.history-row,body,a:hover{color:red}[data-accent-color=orange]{--x:1}"
    assert pruned(css) == css


def test_a_class_a_rule_needs_to_be_absent_keeps_the_rule() -> None:
    # `:not(.rt-TableRoot)` matches every element when no table is ever drawn.
    css = ".rt-Button:not(.rt-TableRoot){color:red}"
    assert pruned(css) == css


def test_an_alternative_list_needs_one_alternative_that_can_match() -> None:
    kept = ".rt-Button:where(.rt-TableRoot,.rt-variant-soft){color:red}"
    gone = ".rt-Button:where(.rt-TableRoot,.rt-DataListItem){color:red}"
    assert pruned(kept + gone) == kept


def test_a_breakpoints_class_stays_only_for_a_value_a_page_gives_at_that_breakpoint() -> None:
    css = (
        "@media (min-width:768px){.sm\\:rt-r-gtc-2{grid-template-columns:repeat(2,1fr)}"
        ".sm\\:rt-r-gtc-3{grid-template-columns:repeat(3,1fr)}}"
        "@media (min-width:1024px){.md\\:rt-r-gtc-2{grid-template-columns:repeat(2,1fr)}}"
        ".rt-r-gtc-3{grid-template-columns:repeat(3,1fr)}"
    )
    # The sm rule for 2 stays; sm's 3 and md's 2 go, and md's @media with them; the class for all widths stays.
    assert pruned(css) == (
        "@media (min-width:768px){.sm\\:rt-r-gtc-2{grid-template-columns:repeat(2,1fr)}}"
        ".rt-r-gtc-3{grid-template-columns:repeat(3,1fr)}"
    )


def test_what_the_pass_does_not_read_is_kept_whole() -> None:
    css = (
        '@charset "utf-8";@layer a,b;@keyframes rt-fade{0%{opacity:0}to{opacity:1}}'
        '@font-face{font-family:x;src:url(x.woff2)}.rt-Box{content:"}"}.rt-Button{&:hover{color:red}}'
    )
    assert pruned(css, JS + "`rt-Box`") == css


def test_the_build_step_prunes_the_stylesheets_before_they_are_compressed_under_a_name_of_their_own(
    tmp_path: Path,
) -> None:
    client, server = tmp_path / "client", tmp_path / "server"
    (client / "assets").mkdir(parents=True)
    server.mkdir()
    (client / "assets" / "root-Dg1abcde.js").write_text(JS + ";var css=`/assets/styles-CnLdQwY_.css`")
    (client / "index.html").write_text('<link rel="stylesheet" href="/assets/styles-CnLdQwY_.css">')
    (server / "index.js").write_text('const links = ["/assets/styles-CnLdQwY_.css"];')
    (client / "assets" / "styles-CnLdQwY_.css").write_text(".rt-Button{color:red}.rt-TableRoot{color:blue}")
    (client / "assets" / "editor-DOgAgpTS.css").write_text(".monaco-editor{color:red}")  # nothing to prune

    def reflex_compress(directory: Path, formats: tuple[str, ...]) -> None:  # Reflex's Node step, gzip only here
        for path in directory.rglob("*.css"):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))

    with_pruned_css(reflex_compress)(client, ("gzip",))
    # The pruned file's name is a digest of what it holds now, in every file that named it; the untouched one keeps its.
    name = renamed("styles-CnLdQwY_.css", ".rt-Button{color:red}")
    assert re.fullmatch(r"styles-[A-Za-z0-9_-]{8}\.css", name) and name != "styles-CnLdQwY_.css"
    assert sorted(path.name for path in (client / "assets").glob("*.css")) == ["editor-DOgAgpTS.css", name]
    assert (client / "assets" / name).read_text() == ".rt-Button{color:red}"
    assert gzip.decompress((client / "assets" / f"{name}.gz").read_bytes()) == b".rt-Button{color:red}"
    for path in (client / "index.html", client / "assets" / "root-Dg1abcde.js", server / "index.js"):
        assert f"/assets/{name}" in path.read_text() and "CnLdQwY_" not in path.read_text(), path


KEPT = ':root{--forja-colours:"orange slate"}'
TOKENS = (
    ":root,.light{--gray-1:#fcfcfc;--orange-1:#fefcfb;--sky-1:#f9feff;--sky-contrast:var(--sky-9);--accent-1:#fff}"
    "[data-accent-color=orange]{--accent-1:var(--orange-1)}[data-accent-color=sky]{--accent-1:var(--sky-1)}"
    ".radix-themes:where([data-gray-color=sky]){--gray-1:var(--sky-1)}"
    "@supports (color:color(display-p3 1 1 1)){:root{--sky-1:color(display-p3 .98 .99 1)}}"
)


def test_the_shades_of_a_colour_the_stylesheet_does_not_keep_go_with_the_rules_that_make_it_an_accent() -> None:
    assert pruned(KEPT + TOKENS) == KEPT + (
        ":root,.light{--gray-1:#fcfcfc;--orange-1:#fefcfb;--accent-1:#fff}[data-accent-color=orange]{--accent-1:var(--orange-1)}"
    )


def test_a_colour_some_rule_uses_is_kept_and_without_a_list_every_colour_is() -> None:
    used = KEPT + TOKENS + ".history-row{color:var(--sky-11)}"
    assert pruned(used) == used
    assert pruned(TOKENS) == TOKENS


def radix_colours_named_in(path: Path) -> set[str]:
    """A colour as a string (`"iris"`, `'sky'`, `` `red` ``) or a custom property's scale (`var(--green-9)`)."""
    return set(re.findall(rf"(?:--|[\"'`])({'|'.join(RADIX_COLOURS)})[-\"'`]", path.read_text()))


def test_every_colour_forjas_code_names_is_one_the_stylesheet_keeps() -> None:
    # A colour the page gets only at run time (a person's avatar, a chat entry's tone) is in the Python code alone.
    sources = [*(REPO / "builder").rglob("*.py"), REPO / "rxconfig.py", *(REPO / "assets").glob("*.[cj]s*")]
    named = set().union(*(radix_colours_named_in(path) for path in sources))
    assert {"orange", "slate", "tomato", "iris"} <= named  # the theme, a person's avatar, the agent's tone
    kept = KEPT_COLOURS.search((REPO / "assets" / "palette.css").read_text())
    assert kept is not None
    assert sorted(named - set(kept.group(1).split())) == []


def test_every_breakpoint_value_is_written_in_forjas_code() -> None:
    # The build keeps a breakpoint's class only for a value it finds written there: one that came from the server
    # (`rx.breakpoints(sm=State.columns)`) would find its rule pruned.
    calls = [
        node
        for path in (REPO / "builder").rglob("*.py")
        if "rx.breakpoints" in (text := path.read_text())
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "rx.breakpoints"
    ]
    assert calls
    assert [ast.unparse(call) for call in calls if not all(isinstance(k.value, ast.Constant) for k in call.keywords)] == []
    assert [ast.unparse(call) for call in calls if call.args] == []
