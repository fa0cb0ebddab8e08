"""corepack's cache (COREPACK_HOME) of pnpm and yarn versions, filled where the registry is reachable (setup, the
corpus fetch) and used read-only by previews, so a project's pinned package manager starts with no download.

corepack keeps each version in COREPACK_HOME/v1/<name>/<version>; run with an exact version that is there, it
reads nothing else and writes nothing (tried with the folder read-only), so one cache serves every preview.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from preview_runtime.detect.node import DEFAULT_VERSIONS

log = logging.getLogger(__name__)

# Where corepack fetches Yarn 2+ too (not repo.yarnpkg.com, which previews' egress and offline machines lack).
NPM_REGISTRY = "https://registry.npmjs.org"
# What setup prepares: the versions detection runs when package.json pins none.
DEFAULT_SPECS = tuple(f"{name.removesuffix('-berry')}@{version}" for name, version in DEFAULT_VERSIONS.items())

# How corepack behaves in previews: never asks before a download (nobody answers), never writes a
# "packageManager" into the person's package.json, and runs the lockfile's manager even when the pin names another.
PREVIEW_ENV = {"COREPACK_ENABLE_DOWNLOAD_PROMPT": "0", "COREPACK_ENABLE_AUTO_PIN": "0", "COREPACK_ENABLE_STRICT": "0"}


def registry_url(registry: str) -> str:
    """COREPACK_NPM_REGISTRY for a registry's URL: corepack appends "/<name>/<version>" to it as written, so a trailing
    slash (as npm's own settings usually have one) would ask for "//yarn/1.22.22", which a mirror may not serve."""
    return registry.rstrip("/")


def is_cache(folder: str | os.PathLike[str] | None) -> bool:
    """A corepack cache (its v1 folder): only that is shown to previews, never any folder a setting names."""
    return folder is not None and os.fspath(folder) != "" and os.path.isdir(os.path.join(folder, "v1"))


def has(home: Path, spec: str) -> bool:
    name, version = spec.split("@", 1)
    return (home / "v1" / name / version).is_dir()


def prepare(home: Path, specs: Iterable[str], env: Mapping[str, str]) -> None:
    """Put the package managers `specs` ("pnpm@9.15.9") into the cache at `home` (those missing only); RuntimeError
    with corepack's message when one cannot be fetched."""
    missing = [spec for spec in dict.fromkeys(specs) if not has(home, spec)]
    if not missing:
        return
    home.mkdir(parents=True, exist_ok=True)
    log.info("corepack: preparing %s into %s", ", ".join(missing), home)
    result = subprocess.run(
        ["corepack", "install", "--global", *missing],
        env={
            "COREPACK_NPM_REGISTRY": registry_url(env.get("npm_config_registry") or NPM_REGISTRY),
            **env,
            "COREPACK_HOME": str(home),
            **PREVIEW_ENV,
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip() and not line.startswith(" ")]
        raise RuntimeError(f"corepack could not prepare {', '.join(missing)}: {' '.join(said[-2:])}")


def manager_caches(npm_cache: str, pnpm: bool = True) -> dict[str, str]:
    """pnpm's store and yarn's caches as folders inside npm's cache: the seed that fills npm's (a corpus entry's
    fetched cache) then fills theirs too, copied with it, so their installs prefer-offline from it the way npm's do.
    `pnpm`: whether pnpm installs with them; else its store is left out, as npm, reading the same variables, warns
    of a setting it does not know in every command ("Unknown env config store-dir")."""
    caches = {
        "YARN_CACHE_FOLDER": f"{npm_cache}/yarn",
        "YARN_GLOBAL_FOLDER": f"{npm_cache}/yarn-berry",  # Yarn 2+ keeps its shared cache in <global>/cache
    }
    if pnpm:
        caches["npm_config_store_dir"] = f"{npm_cache}/pnpm-store"  # pnpm reads its settings from npm_config_* variables
    return caches


def runs_pnpm(command: str) -> bool:
    return re.search(r"\bpnpm\b", command) is not None


def missing_manager(install: str, env: Mapping[str, str]) -> str | None:
    """One sentence when an install needs a pnpm or yarn that corepack cannot get: not in its cache (`env`'s
    COREPACK_HOME) while previews are offline (`npm_config_offline`); None when it can."""
    match = re.search(r"\bcorepack ((pnpm|yarn)@(\S+))", install)
    if match is None or env.get("npm_config_offline") != "true":
        return None
    home = env.get("COREPACK_HOME")
    if home and has(Path(home), match.group(1)):
        return None
    spec, name, version = match.groups()
    return (
        f"This project installs with {name} {version}, which is not in corepack's cache, and previews here are offline: "
        f'pin one this Forja has ({", ".join(DEFAULT_SPECS)}) in package.json\'s "packageManager", or have the '
        f"operator run `corepack install --global {spec}` with COREPACK_HOME set to the corepack_cache folder."
    )
