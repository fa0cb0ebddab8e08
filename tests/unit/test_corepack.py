"""pnpm and yarn through corepack in both runners: its cache read-only, their own caches where the seed puts them, and
one sentence when an offline preview needs a manager the cache lacks. tests/integration/test_corpus.py installs real
pnpm and yarn projects offline this way (turbo-pnpm, express-generator-yarn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.services.doctor import _corepack_check  # pyright: ignore[reportPrivateUsage]
from builder.services.preview_runners import docker_settings, install_env
from builder.settings import Settings, settings
from preview_runtime.corepack import DEFAULT_SPECS, missing_manager
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import ContainerSpec
from preview_runtime.local import LocalRunner
from preview_runtime.local.environment import preview_env
from preview_runtime.local.sandbox import bwrap_args
from preview_runtime.plan import plan_for
from preview_runtime.runner import PreviewSpec, RunnerError, ignore_output
from preview_runtime.swarm.config import SwarmConfig
from scripts.prefetch_starters import corepack_env

PNPM_INSTALL = "corepack pnpm@9.15.9 install --prefer-offline"


def cache_with(tmp_path: Path, *specs: str) -> Path:
    home = tmp_path / "corepack"
    for spec in specs:
        name, version = spec.split("@")
        (home / "v1" / name / version).mkdir(parents=True)
    (home / "v1").mkdir(parents=True, exist_ok=True)
    return home


def test_an_offline_preview_without_the_manager_in_the_cache_is_told_which_and_what_to_do(tmp_path: Path) -> None:
    home = cache_with(tmp_path, "pnpm@9.15.9")
    offline = {"npm_config_offline": "true", "COREPACK_HOME": str(home)}
    assert missing_manager(PNPM_INSTALL, offline) is None
    assert missing_manager(PNPM_INSTALL, {"COREPACK_HOME": str(home)}) is None  # online: corepack downloads it
    assert missing_manager("npm install --no-audit --no-fund", offline) is None
    said = missing_manager("corepack yarn@4.5.1 install", offline)
    assert said == (
        "This project installs with yarn 4.5.1, which is not in corepack's cache, and previews here are offline: pin one "
        f'this Forja has ({", ".join(DEFAULT_SPECS)}) in package.json\'s "packageManager", or have the operator run '
        "`corepack install --global yarn@4.5.1` with COREPACK_HOME set to the corepack_cache folder."
    )
    assert missing_manager(PNPM_INSTALL, {"npm_config_offline": "true"}) is not None  # no cache at all


async def test_the_local_runner_says_so_before_it_installs_anything(tmp_path: Path) -> None:
    files = {"package.json": b'{"scripts": {"dev": "vite"}, "devDependencies": {"vite": "7"}, "packageManager": "yarn@4.5.1"}'}
    runner = LocalRunner(tmp_path / "work")
    runner.extra_env = {"npm_config_offline": "true", "COREPACK_HOME": str(cache_with(tmp_path, "yarn@1.22.22"))}
    spec = PreviewSpec(preview_id="p1", project_id="project", version=1, files=files, plan=plan_for(files))
    with pytest.raises(RunnerError, match=r"^This project installs with yarn 4\.5\.1, which is not in corepack's cache"):
        await runner.start(spec, ignore_output)
    assert not (tmp_path / "work" / "p1").exists()


def test_local_previews_get_corepacks_cache_read_only_and_the_managers_caches_in_the_seeded_npm_cache(tmp_path: Path) -> None:
    home, corepack = tmp_path / "home", cache_with(tmp_path)
    # From the corepack_cache setting (builder's install_env), never a COREPACK_HOME of Forja's own environment,
    # which the sandbox would make read-only.
    env = preview_env(4000, home, {"COREPACK_HOME": str(corepack)}, source={"COREPACK_HOME": "/home/me/.cache/node/corepack"})
    assert env["COREPACK_HOME"] == str(corepack)
    assert "COREPACK_HOME" not in preview_env(4000, home, source={"COREPACK_HOME": "/home/me/.cache/node/corepack"})
    # Never a prompt nobody answers, never a "packageManager" written into the person's package.json, and the
    # lockfile's manager even when the pin names another.
    assert env["COREPACK_ENABLE_DOWNLOAD_PROMPT"] == "0" and env["COREPACK_ENABLE_AUTO_PIN"] == "0"
    assert env["COREPACK_ENABLE_STRICT"] == "0"
    assert env["YARN_CACHE_FOLDER"] == f"{home}/.npm/yarn"
    # pnpm's store only where pnpm installs: npm reads the same variable and warns of it in every command.
    assert "npm_config_store_dir" not in env
    pnpm = preview_env(4000, home, install=PNPM_INSTALL)
    assert pnpm["npm_config_store_dir"] == f"{home}/.npm/pnpm-store" and pnpm["YARN_CACHE_FOLDER"] == f"{home}/.npm/yarn"
    args = bwrap_args(tmp_path / "app", home, env, tmp_path / "tmp", tmp_path / "etc", 3)
    at = args.index(str(corepack))
    assert args[at - 1 : at + 2] == ["--ro-bind-try", str(corepack), str(corepack)]


def test_docker_previews_mount_a_real_corepack_cache_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "checkout"
    other.mkdir()
    assert ContainerSpec(DockerConfig(corepack_seed=other)).seeds() == {}  # no v1 folder: not a corepack cache
    corepack = cache_with(tmp_path, "pnpm@9.15.9")
    spec = ContainerSpec(DockerConfig(corepack_seed=corepack))
    spec.seed_dirs = spec.seeds()
    assert spec.seed_dirs == {"corepack": str(corepack)}
    assert {"Type": "bind", "Source": str(corepack), "Target": "/seed/corepack", "ReadOnly": True} in spec.seed_mounts()
    env = dict(item.split("=", 1) for item in spec.env("nonce", 60, False))
    assert env["COREPACK_HOME"] == "/seed/corepack" and env["npm_config_store_dir"] == "/home/preview/.npm/pnpm-store"
    without = dict(item.split("=", 1) for item in ContainerSpec(DockerConfig()).env("nonce", 60, False))
    assert "COREPACK_HOME" not in without and without["COREPACK_ENABLE_AUTO_PIN"] == "0"

    monkeypatch.setenv("FORJA_COREPACK_CACHE", "")
    assert Settings().corepack_cache is None


def test_the_integrity_keys_setting_reaches_corepack_in_every_runner_and_in_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for unusable in ("nope", "[1, 2]", "1"):
        monkeypatch.setenv("FORJA_COREPACK_INTEGRITY_KEYS", unusable)
        with pytest.raises(ValueError, match="FORJA_COREPACK_INTEGRITY_KEYS is empty, 0 or a JSON object of keys"):
            Settings()
    keys = '{"npm": [{"keyid": "SHA256:mirror", "key": "MFkw"}]}'
    monkeypatch.setenv("FORJA_COREPACK_INTEGRITY_KEYS", f" {keys} ")
    assert Settings().corepack_integrity_keys == keys
    monkeypatch.setattr(settings, "corepack_integrity_keys", "0")
    monkeypatch.setattr(settings, "npm_registry", "http://nexus.corp.example:8081/")
    # The local runner: its every preview's environment, which corepack runs in.
    local = preview_env(4000, tmp_path / "home", install_env())
    assert local["COREPACK_INTEGRITY_KEYS"] == "0" and local["npm_config_registry"] == "http://nexus.corp.example:8081/"
    # corepack appends "/yarn/1.22.22" to its registry as written: no trailing slash, or it would ask for "//yarn".
    assert local["COREPACK_NPM_REGISTRY"] == "http://nexus.corp.example:8081"
    # Docker and the swarm (their containers' environment), though a name with KEY in extra_env never gets in.
    docker = dict(item.split("=", 1) for item in ContainerSpec(DockerConfig(**docker_settings())).env("nonce", 60, False))
    assert docker["COREPACK_INTEGRITY_KEYS"] == "0" and docker["COREPACK_NPM_REGISTRY"] == "http://nexus.corp.example:8081"
    swarm = dict(item.split("=", 1) for item in ContainerSpec(SwarmConfig(**docker_settings())).env("nonce", 60, False))
    assert swarm["COREPACK_INTEGRITY_KEYS"] == "0"
    # Setup's preparation of the cache, with the mirror unless its environment names one.
    setup = corepack_env({"PATH": "/usr/bin"})
    assert setup["COREPACK_INTEGRITY_KEYS"] == "0" and setup["npm_config_registry"] == "http://nexus.corp.example:8081/"
    assert corepack_env({"npm_config_registry": "http://other/"})["npm_config_registry"] == "http://other/"
    monkeypatch.setattr(settings, "corepack_integrity_keys", "")
    assert "COREPACK_INTEGRITY_KEYS" not in install_env()
    assert "COREPACK_INTEGRITY_KEYS" not in ContainerSpec(DockerConfig(**docker_settings())).env("nonce", 60, False)
    assert "COREPACK_INTEGRITY_KEYS" not in corepack_env({})


def test_the_doctor_says_when_a_mirror_may_lack_the_signatures_corepack_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "npm_registry", "http://nexus.corp.example:8081/")
    monkeypatch.setattr(settings, "corepack_integrity_keys", "")
    said = _corepack_check().detail
    assert "FORJA_NPM_REGISTRY" in said and "FORJA_COREPACK_INTEGRITY_KEYS=0" in said and "fail to download" in said
    assert said.count(". ") == 0 and said.endswith(".")  # one sentence
    monkeypatch.setattr(settings, "corepack_integrity_keys", "0")
    assert "fail" not in _corepack_check().detail
    monkeypatch.setattr(settings, "npm_registry", "")
    monkeypatch.setattr(settings, "corepack_integrity_keys", "")
    assert _corepack_check().detail == "corepack checks the pnpm and yarn it downloads against npm's own keys."
