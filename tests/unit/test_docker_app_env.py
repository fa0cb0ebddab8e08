"""What a preview container gets of the app's own variables: an app-env file of their own, which entry.sh and the
commands run beside the dev server source before the bootstrap env (Forja's values win)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from preview_runtime.docker import container
from preview_runtime.docker.container import env_file, first_upload
from preview_runtime.docker.layout import APP_ENV, BOOTSTRAP
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewSpec

PLAN = RunPlan(dev="node server.js", has_server=True, port=3000, env={"STRIPE_KEY": "sk 'quoted' $value", "PORT": "1"})


def sourced(script: bytes, name: str) -> str:
    """The variable's value once a shell sourced `script`, as entry.sh does."""
    shown = subprocess.run(["sh", "-c", f'. /dev/stdin; printf %s "${name}"'], input=script, capture_output=True, check=True)
    return shown.stdout.decode()


def test_the_bootstrap_env_leaves_the_apps_variables_to_their_own_file_and_forjas_own_win() -> None:
    spec = PreviewSpec(preview_id="p1", project_id="p", version=1, files={}, plan=PLAN)
    script = env_file(spec, "")
    # The env file is kept in a parked preview's park file on Forja's disk: no value of the app's may be in it.
    assert b"STRIPE_KEY" not in script and b"quoted" not in script
    with tarfile.open(fileobj=io.BytesIO(first_upload(spec, "", None))) as tar:
        app_env = tar.extractfile(f"{BOOTSTRAP}/{APP_ENV}")
        assert app_env is not None
        both = app_env.read() + script  # entry.sh sources app-env, then env
    assert sourced(both, "STRIPE_KEY") == "sk 'quoted' $value"
    assert sourced(both, "PORT") == "3000"
    entry = Path(container.__file__).with_name("entry.sh").read_text()
    assert entry.index('. "$F/app-env"') < entry.index('. "$F/env"')


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
