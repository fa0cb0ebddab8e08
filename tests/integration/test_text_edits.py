"""Select mode's text edits saved through the service and the HTTP API, on real SQLite and PostgreSQL: a new version
changes the app's own file (and the checks that quote the old words, with it), or nothing is saved and a sentence
says why (issue 52: a heading written `Your {noun}` once saved only its acceptance check)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest

import builder.composition
from builder.api import api
from builder.composition import Services
from builder.errors import TextNotFound
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID
from builder.services.text_edits import TextChange
from builder.store import ProjectStore
from preview_runtime.check_script import parse_checks, step_strings
from preview_runtime.logs import LogHub

CHECK = ".forja/checks/01-open-the-app.spec.js"


@pytest.fixture
async def services_on(store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """The services on the parametrized store (SQLite and PostgreSQL), where the API finds them too."""
    instance = Services(store=store, logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", instance)
    yield instance
    await instance.close()


def barber_shop() -> dict[str, str]:
    """The React starter as Forja writes it for a barber's bookings: its heading is `Your {site.itemNounPlural}`."""
    starter = next(s for s in load_starters() if s.name == "react-vite-tailwind")
    words = {"title": "Fade Barbers", "tagline": "Sharp cuts.", "item_noun": "appointment", "item_noun_plural": "appointments"}
    return render_starter(starter, StarterVariables.model_validate(words))


def place_of(files: dict[str, str], path: str, needle: str, tag: str) -> str:
    """`path:line:col` of the `<tag` on the line holding `needle`, as the preview's Select mode reports it."""
    lines = files[path].split("\n")
    number = next(n for n, line in enumerate(lines, start=1) if needle in line)
    return f"{path}:{number}:{lines[number - 1].index('<' + tag) + 1}"


async def made(services: Services, files: dict[str, str]) -> str:
    return (await services.projects.create("Fade Barbers", files, owner=LOCAL_USER_ID)).project_id


async def texts(services: Services, project_id: str, version: int | None = None) -> dict[str, str]:
    return {path: data.decode() for path, data in (await services.projects.read_tree(project_id, version)).items()}


async def test_a_split_heading_refuses_a_change_of_its_worked_out_part_and_saves_nothing(services_on: Services) -> None:
    files = barber_shop()
    project_id = await made(services_on, files)
    heading = place_of(files, "src/App.jsx", "Your {site.itemNounPlural}", "h1")
    # The review's case: the whole heading typed over; before, only the acceptance check quoting it changed.
    with pytest.raises(TextNotFound) as refused:
        await services_on.text_edits.replace_text(
            project_id, TextChange(old="Your appointments", new="Book your cut", src=heading)
        )
    assert str(refused.value) == (
        "\u201cYour appointments\u201d is built from pieces of code in src/App.jsx, and only its written words "
        "(\u201cYour\u201d) can be typed over here. Ask for this change in the follow-up box, or make it in the Code tab."
    )
    assert [v.number for v in await services_on.projects.versions(project_id)] == [1]
    assert await texts(services_on, project_id) == files

    # Through the API the same: 422 with the sentence, no version.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        answer = await http.post(
            f"/api/projects/{project_id}/text", json={"old": "Your appointments", "new": "Your bookings", "src": heading}
        )
    assert answer.status_code == 422 and answer.json()["detail"].startswith("\u201cYour appointments\u201d is built from pieces")
    assert [v.number for v in await services_on.projects.versions(project_id)] == [1]


async def test_a_split_heading_s_written_words_are_saved_and_its_check_follows_in_the_same_version(
    services_on: Services,
) -> None:
    files = barber_shop()
    project_id = await made(services_on, files)
    heading = place_of(files, "src/App.jsx", "Your {site.itemNounPlural}", "h1")
    result = await services_on.text_edits.replace_text(
        project_id, TextChange(old="Your appointments", new="My appointments", src=heading)
    )
    assert result.version.number == 2 and sorted(result.changed) == [CHECK, "src/App.jsx"]
    saved = await texts(services_on, project_id)
    assert saved["src/App.jsx"] == files["src/App.jsx"].replace(">Your {site.itemNounPlural}<", ">My {site.itemNounPlural}<")
    # The check's step expects the new heading; its title (the plan's words) and its other steps stay.
    steps = [quoted.value for quoted in step_strings(saved[CHECK])]
    assert "My appointments" in steps and "Your appointments" not in steps and "No appointments yet." in steps
    assert parse_checks(saved[CHECK])[0].title == parse_checks(files[CHECK])[0].title
    assert {path: text for path, text in saved.items() if path not in result.changed} == {
        path: text for path, text in files.items() if path not in result.changed
    }
    # The version's export holds the app's new heading.
    _, archive = await services_on.history.export_zip(project_id, 2)
    with zipfile.ZipFile(io.BytesIO(archive)) as exported:
        assert exported.read("src/App.jsx").decode() == saved["src/App.jsx"]


@pytest.mark.parametrize("quoted_in", [CHECK, "tests/status.test.js", "src/Status.test.jsx", "e2e/home.spec.ts"])
async def test_a_text_written_only_in_a_check_or_a_test_is_refused_and_nothing_is_saved(
    services_on: Services, quoted_in: str
) -> None:
    app = 'const status = () => ["Open", "today"].join(" ")\nexport default () => <p>{status()}</p>\n'
    files = {"index.html": "<div id=root></div>\n", "src/App.jsx": app, quoted_in: "expect(screen.getByText('Open today'))\n"}
    project_id = await made(services_on, files)
    with pytest.raises(TextNotFound) as refused:
        await services_on.text_edits.replace_text(
            project_id, TextChange(old="Open today", new="Closed today", src="src/App.jsx:2:22")
        )
    assert str(refused.value) == (
        "\u201cOpen today\u201d is not written as plain text in src/App.jsx (the app may work it out). "
        f"It is written only in {quoted_in}, which the app does not show. "
        "Ask for this change in the follow-up box, or make it in the Code tab."
    )
    assert [v.number for v in await services_on.projects.versions(project_id)] == [1]
    assert await texts(services_on, project_id) == files


async def test_plain_words_and_the_app_s_data_are_saved_in_the_file_that_writes_them(services_on: Services) -> None:
    files = barber_shop()
    project_id = await made(services_on, files)
    features = place_of(files, "src/components/Features.jsx", "What you can do", "h2")
    result = await services_on.text_edits.replace_text(
        project_id, TextChange(old="What you can do", new="What we do", src=features)
    )
    assert result.changed == ["src/components/Features.jsx"]
    saved = await texts(services_on, project_id)
    assert ">What we do</h2>" in saved["src/components/Features.jsx"]

    # The tagline is `{site.tagline}` in App.jsx: written once, in site.js. The README quotes it too, and stays.
    tagline = place_of(files, "src/App.jsx", "{site.tagline}", "p")
    result = await services_on.text_edits.replace_text(
        project_id, TextChange(old="Sharp cuts.", new="Sharp cuts, no wait.", src=tagline)
    )
    assert result.version.number == 3 and result.changed == ["src/site.js"]
    saved = await texts(services_on, project_id)
    assert 'tagline: "Sharp cuts, no wait.",' in saved["src/site.js"]
    assert saved["README.md"] == files["README.md"] and "Sharp cuts." in saved["README.md"]
