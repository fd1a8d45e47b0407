"""The Grafana dashboard: valid JSON, sane layout, every query names a real metric."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml

from tests.deploy.support import DEPLOY, SERIES, metric_names, run, tool

DASHBOARD = DEPLOY / "grafana" / "privacy-gateway.json"
# Grafana's variables, replaced by plain values so promtool can parse the queries.
_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$instance": ".*"}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _exprs() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in _panels(_dashboard()["panels"])
            for target in panel.get("targets", [])]


def test_layout_ids_and_datasource() -> None:
    board = _dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    panels = list(_panels(board["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"]
    names = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "instance"} <= names


def test_every_query_names_an_exported_metric_and_all_are_shown() -> None:
    shown: set[str] = set()
    for title, expr in _exprs():
        names = metric_names(expr)
        assert names, f"{title}: no gateway metric in {expr}"
        assert names <= set(SERIES), (title, names - set(SERIES))
        shown |= {SERIES[n] for n in names}
    assert shown == set(SERIES.values()), set(SERIES.values()) - shown


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = tool("promtool")
    rules = []
    for i, (_, expr) in enumerate(_exprs()):
        for variable, value in _VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    file = tmp_path / "dashboard-queries.yml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(promtool, "check", "rules", str(file))
    assert result.returncode == 0, result.stdout + result.stderr
