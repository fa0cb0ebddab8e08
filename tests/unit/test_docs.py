"""The docs stay true to the code: generated pages are current, every setting is described, the files the pages name
exist, and the README's links lead somewhere. (`scripts/test.sh` also builds docs/ with `mkdocs build --strict`, which
fails on a broken link or anchor between the pages.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.settings import Settings
from scripts.docs import BEGIN, END, settings_reference, stale_pages, variable_names, with_generated

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"
PAGES = sorted(DOCS.glob("*.md"))
# Paths in code spans that the pages name as part of this repository.
REPO_PATH = re.compile(r"`((?:builder|preview_runtime|tests|scripts|bench|assets|templates|deploy|docs)/[^`\s]*)`")
# Files a person makes while following the docs; they are not in a clone.
MADE_BY_THE_READER = {
    "deploy/forja.env",
    "deploy/certs/fullchain.pem",
    "deploy/certs/privkey.pem",
    "tests/artifacts/",
    "tests/artifacts/corpus/",
    "tests/artifacts/publish-corpus/",
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_every_setting_has_a_description() -> None:
    assert [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()] == []


def test_the_settings_page_lists_every_setting_by_the_variable_forja_reads() -> None:
    page = (DOCS / "settings.md").read_text()
    missing = [name for name, field in Settings.model_fields.items() if f"| `{variable_names(name, field)[0]}`" not in page]
    assert missing == []


def test_the_generated_parts_of_the_docs_are_current() -> None:
    assert stale_pages() == [], "regenerate them with: .venv/bin/python scripts/docs.py"


def test_a_page_without_markers_is_refused_rather_than_overwritten() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_generated("# Settings\n\nhand-written\n", settings_reference())
    page = f"# Settings\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    assert with_generated(page, "new") == f"# Settings\n\nbefore\n\n{BEGIN}\n\nnew\n\n{END}\n\nafter\n"


@pytest.mark.parametrize("page", [*PAGES, README], ids=lambda path: path.name)
def test_the_files_a_page_names_exist(page: Path) -> None:
    named = {path.rstrip(".,") for path in REPO_PATH.findall(page.read_text())}
    real = {path for path in named - MADE_BY_THE_READER if not any(mark in path for mark in "<{")}
    missing = sorted(path for path in real if not (list(REPO.glob(path)) if "*" in path else (REPO / path).exists()))
    assert missing == []


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.DOTALL), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_the_readme_is_a_front_page_whose_links_lead_somewhere() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = REPO / path if path else README
        if not file.exists() or (anchor and anchor not in github_anchors(file.read_text())):
            broken.append(target)
    assert broken == []
    assert "docs/images/workspace.png" in text and (DOCS / "images" / "workspace.png").stat().st_size > 0
