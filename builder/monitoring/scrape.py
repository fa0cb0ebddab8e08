"""What /metrics reads at scrape time, as metric families beside the registry's counters.

The figures are gathered by the service layer (builder.services.monitoring); this only writes them out, with
prometheus_client, after the counters of this process's default registry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from preview_runtime.runner import PreviewInfo, PreviewState


@dataclass(frozen=True)
class Figures:
    """One scrape's reading."""

    # (state, runner) -> how many of this worker's previews are in it.
    previews: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Every worker's (they share the database): the same figure on each.
    generations_running: int = 0
    proxy_restarts: int = 0
    disk: dict[str, int] = field(default_factory=dict)


def preview_counts(previews: Iterable[PreviewInfo]) -> Counter[tuple[str, str]]:
    """How many previews are in each (state, runner); every state is there, at 0 when none is in it, so that a series
    does not vanish when its last preview leaves it."""
    counts = Counter((info.state.value, info.runner) for info in previews)
    for runner in {runner for _, runner in counts}:
        for state in PreviewState:
            counts.setdefault((state.value, runner), 0)
    return counts


class _Scraped(Collector):
    def __init__(self, figures: Figures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        figures = self._figures
        previews = GaugeMetricFamily(
            "forja_previews", "Previews this worker runs, by state and runner (read at scrape time).", labels=["state", "runner"]
        )
        for (state, runner), count in sorted(figures.previews.items()):
            previews.add_metric([state, runner], count)
        yield previews
        yield GaugeMetricFamily(
            "forja_generations_running",
            "Generations running now in every worker on this database (the admin page's figure; the same on each worker).",
            value=figures.generations_running,
        )
        yield CounterMetricFamily(
            "forja_preview_proxy_restarts",
            "Times this worker's preview proxy (Traefik) ended or hung and was started again.",
            value=figures.proxy_restarts,
        )
        disk = GaugeMetricFamily(
            "forja_data_bytes",
            "Bytes of each part of the data folder (its folders, the files beside them) and of FORJA_SHARED_DIR's "
            "(shared_...); read at most once a minute.",
            labels=["part"],
        )
        for part, size in sorted(figures.disk.items()):
            disk.add_metric([part], size)
        yield disk


def exposition(figures: Figures) -> bytes:
    """This process's counters and histograms, then the figures read now, in Prometheus' text format."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Scraped(figures))
    return generate_latest(REGISTRY) + generate_latest(scraped)
