"""/metrics for an operator's monitoring: this worker's counters and what is read at scrape time, for an admin only.

The figures the admin page shows too come from the same calls: the generations running from the store's
running_generations (the admin page's health), the previews from the preview hub's entries of this worker (the admin
page's list is every worker's entries), the releases' bytes from the folder the admin page's published apps are
measured in (settings.served_dir).
"""

from __future__ import annotations

import asyncio

from builder.monitoring.disk import DiskUse, data_parts
from builder.monitoring.scrape import Figures, exposition, preview_counts
from builder.services.access import Actor, require_admin
from builder.services.preview_hub import PreviewHub
from builder.settings import settings
from builder.store import ProjectStore


class MonitoringService:
    def __init__(self, store: ProjectStore, previews: PreviewHub) -> None:
        self._store = store
        self._previews = previews
        self._disk = DiskUse(lambda: data_parts(settings.data_dir, settings.served_dir))

    async def figures(self, admin: Actor) -> Figures:
        require_admin(admin)
        manager = self._previews.started_manager
        return Figures(
            previews=preview_counts(entry.info for entry in self._previews.mine()),
            generations_running=await self._store.running_generations(),
            proxy_restarts=manager.proxy.restarts if manager is not None else 0,
            disk=await asyncio.to_thread(self._disk.parts),
        )

    async def metrics(self, admin: Actor) -> bytes:
        """Everything /metrics answers, in Prometheus' text format."""
        return exposition(await self.figures(admin))
