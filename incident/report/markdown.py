"""Markdown rendering of the authority report."""

from __future__ import annotations

from typing import Any

from incident.report.regulator import FIELDS


def render(report: dict[str, Any]) -> str:
    """A Markdown document: one section per field, lists as bullet lists."""
    lines = [f"# 个人信息安全事件报告（{report['phase']}）", "",
             f"{report['unit']} · {report['incident_id']}", ""]
    for key, label in FIELDS:
        value = report.get(key)
        if isinstance(value, list):
            lines += [f"## {label}", ""] + [f"- {item}" for item in value] + [""]
        else:
            lines += [f"**{label}**：{value}", ""]
    return "\n".join(lines).rstrip() + "\n"
