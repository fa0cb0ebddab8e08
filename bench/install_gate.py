"""What the install gate's reading of registry traffic costs an install: prints figures, asserts nothing.

A real npm install of the React starter (tests/review_packages/react-starter-package-lock.json: 83 packages, of which
npm fetches the 35 this machine needs, the other platforms' builds skipped) through Forja's egress proxy
(preview_runtime/local/egress.py), three ways:
  tunnel  the proxy tunnels the install's TLS without reading it (no package check);
  cold    the proxy reads it (registry_relay.py), asking InstallGate.verdict about each document the install asks
          for, the gate's answers not yet kept: one lookup of the package's full document each, before the install's
          own request goes on;
  warm    the same, within the five minutes the gate keeps its answers.
--lockfile says which install: `npm ci` of that lockfile as it is (it has no tarball addresses, so npm asks each
package's document for one), `npm ci` of it with the addresses npm itself writes (resolved: npm asks no document at
all, so the gate is never asked), or `npm install` without a lockfile (none: npm asks the document of every package
it resolves, the optional peers' too).

The registry is on loopback in a process of its own (tests/package_registry.py), over HTTPS for the install (its
certificate from an authority only the bench trusts) and over plain HTTP for the gate's lookups (as
FORJA_REVIEW_NPM_REGISTRY would name it): each package's document made from the lockfile's names, versions and
dependencies, whole to what asks for it whole (the gate) and abbreviated to what asks as npm does, with --versions
older versions each for size (npm's real documents are larger still for the popular packages: every version's whole
manifest, hundreds of versions), and the real tarballs from the starters' npm seed (.cache/starters-npm). npm runs
with an empty cache and without install scripts each time.

Per mode: the median wall time of --runs installs (the modes take turns), over the tunnel's (of the medians, and the
median of each run's ratio), the CPU time of the proxy's process (the gate's work included) and of npm, and what the
registry saw in the last run: the install's requests and the bytes answered, then the gate's. Then the gate's
verdicts on the same documents alone, cold one by one and all at once, and warm.

    .venv/bin/python bench/install_gate.py [--runs 3] [--lockfile plain|resolved|none] [--versions 100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import multiprocessing
import resource
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.review import registry as review_registry  # noqa: E402
from builder.services.install_gate import InstallGate  # noqa: E402
from builder.settings.review_packages import ReviewPackageSettings  # noqa: E402
from preview_runtime.local.egress import EgressPolicy, EgressProxy  # noqa: E402
from preview_runtime.local.registry_certs import CertificateAuthority  # noqa: E402
from preview_runtime.local.registry_relay import Reading  # noqa: E402
from tests.integration.test_egress import _npm, names_to_loopback  # noqa: E402  # pyright: ignore[reportPrivateUsage]
from tests.package_registry import Registry, RegistryServer, Version  # noqa: E402

LOCK = REPO / "tests" / "review_packages" / "react-starter-package-lock.json"
SEED = REPO / ".cache" / "starters-npm" / "_cacache" / "content-v2"
HOST = "registry.test"
FROM_LOCK = ("dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bin", "engines")
FROM_LOCK += ("os", "cpu", "libc", "funding", "bundleDependencies", "license")
MODES = ("tunnel", "cold", "warm")


def _published(name: str, version: str, url: str) -> dict[str, Any]:
    """What a full manifest carries besides what the lockfile says: a registry's own fields, and the dist."""
    tarball = f"/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"
    digest = hashlib.sha512(f"{name}@{version}".encode()).digest()
    return {
        "description": f"The {name} package, version {version}, as its authors describe it in a sentence or two.",
        "keywords": ["react", "vite", "build", "tool", name],
        "homepage": f"https://github.com/{name.strip('@')}#readme",
        "bugs": {"url": f"https://github.com/{name.strip('@')}/issues"},
        "repository": {"type": "git", "url": f"git+https://github.com/{name.strip('@')}.git"},
        "author": {"name": "A. Maintainer", "email": "maintainer@example.com"},
        "maintainers": [{"name": f"maintainer{n}", "email": f"maintainer{n}@example.com"} for n in range(3)],
        "scripts": {"build": "tsc -p . && rollup -c", "test": "vitest run", "lint": "eslint ."},
        "devDependencies": {"typescript": "^5.6.0", "vitest": "^3.0.0", "eslint": "^9.0.0", "rollup": "^4.0.0"},
        "gitHead": digest[:20].hex(),
        "_npmUser": {"name": "maintainer0", "email": "maintainer0@example.com"},
        "_nodeVersion": "22.11.0",
        "_npmVersion": "10.9.0",
        "dist": {
            "tarball": url + tarball,
            "integrity": "sha512-" + base64.b64encode(digest).decode(),
            "shasum": hashlib.sha1(digest).hexdigest(),
            "fileCount": 42,
            "unpackedSize": 123456,
            "signatures": [{"keyid": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA", "sig": digest.hex()[:96]}],
        },
    }


def _seeded(integrity: str) -> bytes | None:
    """The tarball the starters' npm seed holds for `integrity` (npm's cache keeps it under its sha512)."""
    digest = base64.b64decode(integrity.split("-", 1)[1]).hex()
    path = SEED / "sha512" / digest[:2] / digest[2:4] / digest[4:]
    return path.read_bytes() if path.exists() else None


def starter_registry(registry: Registry, url: str, older: int) -> None:
    """The lockfile's packages in `registry`, each document with `older` versions before the lockfile's; the optional
    peers nobody installs (npm without a lockfile asks for their documents) with only those."""
    peers: set[str] = set()
    for key, entry in json.loads(LOCK.read_text())["packages"].items():
        if not key or entry.get("inBundle"):
            continue
        name, version = key.rsplit("node_modules/", 1)[1], entry["version"]
        manifest = _published(name, version, url) | {field: entry[field] for field in FROM_LOCK if field in entry}
        manifest["dist"] |= {"integrity": entry["integrity"]}
        registry.npm.setdefault(name, {})[version] = Version(manifest=manifest)
        peers |= set(entry.get("peerDependencies", {}))
        if (tarball := _seeded(entry["integrity"])) is not None:
            registry.files[manifest["dist"]["tarball"].removeprefix(url)] = tarball
    for name in peers - set(registry.npm):
        registry.npm[name] = {}
    for name, versions in registry.npm.items():
        newest = next(iter(versions.values())).manifest if versions else {}
        for n in range(older):
            extra = {field: newest[field] for field in ("dependencies", "engines") if field in newest}
            versions[f"0.0.{n}"] = Version(manifest=_published(name, f"0.0.{n}", url) | extra)


def _serve(chain: bytes, key: bytes, older: int, conn: Connection) -> None:
    """The registry, in this process of its own: over TLS for the install, plain for the gate, the same packages;
    answers what each saw (its requests, the bytes it answered) and forgets it, at each message."""
    with tempfile.TemporaryDirectory(prefix="forja-bench-registry-") as folder:
        (Path(folder) / "chain.pem").write_bytes(chain)
        (Path(folder) / "key.pem").write_bytes(key)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(Path(folder) / "chain.pem", Path(folder) / "key.pem")
    over_tls = RegistryServer(Registry(), tls=context)
    starter_registry(over_tls.registry, f"https://{HOST}:{over_tls.port}", older)
    plain = RegistryServer(Registry(npm=over_tls.registry.npm))
    full = [len(json.dumps(over_tls.registry.packument(name))) for name in over_tls.registry.npm]
    short = [len(json.dumps(over_tls.registry.packument(name, abbreviated=True))) for name in over_tls.registry.npm]
    sizes = (len(full), statistics.median(full), max(full), statistics.median(short), len(over_tls.registry.files))
    conn.send((over_tls.port, plain.port, sizes))
    while conn.recv():
        tallies = [(list(r.requested), r.sent) for r in (over_tls.registry, plain.registry)]
        for r in (over_tls.registry, plain.registry):
            r.requested.clear()
            r.sent = 0
        conn.send(tallies)


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process (the proxy, the gate) and of its children (npm)."""
    mine, theirs = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime, theirs.ru_utime + theirs.ru_stime


def lockfile(kind: str) -> str | None:
    """The starter's lockfile as `kind` says (None: no lockfile)."""
    if kind == "none":
        return None
    lock = json.loads(LOCK.read_text())
    for key, entry in lock["packages"].items() if kind == "resolved" else ():
        if key and not entry.get("inBundle"):
            name = key.rsplit("node_modules/", 1)[1]
            entry["resolved"] = f"https://registry.npmjs.org/{name}/-/{name.rpartition('/')[2]}-{entry['version']}.tgz"
    return json.dumps(lock, indent=2)


async def install(proxy: EgressProxy, port: int, home: Path, lock: str | None) -> tuple[float, float, float]:
    """One `npm ci` of the starter through `proxy` with an empty cache (`npm install` without `lock`): its wall time,
    and the CPU time the proxy's process and npm spent."""
    for path in ("cache", "node_modules"):
        await asyncio.to_thread(shutil.rmtree, home / path, ignore_errors=True)
    (home / "package-lock.json").unlink(missing_ok=True)
    if lock is not None:
        (home / "package-lock.json").write_text(lock)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    try:
        started, cpu = time.perf_counter(), _cpu()
        status, out = await _npm(
            int(server.sockets[0].getsockname()[1]),
            f"https://{HOST}:{port}/",
            home,
            "ci" if lock else "install",
            "--ignore-scripts",
        )
        took, (proxy_cpu, npm_cpu) = time.perf_counter() - started, (a - b for a, b in zip(_cpu(), cpu, strict=True))
    finally:
        server.close()
    if status != 0:
        raise SystemExit(f"npm failed:\n{out}")
    return took, proxy_cpu, npm_cpu


def _table(times: dict[str, list[tuple[float, float, float]]], tallies: dict[str, list[list[tuple[list[str], int]]]]) -> None:
    """Each mode's figures: times and CPU (medians of its runs), and what the registry saw in its last run."""
    print(
        "| mode | wall s (p50) | / tunnel | / tunnel, run by run (p50) | proxy's CPU s (p50) | npm's CPU s (p50) "
        "| install's requests | install's MB | gate's requests | gate's MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    tunnel = statistics.median(t[0] for t in times["tunnel"])
    paired = {mode: statistics.median(t[0] / u[0] for t, u in zip(times[mode], times["tunnel"], strict=True)) for mode in MODES}
    for mode in MODES:
        (asked, sent), (looked, fetched) = ((len(seen), sent) for seen, sent in tallies[mode][-1])
        took, proxy_cpu, npm_cpu = (statistics.median(t[n] for t in times[mode]) for n in range(3))
        print(
            f"| {mode} | {took:.2f} | {took / tunnel:.2f} | {paired[mode]:.2f} | {proxy_cpu:.2f} | {npm_cpu:.2f} | {asked} | "
            f"{sent / 1e6:.1f} | {looked} | {fetched / 1e6:.1f} |",
            flush=True,
        )
    for mode in MODES:
        print(f"  {mode} wall s, run by run: {', '.join(f'{t[0]:.2f}' for t in times[mode])}")


async def _verdicts_alone(gate: InstallGate, names: list[str]) -> None:
    """The gate's verdicts on the documents the install asked for, without the install: one by one and all at once,
    cold (its answers forgotten), then warm."""
    for how in ("one by one", "all at once"):
        review_registry._cache.clear()  # pyright: ignore[reportPrivateUsage]
        started, cpu = time.perf_counter(), _cpu()[0]
        if how == "one by one":
            for name in names:
                await gate.verdict("npm", name)
        else:
            await asyncio.gather(*(gate.verdict("npm", name) for name in names))
        took, spent = time.perf_counter() - started, _cpu()[0] - cpu
        print(f"  {len(names)} cold verdicts alone, {how}: {took:.2f} s ({spent:.2f} s CPU)")
    started = time.perf_counter()
    for name in names:
        await gate.verdict("npm", name)
    print(f"  the same warm, one by one: {(time.perf_counter() - started) / len(names) * 1e6:.0f} µs each")


async def main(args: argparse.Namespace) -> None:
    theirs = CertificateAuthority.made("The bench's registry authority")
    spawn = multiprocessing.get_context("spawn")
    ours, child_end = spawn.Pipe()
    child = spawn.Process(target=_serve, args=(*theirs.leaf(HOST), args.versions, child_end), daemon=True)
    child.start()
    tls_port, plain_port, sizes = ours.recv()
    gate_url = f"http://127.0.0.1:{plain_port}"
    gate = InstallGate(
        ReviewPackageSettings.model_validate(
            {
                "review_npm_registry": gate_url,
                "review_pypi_url": f"{gate_url}/pypi",
                "review_advisory_feed": gate_url,
                "review_min_package_age_days": 2,
                "review_allowed_packages": "",
            }
        )
    )
    with tempfile.TemporaryDirectory(prefix="forja-bench-install-gate-") as work:
        home = Path(work)
        ours_ca = CertificateAuthority.in_folder(home / "data")
        (home / "registry-ca.pem").write_bytes(ours_ca.pem() + theirs.pem())  # npm trusts both: tunnelled or read
        starter = (REPO / "templates" / "react-vite-tailwind" / "files" / "package.json").read_text()
        (home / "package.json").write_text(starter.replace("[[ slug|tojson ]]", '"starter"'))
        reading = Reading(
            gate.verdict, ours_ca, ssl.create_default_context(cadata=theirs.pem().decode()), {(HOST, tls_port): ("npm", "/")}
        )
        said: list[str] = []
        lock = lockfile(args.lockfile)

        def proxy(read: bool) -> EgressProxy:
            policy = EgressPolicy(
                hosts=(), resolve=names_to_loopback(HOST), mirrors=[(HOST, tls_port)], reading=reading if read else None
            )
            return EgressProxy(policy, said.append)

        print(
            f"{sizes[0]} documents (full: median {sizes[1] / 1024:.0f} KB, largest {sizes[2] / 1024:.0f} KB; "
            f"abbreviated: median {sizes[3] / 1024:.0f} KB), {sizes[4]} tarballs; {args.runs} runs a mode",
            flush=True,
        )
        await install(proxy(False), tls_port, home, lock)  # npm's and the disk's first time, in no mode's figures
        ours.send(True)
        ours.recv()
        times: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
        tallies: dict[str, list[list[tuple[list[str], int]]]] = {mode: [] for mode in MODES}
        for _ in range(args.runs):
            for mode in MODES:
                if mode == "cold":
                    review_registry._cache.clear()  # pyright: ignore[reportPrivateUsage]
                times[mode].append(await install(proxy(mode != "tunnel"), tls_port, home, lock))
                ours.send(True)
                tallies[mode].append(ours.recv())
        _table(times, tallies)
        if said:
            print(f"the proxy said: {said[:3]}")
        documents = [unquote(line[5:]) for line in tallies["cold"][-1][1][0]]
        if documents:
            await _verdicts_alone(gate, documents)
    await gate.close()
    ours.send(False)
    child.join(timeout=5)
    child.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="installs a mode")
    parser.add_argument(
        "--lockfile",
        choices=("plain", "resolved", "none"),
        default="plain",
        help="npm ci of the repository's lockfile (no tarball addresses: npm asks each package's document for it), of it "
        "with each tarball's address as npm writes them (resolved), or npm install without one (none)",
    )
    parser.add_argument("--versions", type=int, default=100, help="older versions in each package's document")
    asyncio.run(main(parser.parse_args()))
