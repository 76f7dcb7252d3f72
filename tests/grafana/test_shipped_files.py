"""Static checks of the shipped dashboard, alert rules, provisioning and collector configs."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.grafana.live import DASHBOARD, REPO, RULES, dashboard, panels, require_binary, rules

COLLECTOR = REPO / "collector-config"
PROVISIONING = REPO / "grafana" / "provisioning"
RULE_TESTS = sorted((REPO / "grafana" / "alerts" / "tests").glob("*.yaml"))
GRAFANA_BUILTINS = {"__all", "__rate_interval", "__range", "__interval", "__from", "__to", "__field"}


def _yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


# --- dashboard ------------------------------------------------------------------------------


def test_committed_dashboard_equals_the_generated_one() -> None:
    spec = importlib.util.spec_from_file_location("generate_dashboard", REPO / "grafana" / "dashboards" / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert DASHBOARD.read_text() == generator.render(), "run python grafana/dashboards/generate.py"


def test_dashboard_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in panels(dashboard())]
    assert len(ids) == len(set(ids))
    assert all(isinstance(panel_id, int) for panel_id in ids)


def _datasource_uids(board: dict[str, Any]) -> set[str]:
    text = json.dumps(board)
    uids = set(re.findall(r'"uid": "([^"]+)"', text))
    # Explore links carry their data source inside a URL-encoded pane.
    for panel in panels(board):
        for link in panel.get("links", []) + panel.get("fieldConfig", {}).get("defaults", {}).get("links", []):
            uids |= set(re.findall(r'"uid":"([^"]+)"', urllib.parse.unquote(link["url"])))
    return uids - {"genai-cost"}  # the dashboard's own uid


def test_every_datasource_uid_is_provisioned() -> None:
    board = dashboard()
    provisioned = {source["uid"] for source in _yaml(PROVISIONING / "datasources" / "datasources.yaml")["datasources"]}
    variables = {v["name"]: v for v in board["templating"]["list"]}
    resolved = set()
    for uid in _datasource_uids(board):
        match = re.fullmatch(r"\$\{(\w+)\}", uid)
        if match:
            variable = variables[match[1]]
            assert variable["type"] == "datasource"
            uid = variable["current"]["value"]
        resolved.add(uid)
    assert resolved <= provisioned
    assert {"genai-cost-prometheus", "genai-cost-tempo", "genai-cost-jaeger"} <= resolved


def test_every_template_variable_used_is_defined() -> None:
    board = dashboard()
    text = urllib.parse.unquote(json.dumps(board))
    used = set(re.findall(r"\$\{?(\w+)", text))
    defined = {v["name"] for v in board["templating"]["list"]}
    assert used - defined - GRAFANA_BUILTINS == set()
    assert {"service", "provider", "model"} <= used


def test_dashboard_provisioning_points_at_the_mounted_directory() -> None:
    provider = _yaml(PROVISIONING / "dashboards" / "dashboards.yaml")["providers"][0]
    mounts = _compose()["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts


# --- alert rules ----------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    result = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules() -> None:
    result = subprocess.run(
        [require_binary("promtool"), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in _yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check["exp_alerts"] else silent).add(check["alertname"])
    alerts = {rule["alert"] for group in rules()["groups"] for rule in group["rules"] if "alert" in rule}
    assert alerts == fired == silent


def test_every_threshold_is_a_documented_recording_rule() -> None:
    documentation = (REPO / "docs" / "dashboards.md").read_text()
    thresholds = [
        rule["record"]
        for group in rules()["groups"]
        for rule in group["rules"]
        if rule.get("record", "").startswith("genai_cost:threshold:")
    ]
    alert_exprs = " ".join(rule["expr"] for group in rules()["groups"] for rule in group["rules"] if "alert" in rule)
    assert len(thresholds) >= 5
    for name in thresholds:
        assert name in alert_exprs
        assert f"`{name}`" in documentation, f"document {name} in docs/dashboards.md"
    # No bare number compared against in an alert: thresholds live in the recording rules.
    assert not re.search(r"[<>]=?\s*[0-9]", alert_exprs)


# --- collector, compose, Prometheus scrape config -------------------------------------------


def _compose() -> dict[str, Any]:
    return _yaml(COLLECTOR / "docker-compose.yaml")


COLLECTOR_CONFIGS = [
    COLLECTOR / "otelcol.yaml",
    COLLECTOR / "two-tier" / "agent.yaml",
    COLLECTOR / "two-tier" / "gateway.yaml",
    COLLECTOR / "two-tier-rotel" / "agent.yaml",
]


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_every_pipeline_component_is_defined(path: Path) -> None:
    config = _yaml(path)
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"]
    assert service["pipelines"]
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{path.name}: {name} uses undefined {component}"
        processors = pipeline.get("processors", [])
        assert processors[0] == "memory_limiter" and processors[-1] == "batch"


def test_debug_exporter_is_defined_but_off() -> None:
    config = _yaml(COLLECTOR / "otelcol.yaml")
    assert "debug" in config["exporters"]
    assert all("debug" not in p["exporters"] for p in config["service"]["pipelines"].values())
    assert "prometheusremotewrite" in config["exporters"]


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _published(service: dict[str, Any]) -> set[int]:
    return {int(str(port).split(":")[-1]) for port in service.get("ports", [])}


def test_ports_agree_between_collector_compose_and_prometheus() -> None:
    config = _yaml(COLLECTOR / "otelcol.yaml")
    compose = _compose()["services"]
    protocols = config["receivers"]["otlp"]["protocols"]
    otlp_ports = {_port(protocols["grpc"]["endpoint"]), _port(protocols["http"]["endpoint"])}
    assert otlp_ports == {4317, 4318}
    assert otlp_ports <= _published(compose["otel-collector"])

    metrics_port = _port(config["exporters"]["prometheus"]["endpoint"])
    scrape = _yaml(COLLECTOR / "prometheus.yaml")["scrape_configs"]
    collector_job = next(job for job in scrape if job["job_name"] == "otel-collector")
    assert collector_job["honor_labels"] is True
    assert collector_job["static_configs"][0]["targets"] == [f"otel-collector:{metrics_port}"]
    assert metrics_port in _published(compose["otel-collector"])

    jaeger_host, jaeger_port = config["exporters"]["otlp/jaeger"]["endpoint"].split(":")
    assert jaeger_host in compose and int(jaeger_port) == 4317

    for source in _yaml(PROVISIONING / "datasources" / "datasources.yaml")["datasources"]:
        host_port = urllib.parse.urlsplit(source["url"])
        if host_port.hostname in compose:
            assert host_port.port in _published(compose[host_port.hostname]), source["name"]


def test_compose_mounts_exist_and_images_are_pinned() -> None:
    compose = _compose()["services"]
    assert {"otel-collector", "prometheus", "grafana", "jaeger"} <= set(compose)
    for name, service in compose.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin {image}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (COLLECTOR / source).resolve().exists(), f"{name}: {source} missing"
    rule_mount = next(v for v in compose["prometheus"]["volumes"] if "rules" in v)
    scrape_rules = _yaml(COLLECTOR / "prometheus.yaml")["rule_files"]
    assert rule_mount.split(":")[1] in scrape_rules


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {name: value for name, value in pairs}


def test_the_rotel_gateway_loads_the_processor_from_its_pythonpath_behind_agents_routing_by_trace() -> None:
    from genai_cost.gateway import ROTEL_PROCESSOR

    env = _env_file(COLLECTOR / "two-tier-rotel" / "gateway.env")
    inside_package = ROTEL_PROCESSOR.relative_to(ROTEL_PROCESSOR.parents[2]).as_posix()
    assert env["ROTEL_OTLP_WITH_TRACE_PROCESSOR"] == f"{env['PYTHONPATH']}/{inside_package}"
    agent = _yaml(COLLECTOR / "two-tier-rotel" / "agent.yaml")
    balancing = agent["exporters"]["loadbalancing/traces"]
    assert balancing["routing_key"] == "traceID"
    assert balancing["resolver"]["dns"]["port"] == _port(env["ROTEL_OTLP_GRPC_ENDPOINT"])
    assert env["ROTEL_OTLP_EXPORTER_PROTOCOL"] == "grpc"


def test_the_rotel_gateway_sets_only_variables_rotel_knows() -> None:
    rotel = pytest.importorskip("rotel")
    agent = Path(rotel.__file__).with_name("rotel-agent")
    usage = subprocess.run([str(agent), "start", "--help"], capture_output=True, text=True, check=True).stdout
    known = set(re.findall(r"env: (ROTEL_[A-Z0-9_]+)=", usage))
    env = _env_file(COLLECTOR / "two-tier-rotel" / "gateway.env")
    assert {name for name in env if name.startswith("ROTEL_")} <= known
