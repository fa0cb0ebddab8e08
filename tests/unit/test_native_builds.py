"""A native addon's failed build is told apart from other install failures, and a Docker preview says which package
needs compiling and that the local runner can build it (preview_runtime/native.py)."""

from __future__ import annotations

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.docker.readiness import Watch
from preview_runtime.logs import LogLevel
from preview_runtime.native import NativeBuild

# npm's output in the Docker image, which has make and Python but no C/C++ compiler (bcrypt 5: its prebuilt binary on
# GitHub, which the container cannot reach; node-gyp then builds with the image's Node headers).
NO_COMPILER = """\
npm error code 1
npm error path /app/node_modules/bcrypt
npm error command failed
npm error command sh -c node-pre-gyp install --fallback-to-build
npm error node-pre-gyp ERR! install response status 403 Forbidden on https://github.com/kelektiv/node.bcrypt.js/releases/download/v5.1.1/bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz
npm error gyp info spawn make
npm error make: cc: No such file or directory
npm error gyp ERR! build error
npm error gyp ERR! stack Error: `make` failed with exit code: 2
npm error A complete log of this run can be found in: /home/preview/.npm/_logs/debug-0.log"""
# yarn classic names the package first too, then the script's output.
YARN = """\
error /app/node_modules/@scope/native-thing: Command failed.
Exit code: 1
Command: node-gyp rebuild
Output:
gyp info it worked if it ends with ok
gyp ERR! build error"""
# A failed install script that builds nothing.
NOT_NATIVE = """\
npm error code 1
npm error path /app/node_modules/esbuild
npm error command failed
npm error command sh -c node install.js
npm error Error: Expected "0.25.0" but got "0.24.0\""""


async def _nothing_saved(preview: DockerPreview, folders: list[str]) -> None:
    """No install succeeds here: nothing is saved."""


def _failed(output: str) -> str:
    build = NativeBuild()
    for line in output.splitlines():
        build.read(line)
    return build.failed


def test_the_package_whose_native_build_failed_is_named_from_npms_and_yarns_output() -> None:
    assert _failed(NO_COMPILER) == "bcrypt"
    assert _failed(YARN) == "@scope/native-thing"


def test_other_install_failures_name_no_native_build() -> None:
    assert _failed(NOT_NATIVE) == ""
    assert _failed("npm error 404 Not Found - GET https://registry.npmjs.org/left-pad-nope") == ""
    # A native build that worked, then another package's script that failed: that one built nothing.
    assert _failed("gyp info ok\n" + NOT_NATIVE) == ""


def test_a_docker_preview_whose_native_build_failed_says_which_package_and_where_it_builds() -> None:
    said: list[tuple[str, LogLevel | None, str]] = []
    preview = DockerPreview(
        "p1", "project", 1, "container", 3000, lambda _, text, level, source: said.append((text, level, source))
    )
    watch = Watch(Engine(DockerConfig()), DockerConfig(), on_installed=_nothing_saved)
    for line in NO_COMPILER.splitlines():
        watch._line(preview, line, None)  # the container's output, as follow() reads it
    watch._on_marker(preview, ["install-failed", "1"])
    sentence = (
        "The package bcrypt has to be compiled from its C/C++ source as it installs, and previews in Docker have no "
        "compiler for that here: the local runner can build it."
    )
    assert preview.detail == f"The install failed: exit code 1. {sentence}"
    assert (sentence, LogLevel.error, "forja") in said
