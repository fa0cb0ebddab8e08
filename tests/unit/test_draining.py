"""A worker asked to stop drains before its server's own stop, whichever way the server took SIGTERM: uvicorn sets a
signal handler (signal.signal), a Granian worker sets its stop on its event loop (loop.add_signal_handler).

Each case runs in a process of its own, which sends itself the SIGTERM: the drain's flag is the process's.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.worker_processes import REPO

SERVER = {
    "uvicorn": "signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(time.monotonic()))",
    "granian": "loop.add_signal_handler(signal.SIGTERM, lambda: stopped.append(time.monotonic()))",
}


def drained(server: str, seconds: float) -> tuple[str, int, int, float]:
    """Whether it was draining and how often the server had stopped 0.1 s after a SIGTERM; how often the server
    stopped after a second SIGTERM, and how many seconds after the first it first did."""
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, time
        from builder.draining import drain_on_sigterm, draining

        async def main():
            loop = asyncio.get_running_loop()
            stopped = []
            {SERVER[server]}
            drain_on_sigterm({seconds})
            asked = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.1)
            during = draining(), len(stopped)
            os.kill(os.getpid(), signal.SIGTERM)  # a second one while draining stops nothing sooner
            await asyncio.sleep(0.1)
            while not stopped and time.monotonic() - asked < 10:
                await asyncio.sleep(0.02)
            print(*during, len(stopped), stopped[0] - asked if stopped else -1)

        asyncio.run(main())
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    flag, stops_then, stops, after = run.stdout.split()
    return flag, int(stops_then), int(stops), float(after)


@pytest.mark.parametrize("server", sorted(SERVER))
def test_sigterm_first_drains_then_stops_the_server_once(server: str) -> None:
    flag, stops_then, stops, after = drained(server, 1.0)
    assert (flag, stops_then, stops) == ("True", 0, 1)
    assert after >= 1.0


@pytest.mark.parametrize("server", sorted(SERVER))
def test_without_a_drain_each_sigterm_goes_to_the_server_as_before(server: str) -> None:
    flag, stops_then, stops, _ = drained(server, 0)
    assert (flag, stops_then, stops) == ("False", 1, 2)
