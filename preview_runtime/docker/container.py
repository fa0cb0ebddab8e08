"""What a preview container is made of: its hardened configuration, environment, mounts and bootstrap `env` file."""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from preview_runtime.common import SECRET_NAME, human_size
from preview_runtime.corepack import PREVIEW_ENV, is_cache, manager_caches, registry_url
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.deps_cache import CompleteCache
from preview_runtime.docker.layout import (
    APP_DIR,
    APP_ENV,
    BOOTSTRAP,
    DEPS_DIR,
    KEPT_ENV,
    PREVIEW_UID,
    SEED_DIR,
    TOOL_DIRS,
    clean_relpath,
    tar_files,
)
from preview_runtime.plan import Mount, npm_folder_env, npm_script
from preview_runtime.runner import PreviewSpec, RunnerError

FRESH_WAIT_S = 60  # a fresh container gets its files within a second; give up after a minute
POOL_WAIT_S = 24 * 3600  # a pool container waits this long for a claim, then exits (removed on the next claim or adopt)


@functools.cache
def entry_script() -> str:
    return resources.files("preview_runtime.docker").joinpath("entry.sh").read_text(encoding="utf-8")


def entry_command() -> list[str]:
    """What a preview container runs: the entry script under tini, which reaps and signals the whole group."""
    return ["/usr/bin/tini", "-g", "--", "bash", "-c", entry_script()]


def env_file(spec: PreviewSpec, deps_key: str) -> bytes:
    """What the entry script sources once the files are there: the preview's own settings, shell-quoted. The app's
    own variables are in a file of their own (APP_ENV), sourced first so that PORT and the rest win, and kept out of a
    parked preview's file on Forja's disk (parking.py)."""
    values = {
        **spec.plan.kept_env,  # no secret: the `env` file goes into a parked preview's tar, and entry.sh reads it
        "PORT": str(spec.plan.port),
        "FORJA_INSTALL": spec.plan.install,
        "FORJA_DEV": spec.plan.dev,
        "FORJA_DEPS_CACHE": "1" if deps_key else "",
    }
    if (script := npm_script(spec.plan.dev, spec.files)) is not None:
        command, npm_env = script
        values |= {**npm_env, **npm_folder_env(APP_DIR), "FORJA_DEV": command}
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()).encode()


def read_extra_ca(config: DockerConfig) -> bytes | None:
    """The operator's extra CA bundle, which reaches each preview with its bootstrap; None when there is none."""
    if not config.extra_ca_path:
        return None
    try:
        with open(config.extra_ca_path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise RunnerError(f"Forja cannot read the extra CA bundle {config.extra_ca_path}: {exc}") from exc


def first_upload(spec: PreviewSpec, deps_key: str, extra_ca: bytes | None) -> bytes:
    """The one archive a started container waits for: the project's files, the bootstrap and, last, `ready`.

    `ready` is the tar's last entry, so everything before it is in place when the entry script sees it. The bootstrap
    folder is Forja's: a project file there could only confuse the entry script, so none gets in.
    """
    files = {
        path: data
        for path, data in ((clean_relpath(k), v) for k, v in spec.files.items())
        if path != BOOTSTRAP and not path.startswith(BOOTSTRAP + "/")
    }
    bootstrap: dict[str, bytes] = {f"{BOOTSTRAP}/env": env_file(spec, deps_key)}
    if spec.plan.env:
        bootstrap[f"{BOOTSTRAP}/{APP_ENV}"] = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in spec.plan.env.items()).encode()
    if spec.plan.kept_env:
        kept = spec.plan.kept_env.items()
        bootstrap[f"{BOOTSTRAP}/{KEPT_ENV}"] = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in kept).encode()
    if extra_ca is not None:
        bootstrap[f"{BOOTSTRAP}/extra-ca.pem"] = extra_ca
    return tar_files({**files, **bootstrap, f"{BOOTSTRAP}/ready": b""})


def data_mounts(mounts: Sequence[Mount]) -> list[dict[str, Any]]:
    """The app's data folders (its /data, its database's socket folder) as bind mounts from Forja's host: the same
    folder for every container of the app, so its data outlives them. The /data folder is open to the preview user
    (builder/services/app_data.py makes it so); nothing else of the host is."""
    return [{"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only} for m in mounts]


@dataclass(frozen=True)
class Scratch:
    """A writable tmpfs of the container: where, how large, whether the preview user owns it (else it is
    world-writable with the sticky bit, as /tmp is), and whether programs may run from it."""

    target: str
    size_bytes: int
    owned: bool
    mode: str
    executable: bool


class ContainerSpec:
    """Builds the Docker create() configuration of preview containers from the runner's config."""

    def __init__(self, config: DockerConfig, authority: bytes = b"") -> None:
        """`authority`: the certificate of the egress proxy's registry authority (registry_certs.py), which the
        containers' installs trust besides the operator's extra CA when the proxy reads their registries."""
        self.config = config
        self.authority = authority
        self.seed_dirs: dict[str, str] = {}  # the seeds previews get: set once, when the runner gets ready
        # Sending the package managers to Forja's egress proxy (egress.py): set once, when the Docker runner gets ready.
        self.egress_env: dict[str, str] = {}

    def trusted_ca(self) -> bytes | None:
        """What each container's bootstrap brings as extra-ca.pem: the operator's extra CA and the registry authority;
        None when there is neither."""
        extra = read_extra_ca(self.config)
        if not self.authority:
            return extra
        return b"\n".join(part for part in (extra, self.authority) if part)

    def seeds(self) -> dict[str, str]:
        """Seed folders that hold what they should, by their name under /seed.

        Checked because a mistaken path would show any folder to untrusted code: only an npm cache
        (with its _cacache) and a folder with wheels in it qualify.
        """
        npm_seed, wheel_seed = self.config.npm_seed, self.config.wheel_seed
        seeds = {}
        if npm_seed and os.path.isdir(os.path.join(npm_seed, "_cacache")):
            seeds["npm"] = os.fspath(npm_seed)
        if wheel_seed and os.path.isdir(wheel_seed) and any(n.endswith(".whl") for n in os.listdir(wheel_seed)):
            seeds["wheels"] = os.fspath(wheel_seed)
        if (corepack := self.config.corepack_seed) is not None and is_cache(corepack):
            seeds["corepack"] = os.fspath(corepack)
        return seeds

    def seed_mounts(self) -> list[dict[str, Any]]:
        return [
            {"Type": "bind", "Source": os.path.abspath(path), "Target": f"{SEED_DIR}/{name}", "ReadOnly": True}
            for name, path in self.seed_dirs.items()
        ]

    def env(self, nonce: str, wait_s: int, deps_mounted: bool) -> list[str]:
        """The container's environment: nothing in it is specific to one preview (see entry.sh)."""
        env = {
            "HOST": "0.0.0.0",
            "HOME": "/home/preview",
            "BROWSER": "none",
            "PYTHONUNBUFFERED": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "npm_config_cache": "/home/preview/.npm",
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            **PREVIEW_ENV,
            **manager_caches("/home/preview/.npm"),
            # Rust tools built on mimalloc (Vite 8's rolldown, oxc, lightningcss...) otherwise commit a 1 GiB
            # arena up front, which transparent huge pages then back with ~100 MB per idle dev server.
            "MIMALLOC_ARENA_EAGER_COMMIT": "0",
            # Node's headers, for node-gyp (see local/environment.NODE_HEADERS): both ways of building the image put
            # them in /usr/local/include/node. The image has no compiler: a native addon's build then fails at once,
            # saying so (native.py), rather than on a download of the headers from nodejs.org.
            "npm_package_config_node_gyp_nodedir": "/usr/local",
            "FORJA_NONCE": nonce,
            "FORJA_WAIT_S": str(wait_s),
        }
        if deps_mounted:
            env["FORJA_DEPS_MOUNTED"] = "1"
        if self.config.extra_ca_path or self.authority:
            env["NODE_EXTRA_CA_CERTS"] = "/home/preview/.forja/extra-ca.pem"
            for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
                env[var] = "/home/preview/.forja/ca-bundle.pem"
        if self.config.npm_registry:
            env["npm_config_registry"] = self.config.npm_registry
            env["COREPACK_NPM_REGISTRY"] = registry_url(self.config.npm_registry)
        if self.config.corepack_integrity_keys:
            env["COREPACK_INTEGRITY_KEYS"] = self.config.corepack_integrity_keys
        if "corepack" in self.seed_dirs:
            env["COREPACK_HOME"] = f"{SEED_DIR}/corepack"  # read-only: pnpm and yarn as prepared, no download
        if self.config.pip_index_url:
            env["PIP_INDEX_URL"] = self.config.pip_index_url
        if "npm" in self.seed_dirs:
            env["npm_config_prefer_offline"] = "true"
        if "wheels" in self.seed_dirs:
            env["PIP_FIND_LINKS"] = f"{SEED_DIR}/wheels"
        env |= self.egress_env
        # Even a variable the operator adds: a credential-looking name never reaches the preview (as in the local runner).
        env |= {name: value for name, value in self.config.extra_env.items() if not SECRET_NAME.search(name)}
        return [f"{k}={v}" for k, v in env.items()]

    def mounts(
        self, app_volume: str, deps_volume: str, cache: CompleteCache | None, data: Sequence[Mount] = ()
    ) -> list[dict[str, Any]]:
        """/app, the cache at /deps and, once the cache is complete, its folders read-only in place; the app's `data`
        folders bound where its plan says.

        Mounting rather than copying node_modules keeps it out of the /app tmpfs, whose pages count
        as the preview's memory (~50 MB for a Vite + React project). The /deps mount stays even
        then: it is what tells Docker that the volume is in use, so pruning never removes it under
        a running preview.
        """
        mounts: list[dict[str, Any]] = [{"Type": "volume", "Source": app_volume, "Target": APP_DIR}]
        if deps_volume:
            mounts.append({"Type": "volume", "Source": deps_volume, "Target": DEPS_DIR, "ReadOnly": True})
        if cache is not None:
            for d in cache.dirs:
                mounts.append({"Type": "bind", "Source": f"{cache.host_path}/{d}", "Target": f"{APP_DIR}/{d}", "ReadOnly": True})
        return mounts + self.seed_mounts() + data_mounts(data)

    def container_config(
        self, env: list[str], labels: dict[str, str], mounts: list[dict[str, Any]], nano_cpus: int | None = None
    ) -> dict[str, Any]:
        """`nano_cpus`: its CPU limit in place of the config's (RunPlan.cpus)."""
        return {
            "Image": self.config.image,
            "Hostname": "preview",
            "User": f"{PREVIEW_UID}:{PREVIEW_UID}",
            "WorkingDir": APP_DIR,
            "Entrypoint": entry_command()[:3],
            "Cmd": entry_command()[3:],
            "Env": env,
            "Labels": labels,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": False,
            "NetworkDisabled": False,
            "HostConfig": self.host_config(mounts, nano_cpus),
            "NetworkingConfig": {"EndpointsConfig": {self.config.network: {}}},
        }

    def scratch(self, mounts: list[dict[str, Any]]) -> list[Scratch]:
        """The container's writable tmpfs besides /app: /tmp, the home and, over a node_modules mounted read-only
        from the cache, the folders dev tools write to."""
        c = self.config
        scratch = [
            Scratch("/tmp", c.tmp_size_bytes, owned=False, mode="1777", executable=True),
            Scratch("/home/preview", c.home_size_bytes, owned=True, mode="0700", executable=True),
        ]
        if any(m["Target"] == f"{APP_DIR}/node_modules" for m in mounts):
            scratch += [
                Scratch(f"{APP_DIR}/node_modules/{d}", c.tmp_size_bytes, owned=True, mode="0755", executable=False)
                for d in TOOL_DIRS
            ]
        return scratch

    def host_config(self, mounts: list[dict[str, Any]], nano_cpus: int | None = None) -> dict[str, Any]:
        c = self.config
        tmpfs = {s.target: tmpfs_options(s) for s in self.scratch(mounts)}
        return {
            "NetworkMode": c.network,
            "Privileged": False,
            "ReadonlyRootfs": True,
            "Tmpfs": tmpfs,
            "Mounts": mounts,
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Memory": c.memory_bytes,
            "MemorySwap": c.memory_bytes,
            "NanoCpus": nano_cpus or c.nano_cpus,
            "PidsLimit": c.pids_limit,
            "Ulimits": [{"Name": "nofile", "Soft": c.nofile_limit, "Hard": c.nofile_limit}] if c.nofile_limit else [],
            "Sysctls": {"net.ipv6.conf.all.disable_ipv6": "1"},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": c.log_max_size, "max-file": str(c.log_max_file)}},
            "RestartPolicy": {"Name": "no"},
            "IpcMode": "private",
            "AutoRemove": False,
        }


# Forja's setting that sizes each writable place of a preview container (builder/settings.py); the dev tools' folders
# over a read-only node_modules are /tmp's size.
SIZE_SETTINGS = {APP_DIR: "FORJA_PREVIEW_APP_MB", "/home/preview": "FORJA_PREVIEW_HOME_MB", "/tmp": "FORJA_PREVIEW_TMP_MB"}
_TOOL_PATHS = tuple(f"{APP_DIR}/node_modules/{d}" for d in TOOL_DIRS)
NO_SPACE = re.compile(r"ENOSPC|No space left on device")


def scratch_named(text: str) -> str:
    """The writable place of a container (a key of SIZE_SETTINGS) whose path `text` names, "" when it names none."""
    if any(path in text for path in _TOOL_PATHS):
        return "/tmp"
    for target in SIZE_SETTINGS:
        if re.search(rf"(?<![\w.-]){re.escape(target)}(/|\b)", text):
            return target
    return ""


def no_space_sentence(full: str, config: DockerConfig) -> str:
    """Why a preview found no space left (ENOSPC), naming the limit and its setting; `full` is the place a line named."""
    sizes = {APP_DIR: config.app_size_bytes, "/home/preview": config.home_size_bytes, "/tmp": config.tmp_size_bytes}
    if full in sizes:
        return (
            f"The preview ran out of space in {full}, which holds {human_size(sizes[full], iec=True)} at most: raise "
            f"{SIZE_SETTINGS[full]} (its files count as the preview's memory too, FORJA_PREVIEW_MEMORY_MB)."
        )
    places = ", ".join(f"{place} {human_size(sizes[place], iec=True)} ({name})" for place, name in SIZE_SETTINGS.items())
    return f"The preview ran out of disk space (ENOSPC) in one of its writable places, {places}: raise the one it filled."


def tmpfs_options(scratch: Scratch) -> str:
    """Mount options of a scratch tmpfs; without `exec` Docker mounts it noexec."""
    owner = f",uid={PREVIEW_UID},gid={PREVIEW_UID}" if scratch.owned else ""
    run = ",exec" if scratch.executable else ""
    return f"rw,nosuid,nodev{run},size={scratch.size_bytes}{owner},mode={scratch.mode}"
