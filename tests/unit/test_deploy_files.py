"""deploy/compose.yaml, deploy/stack.yaml and deploy/forja.env.example agree with the code they deploy: the variables
they give Forja are settings it reads, the health check is a route it serves on the port it listens on, the stack's
workers are sticky, and no file holds a secret."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AliasChoices

from builder.api import api
from builder.git.commands import HOOK_SCRIPT, HTTP_BACKEND
from builder.monitoring.scrape import Figures, exposition, preview_counts
from builder.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FILES = ["compose.yaml", "stack.yaml"]
# Names the files use that are not Forja's: the database's password (DATABASE_URL is made of it), the stack's host
# name for Traefik's rule and the NFS export of its shared folder.
NOT_SETTINGS = {"POSTGRES_PASSWORD", "PUBLIC_HOST", "SHARED_NFS_HOST", "SHARED_NFS_PATH"}
SECRET_NAMES = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL")


def setting_names() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(f"FORJA_{name.upper()}")
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / name).read_text())


def forja_environment(name: str) -> dict[str, str]:
    return {key: str(value) for key, value in load(name)["services"]["forja"]["environment"].items()}


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "forja.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("name", FILES)
def test_every_variable_given_to_forja_is_a_setting(name: str) -> None:
    assert set(forja_environment(name)) - setting_names() == set()


def test_every_variable_of_the_env_example_is_a_setting_or_named_as_not_one() -> None:
    assert set(env_example()) - setting_names() - NOT_SETTINGS == set()


@pytest.mark.parametrize("name", FILES)
def test_forja_listens_where_its_health_check_and_traefik_look(name: str) -> None:
    forja = load(name)["services"]["forja"]
    port = forja["environment"]["FORJA_PORT"]
    assert int(port) == Settings.model_fields["port"].default, "rxconfig serves the page, API and socket on this port"
    served = set(api.openapi()["paths"])  # every route, those of included routers too (api.routes nests those)
    probe = " ".join(forja["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/health" in probe and "/health" in served
    assert forja["environment"]["FORJA_AUTH"] == "password", "Forja refuses to start open to the network without it"


def test_dockerfile_exposes_the_default_ports_and_probes_health() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    fields = Settings.model_fields
    assert f"EXPOSE {fields['port'].default} {fields['preview_port'].default}" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
    assert "REFLEX_USE_NPM=1" in dockerfile


def test_the_image_has_what_the_git_server_runs() -> None:
    """python:3.11-slim has no git: the git server, remote sync and imports from a URL need it, and its push hook
    perl (which Debian's git depends on)."""
    installed = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if "apt-get install" in line).split()
    assert "git" in installed and HTTP_BACKEND.startswith("/usr/lib/git-core/")
    assert HOOK_SCRIPT.read_text().startswith("#!/usr/bin/perl\n")


def test_compose_starts_forja_after_healthy_postgres_and_redis() -> None:
    services = load("compose.yaml")["services"]
    assert services["forja"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "/var/run/docker.sock:/var/run/docker.sock" in services["forja"]["volumes"]


def test_the_compose_route_reaches_forja_on_its_port_and_health() -> None:
    routes = yaml.safe_load((DEPLOY / "traefik" / "compose.yml").read_text())
    balancer = routes["http"]["services"]["forja"]["loadBalancer"]
    assert balancer["servers"] == [{"url": f"http://127.0.0.1:{Settings.model_fields['port'].default}"}]
    assert balancer["healthCheck"]["path"] == "/health"
    retry = routes["http"]["routers"]["forja"]["middlewares"]
    assert [routes["http"]["middlewares"][name]["retry"]["attempts"] >= 2 for name in retry] == [True]


@pytest.mark.parametrize("name", FILES)
def test_postgres_and_redis_have_health_checks_and_volumes(name: str) -> None:
    services = load(name)["services"]
    for dependency in ("postgres", "redis"):
        assert services[dependency]["healthcheck"]["test"], dependency
        assert services[dependency]["volumes"], dependency


def test_the_stack_runs_sticky_workers_and_keeps_its_data_on_a_manager() -> None:
    services = load("stack.yaml")["services"]
    deploy = services["forja"]["deploy"]
    assert deploy["replicas"] >= 2
    assert deploy["update_config"]["parallelism"] == 1
    labels = dict(label.split("=", 1) for label in deploy["labels"])
    sticky = "traefik.http.services.forja.loadbalancer.sticky.cookie"
    assert labels[f"{sticky}.name"] and labels[f"{sticky}.httponly"] == "true"
    assert labels["traefik.http.services.forja.loadbalancer.server.port"] == str(Settings.model_fields["port"].default)
    assert labels["traefik.http.services.forja.loadbalancer.healthcheck.path"] == "/health"
    # A rolling update (tests/integration/test_rolling_upgrade.py): a stopping worker drains longer than Traefik takes
    # to see it, within Docker's grace; a request no worker took goes to another.
    drain = float(services["forja"]["environment"]["FORJA_DRAIN_SECONDS"])
    checked_every = labels["traefik.http.services.forja.loadbalancer.healthcheck.interval"]
    assert checked_every.endswith("s") and float(checked_every.removesuffix("s")) < drain
    assert drain < float(services["forja"]["stop_grace_period"].removesuffix("s"))
    assert deploy["update_config"]["order"] == "stop-first"
    retry = labels["traefik.http.routers.forja.middlewares"]
    assert int(labels[f"traefik.http.middlewares.{retry}.retry.attempts"]) >= 2
    for dependency in ("postgres", "redis"):
        assert "node.role == manager" in services[dependency]["deploy"]["placement"]["constraints"]


def test_the_stacks_workers_share_one_folder_for_published_apps() -> None:
    stack = load("stack.yaml")
    worker = stack["services"]["forja"]
    shared = worker["environment"]["FORJA_SHARED_DIR"]
    [volume] = [v.split(":")[0] for v in worker["volumes"] if v.split(":")[1] == shared]
    # Not a node-local volume: every worker must read the same releases.
    assert stack["volumes"][volume]["driver_opts"]["type"] == "nfs"


@pytest.mark.parametrize("name", [*FILES, "forja.env.example"])
def test_no_secret_value_is_written_in_the_files(name: str) -> None:
    if name.endswith(".example"):
        pairs = env_example()
    else:
        services = load(name)["services"]
        pairs = {key: str(value) for service in services.values() for key, value in (service.get("environment") or {}).items()}
    for key, value in pairs.items():
        if SECRET_NAMES.search(key):
            assert value == "" or value.startswith("${"), f"{name}: {key} holds a value; it belongs in deploy/forja.env"
        # A URL's password comes from the environment, never from the file.
        assert not re.search(r"://[^/:@]+:(?!\$\{)[^@]+@", value), f"{name}: {key} has a password in its URL"


MONITORING = DEPLOY / "monitoring"
# The series each kind of metric family adds to its name (prometheus_client's text format).
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def exposed_series() -> set[str]:
    """Every forja_ series name /metrics writes (a family without samples yet still has its HELP and TYPE)."""
    text = exposition(Figures(previews=preview_counts([]), disk={"git": 1})).decode()
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        if family.name.startswith("forja_")
        for suffix in SUFFIXES[family.type]
    }


def test_the_monitoring_examples_name_only_series_forja_exposes() -> None:
    """The Grafana dashboard and the alert rules are loaded by nothing in Forja: this keeps them true to /metrics."""
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    scrape = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    named = {name for expr in expressions for name in re.findall(r"\bforja_[a-z_]+", expr)}

    assert len(named) >= 10
    assert named <= exposed_series(), sorted(named - exposed_series())
    (job,) = scrape["scrape_configs"]
    assert job["metrics_path"] in api.openapi()["paths"]
    assert job["authorization"]["type"] == "Bearer" and "credentials_file" in job["authorization"]
    assert scrape["rule_files"] == ["alerts.yml"]
