"""The page's packages and build, made in the repository's `.web` beside the checks (scripts/test.sh) by a Forja
started and stopped as the first end-to-end Forja of a run starts (tests/e2e/conftest.py `start_forja`, under the same
lock). That first Forja of the tests then finds its page's inputs unchanged (builder/launch/page.py) instead of
installing and building it (a minute on two cores) while the other worker's end-to-end module waits on the lock.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from preview_runtime.free_ports import free_port
from tests.e2e.conftest import start_forja, stop

log = logging.getLogger(__name__)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its waiting loop's every request
    with tempfile.TemporaryDirectory(prefix="forja-seed-") as folder:
        stop(start_forja(Path(folder) / "data", free_port(), free_port(), "forja-seed.log"))
    log.info("The page is built in .web for the end-to-end tests.")
