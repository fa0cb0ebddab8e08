"""What an operator's monitoring reads at /metrics (Prometheus' text format, made with prometheus_client).

Each Forja worker is a process of its own (one `reflex run`, GRANIAN_WORKERS=1: rxconfig.py), so each keeps its own
counters in prometheus_client's default registry and answers for itself; an operator scrapes every worker. families.py
names the counters the service layer moves as things happen, http.py measures every request in one ASGI guard, and
scrape.py turns what is read at scrape time (previews, generations running, disk use) into metric families.
"""
