"""iptables rules that keep previews off each other, the host and private ranges (the design is in DESIGN.md)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import shutil
from collections.abc import Sequence

from preview_runtime.local.network import EGRESS_PORT
from preview_runtime.runner import RunnerError

PRIVATE_RANGES = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/3",
)
_BRIDGE_NETFILTER = "/proc/sys/net/bridge/bridge-nf-call-iptables"


async def _run(*argv: str, check: bool = True) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if check and proc.returncode != 0:
        raise RunnerError(f"{' '.join(argv)} failed: {text}")
    return proc.returncode or 0, text


def _nameservers() -> list[str]:
    """IPv4 nameservers Docker's embedded DNS forwards to (from the container's namespace)."""
    found: list[str] = []
    for path in ("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"):
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        for match in re.finditer(r"^\s*nameserver\s+(\S+)", text, re.MULTILINE):
            try:
                ip = ipaddress.ip_address(match.group(1))
            except ValueError:
                continue
            if ip.version == 4 and not ip.is_loopback and str(ip) not in found:
                found.append(str(ip))
        if found:
            break
    return found


async def _host_ipv4_addresses() -> list[str]:
    if not shutil.which("ip"):
        return []
    _, out = await _run("ip", "-4", "-o", "addr", "show", check=False)
    addrs = []
    for match in re.finditer(r"\sinet\s+([0-9.]+)/", out):
        if not match.group(1).startswith("127."):
            addrs.append(match.group(1))
    return sorted(set(addrs))


def _interfaces() -> set[str]:
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


def chains(bridge: str) -> tuple[str, str]:
    """The forward and input chains of one bridge."""
    suffix = bridge.removeprefix("br-")[:18]
    return f"FORJA-FWD-{suffix}", f"FORJA-IN-{suffix}"


async def commands(bridge: str, dns_servers: Sequence[str] | None, egress: str = "") -> list[list[str]]:
    """The commands that fill the bridge's chains (the jumps into them are in `jumps`); `egress`: the gateway address
    where Forja's egress proxy listens (egress.py), whose one port previews may open."""
    fwd, inp = chains(bridge)
    cmds: list[list[str]] = [
        ["iptables", "-N", fwd],
        ["iptables", "-F", fwd],
        ["iptables", "-A", fwd, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
        ["iptables", "-A", fwd, "-o", bridge, "-j", "DROP"],
    ]
    for ns in dns_servers if dns_servers is not None else _nameservers():
        for proto in ("udp", "tcp"):
            cmds.append(["iptables", "-A", fwd, "-d", f"{ns}/32", "-p", proto, "--dport", "53", "-j", "RETURN"])
    for cidr in PRIVATE_RANGES:
        cmds.append(["iptables", "-A", fwd, "-d", cidr, "-j", "DROP"])
    for addr in await _host_ipv4_addresses():
        cmds.append(["iptables", "-A", fwd, "-d", f"{addr}/32", "-j", "DROP"])
    cmds += [
        ["iptables", "-A", fwd, "-j", "RETURN"],
        ["iptables", "-N", inp],
        ["iptables", "-F", inp],
        ["iptables", "-A", inp, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ]
    if egress:
        cmds.append(["iptables", "-A", inp, "-d", f"{egress}/32", "-p", "tcp", "--dport", str(EGRESS_PORT), "-j", "ACCEPT"])
    cmds.append(["iptables", "-A", inp, "-j", "DROP"])
    return cmds


def jumps(bridge: str) -> list[tuple[str, list[str]]]:
    """(binary, rule) of the jumps from the built-in chains, in their final order from the top."""
    fwd, inp = chains(bridge)
    return [
        ("iptables", ["DOCKER-USER", "-i", bridge, "-j", fwd]),
        ("iptables", ["DOCKER-USER", "-o", bridge, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]),
        ("iptables", ["INPUT", "-i", bridge, "-j", inp]),
        ("ip6tables", ["INPUT", "-i", bridge, "-j", "DROP"]),
        ("ip6tables", ["FORWARD", "-i", bridge, "-j", "DROP"]),
    ]


async def install(bridge: str, dns_servers: Sequence[str] | None, egress: str = "") -> None:
    """Install (or refresh) the isolation rules for a bridge; idempotent."""
    if not shutil.which("iptables"):
        raise RunnerError("Forja cannot isolate previews: iptables is not installed on the Docker host.")
    if os.geteuid() != 0:
        raise RunnerError(
            "Forja cannot isolate previews: installing the firewall rules needs root "
            "(or run with manage_firewall=False after installing them yourself)."
        )
    _ensure_bridge_netfilter()
    await remove_stale_firewall_rules()
    rc, out = await _run("iptables", "-L", "DOCKER-USER", "-n", check=False)
    if rc != 0:
        raise RunnerError(f"Forja cannot isolate previews: the DOCKER-USER chain is missing ({out}).")
    for cmd in await commands(bridge, dns_servers, egress):
        if cmd[1] == "-N":
            await _run(*cmd, check=False)  # exists already: fine, it is flushed next
        else:
            await _run(*cmd)
    await check_jumps(bridge)


async def check_jumps(bridge: str) -> None:
    """Put back any jump that is missing (something flushed DOCKER-USER or INPUT)."""
    # Inserted at the top in reverse so the final order is as listed.
    for binary, rule in reversed(jumps(bridge)):
        if not shutil.which(binary):
            continue
        rc, _ = await _run(binary, "-C", *rule, check=False)
        if rc != 0:
            rc, out = await _run(binary, "-I", rule[0], "1", *rule[1:], check=False)
            if rc != 0 and binary == "iptables":
                raise RunnerError(f"Forja could not install the preview firewall rule {' '.join(rule)}: {out}")


def _ensure_bridge_netfilter() -> None:
    """Rules between containers on one bridge apply only with the bridge netfilter hook on."""
    try:
        with open(_BRIDGE_NETFILTER) as f:
            if f.read().strip() == "1":
                return
        with open(_BRIDGE_NETFILTER, "w") as f:
            f.write("1")
    except OSError as exc:
        raise RunnerError(
            f"Forja cannot isolate previews from each other: the bridge netfilter hook is off ({_BRIDGE_NETFILTER}; "
            "load br_netfilter)."
        ) from exc


async def remove(bridge: str) -> None:
    """Remove a bridge's rules (tests and uninstall); its containers lose their isolation."""
    fwd, inp = chains(bridge)
    for binary, rule in jumps(bridge):
        if shutil.which(binary):
            while (await _run(binary, "-D", *rule, check=False))[0] == 0:
                pass
    for chain in (fwd, inp):
        await _run("iptables", "-F", chain, check=False)
        await _run("iptables", "-X", chain, check=False)


async def remove_stale_firewall_rules() -> list[str]:
    """Remove Forja's preview rules whose bridge is gone (its network was removed); returns the bridges.

    Docker deletes a network's bridge but not rules others hung on it; install() calls this so a
    host that saw many networks come and go keeps a tidy ruleset.
    """
    if not shutil.which("iptables"):
        return []
    _, out = await _run("iptables", "-S", check=False)
    bridges = set(re.findall(r"^-N FORJA-(?:FWD|IN)-([0-9a-zA-Z_.-]+)$", out, re.MULTILINE))
    stale = []
    interfaces = _interfaces()
    if not interfaces:
        return []  # cannot tell which bridges exist: touch nothing
    for suffix in sorted(bridges):
        bridge = f"br-{suffix}"
        if bridge in interfaces or suffix in interfaces:
            continue  # alive (Docker's br-<id>, or a bridge named by the network's options)
        stale.append(bridge)
        for binary in ("iptables", "ip6tables"):
            if not shutil.which(binary):
                continue
            _, rules = await _run(binary, "-S", check=False)
            for line in rules.splitlines():
                if line.startswith("-A ") and (f" -i {bridge} " in line + " " or f" -o {bridge} " in line + " "):
                    await _run(binary, *line.replace("-A ", "-D ", 1).split(), check=False)
        for chain in (f"FORJA-FWD-{suffix}", f"FORJA-IN-{suffix}"):
            await _run("iptables", "-F", chain, check=False)
            await _run("iptables", "-X", chain, check=False)
    return stale
