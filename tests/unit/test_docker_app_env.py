"""What a preview container gets of the app's own variables: its bootstrap env (Forja's values win) and the app-env file
that commands run beside the dev server source."""

from __future__ import annotations

import io
import subprocess
import tarfile

from preview_runtime.docker.container import env_file, first_upload
from preview_runtime.docker.layout import APP_ENV, BOOTSTRAP
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewSpec

PLAN = RunPlan(dev="node server.js", has_server=True, port=3000, env={"STRIPE_KEY": "sk 'quoted' $value", "PORT": "1"})


def sourced(script: bytes, name: str) -> str:
    """The variable's value once a shell sourced `script`, as entry.sh does."""
    shown = subprocess.run(["sh", "-c", f'. /dev/stdin; printf %s "${name}"'], input=script, capture_output=True, check=True)
    return shown.stdout.decode()


def test_the_bootstrap_env_holds_the_apps_variables_and_forjas_own_win() -> None:
    spec = PreviewSpec(preview_id="p1", project_id="p", version=1, files={}, plan=PLAN)
    script = env_file(spec, "")
    assert sourced(script, "STRIPE_KEY") == "sk 'quoted' $value"
    assert sourced(script, "PORT") == "3000"


def test_the_upload_carries_an_app_env_only_when_the_app_has_variables() -> None:
    spec = PreviewSpec(preview_id="p1", project_id="p", version=1, files={"a.txt": b"x"}, plan=PLAN)
    with tarfile.open(fileobj=io.BytesIO(first_upload(spec, "", None))) as tar:
        app_env = tar.extractfile(f"{BOOTSTRAP}/{APP_ENV}")
        assert app_env is not None
        assert sourced(app_env.read(), "STRIPE_KEY") == "sk 'quoted' $value"
    bare = spec.model_copy(update={"plan": PLAN.model_copy(update={"env": {}})})
    with tarfile.open(fileobj=io.BytesIO(first_upload(bare, "", None))) as tar:
        assert f"{BOOTSTRAP}/{APP_ENV}" not in tar.getnames()


def test_a_plans_dump_and_repr_never_hold_a_value() -> None:
    assert "STRIPE_KEY" not in PLAN.model_dump_json() and "sk " not in repr(PLAN)
