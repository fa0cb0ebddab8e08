"""The preview image's name follows its inputs; the build's progress and failures read as sentences."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from preview_runtime.docker import image as docker_image
from preview_runtime.docker.image import STEP_LINE, ImageState, ImageStatus, image_name, inputs_tag


@pytest.fixture
def images_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "images"
    shutil.copytree(docker_image.IMAGES_DIR, copy)
    monkeypatch.setattr(docker_image, "IMAGES_DIR", copy)
    return copy


def test_tag_is_stable_for_unchanged_inputs(images_copy: Path) -> None:
    assert inputs_tag() == inputs_tag()
    assert inputs_tag().startswith("in-")


@pytest.mark.parametrize("name", docker_image.INPUTS)
def test_a_changed_input_changes_the_tag(images_copy: Path, name: str) -> None:
    before = inputs_tag()
    with (images_copy / name).open("a") as f:
        f.write("\n# changed\n")
    assert inputs_tag() != before


def test_a_repository_gets_the_inputs_tag_and_a_fixed_tag_is_kept(images_copy: Path) -> None:
    assert image_name("forja-preview") == f"forja-preview:{inputs_tag()}"
    assert image_name("registry.example:5000/team/forja-preview") == f"registry.example:5000/team/forja-preview:{inputs_tag()}"
    assert image_name("forja-preview:latest") == "forja-preview:latest"


def test_the_recipe_announces_each_step_in_the_form_forja_reads() -> None:
    recipe = (docker_image.IMAGES_DIR / "build_offline.sh").read_text()
    steps = recipe.count('\nstep "') - recipe.count('\nstep "done"')
    assert f"STEPS={steps}\n" in recipe
    match = STEP_LINE.match("[build_offline] step 2/6: apt-get install")
    assert match is not None and match.groups() == ("2", "6", "apt-get install")


def test_progress_and_failure_read_as_sentences() -> None:
    building = ImageStatus("forja-preview:in-1", ImageState.building, step=2, steps=6, step_name="apt-get install", started=0.0)
    assert building.describe().startswith("Preparing Docker previews (step 2 of 6, apt-get install, ")
    failed = ImageStatus("forja-preview:in-1", ImageState.failed, "debootstrap failed (exit status 1).")
    assert failed.describe() == "The Docker preview image could not be built: debootstrap failed (exit status 1)."
    tail = ["E: Failed getting release file", "build_offline: debootstrap failed", ""]
    assert docker_image._failure_sentence(tail, 1) == "debootstrap failed (exit status 1)."
    assert docker_image._failure_sentence([], 2) == "the build ended with exit status 2."
