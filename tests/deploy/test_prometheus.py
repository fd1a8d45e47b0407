"""Alert rules: promtool checks and unit-tests them; every metric they read exists."""

from __future__ import annotations

import re

import yaml

from tests.deploy.support import DEPLOY, SERIES, metric_labels, metric_names, run, tool

FOLDER = DEPLOY / "prometheus"
RULES = FOLDER / "privacy-gateway.rules.yml"
# What the issue asks the rules to cover, by the metric that signals it.
REQUIRED = {"pgw_alerts_total", "pgw_canary_hits_total", "pgw_rewrite_misses_total",
            "pgw_audit_spool_bytes", "pgw_upstream_errors_total", "pgw_auth_failures_total"}


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def test_promtool_checks_the_rules() -> None:
    result = run(tool("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run(tool("promtool"), "test", "rules", "privacy-gateway.rules.test.yml", cwd=FOLDER)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_read_only_metrics_the_gateway_exports() -> None:
    used: set[str] = set()
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names <= set(SERIES), (rule["alert"], names - set(SERIES))
        for name in names:
            # Labels matched or grouped by must be labels of the metric (or instance/job).
            for label in re.findall(r"(\w+)\s*(?:=~|!=|=)", rule["expr"]):
                assert label in (*metric_labels(name), "instance", "job", "le"), label
        used |= names
    assert used >= REQUIRED, REQUIRED - used


def test_every_alert_has_severity_and_text() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
