"""The authority report (PIPL Art. 57, CAC measures, GB/T 35273 §10): every field, in Chinese."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from string import Template
from typing import Any

import asyncpg

from incident import grading, store
from incident.models import EventKind, Incident, TimelineEvent
from incident.report import templates
from incident.settings import Settings

PHASES = ("initial", "supplement", "final")
PHASE_NAMES = {"initial": "初次报告", "supplement": "补充报告", "final": "总结报告"}

# Field key -> Chinese label, in report order. Every one must be filled.
FIELDS: tuple[tuple[str, str], ...] = (
    ("phase", "报告阶段"),
    ("unit", "事发单位"),
    ("system", "涉事系统"),
    ("incident_id", "事件编号"),
    ("title", "事件名称"),
    ("discovered_at", "发现时间"),
    ("discovered_by", "发现方式"),
    ("aware_at", "确认时间"),
    ("reported_at", "报告时间"),
    ("first_exposure", "首次泄露时间"),
    ("last_exposure", "最后泄露时间"),
    ("category", "事件类别（GB/T 20986-2023）"),
    ("grade", "事件级别"),
    ("information_kinds", "涉及个人信息种类"),
    ("sensitive", "是否涉及敏感个人信息"),
    ("subjects", "涉及人数"),
    ("records", "涉及记录数"),
    ("unattributed", "无法归属到个人的记录"),
    ("cause", "原因（初步）"),
    ("harm", "可能造成的危害"),
    ("measures_taken", "已采取的补救措施"),
    ("measures_planned", "拟采取的措施"),
    ("advice", "个人可采取的减轻危害措施"),
    ("remedies", "向个人提供的补救"),
    ("individuals_notified", "个人告知情况"),
    ("police", "是否报案"),
    ("evidence", "证据保全"),
    ("support_requested", "需要的支持"),
    ("deadlines", "报告时限"),
    ("delay_reason", "迟延原因"),
    ("contacts", "联系人"),
)


@dataclass
class ReportData:
    """What the report is built from, read from the state database."""

    incident: Incident
    events: list[TimelineEvent]
    steps: list[dict[str, Any]]
    customer_notices: dict[str, int]
    alert_rules: list[str]


async def collect(conn: asyncpg.Connection, incident_id: str) -> ReportData:
    incident = await store.get(conn, incident_id)
    steps = [dict(r) for r in await conn.fetch(
        "SELECT step_id, type, status, finished_at, after FROM privacy_gateway.incident_steps"
        " WHERE incident_id = $1 ORDER BY position", incident_id)]
    notices = {r["status"]: r["n"] for r in await conn.fetch(
        "SELECT status, count(*) AS n FROM privacy_gateway.incident_notifications"
        " WHERE incident_id = $1 AND kind = 'customer' GROUP BY status", incident_id)}
    rules = [r["rule"] for r in await conn.fetch(
        "SELECT DISTINCT rule FROM privacy_gateway.incident_signals WHERE incident_id = $1",
        incident_id)]
    return ReportData(incident, await store.timeline(conn, incident_id), steps, notices, rules)


def build(data: ReportData, settings: Settings, phase: str, now: datetime) -> dict[str, Any]:
    """The report as a mapping of FIELDS keys (values are Chinese text, lists or numbers)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}")
    inc, facts = data.incident, data.incident.facts
    result = facts.get("assessment") or {}
    names = settings["class_names"]
    org, contacts = settings["organisation"], settings["contacts"]
    deadlines = grading.deadlines(inc, settings["clocks"], bool(org.get("ciio")))
    # "Immediately" (a zero limit) cannot be missed by a measurable delay; timed limits can.
    late = [d for d in deadlines if d.due_at and inc.aware_at and inc.aware_at < d.due_at < now]
    return {
        "phase": PHASE_NAMES[phase],
        "unit": org["name"],
        "system": org["system"],
        "incident_id": inc.id,
        "title": inc.title,
        "discovered_at": _time(inc.discovered_at),
        "discovered_by": inc.discovered_by or "隐私网关告警",
        "aware_at": _time(inc.aware_at) or "尚未确认",
        "reported_at": _time(now),
        "first_exposure": _time(result.get("first_exposure")) or "未发现泄露记录",
        "last_exposure": _time(result.get("last_exposure")) or "未发现泄露记录",
        "category": f"{inc.category} {settings['categories'].get(inc.category, '')}".strip(),
        "grade": inc.effective_grade + (f"（人工调整：{inc.grade_reason}）"
                                        if inc.grade_override else "（按涉及人数与敏感程度计算）"),
        "information_kinds": _kinds(result, names),
        "sensitive": "是" if result.get("sensitive") else "否",
        "subjects": int(result.get("subjects", 0)),
        "records": int(result.get("records", 0)),
        "unattributed": _unattributed(result),
        "cause": facts.get("cause") or Template(templates.CAUSE).safe_substitute(
            principal=inc.principal or "未知", purpose=inc.purpose or "未知",
            rules="、".join(data.alert_rules) or "人工申报"),
        "harm": facts.get("harm") or templates.HARM,
        "measures_taken": _measures(data.events),
        "measures_planned": facts.get("measures_planned") or list(templates.PLANNED),
        "advice": templates.ADVICE + (templates.ADVICE_SENSITIVE if result.get("sensitive")
                                      else ""),
        "remedies": facts.get("remedies") or templates.REMEDIES,
        "individuals_notified": _notified(data, facts),
        "police": facts.get("police") or "尚未报案",
        "evidence": _evidence(data.steps),
        "support_requested": facts.get("support_requested") or "暂无",
        "deadlines": [f"{d.to}：{_time(d.due_at) or '确认后起算'}（{d.basis}）" for d in deadlines],
        "delay_reason": facts.get("delay_reason") or ("未迟延" if not late else ""),
        "contacts": [f"个人信息处理者：{contacts['processor']['name']}"
                     f" {contacts['processor']['phone']} {contacts['processor']['email']}",
                     f"个人信息保护负责人：{contacts['pi_officer']['name']}"
                     f" {contacts['pi_officer']['phone']} {contacts['pi_officer']['email']}"],
    }


def missing(report: dict[str, Any]) -> list[str]:
    """Labels of mandatory fields left empty (a late report without a delay reason, ...)."""
    return [label for key, label in FIELDS if report.get(key) in (None, "", [])]


def _time(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _kinds(result: dict[str, Any], names: dict[str, str]) -> list[str]:
    sensitive = set(result.get("sensitive_classes", []))

    def label(cls: str, how: str) -> str:
        return f"{names.get(cls, cls)}（{how}{'，敏感' if cls in sensitive else ''}）"

    return ([label(c, "明文") for c in result.get("clear_classes", [])]
            + [label(c, "已脱敏") for c in result.get("masked_classes", [])])


def _measures(events: list[TimelineEvent]) -> list[str]:
    kinds = {EventKind.STEP, EventKind.RELEASE}
    return [f"{_time(e.ts)} {e.summary}" for e in events
            if e.kind in kinds and not e.summary.startswith("playbook ")]


def _notified(data: ReportData, facts: dict[str, Any]) -> str:
    sent, drafted = data.customer_notices.get("sent", 0), data.customer_notices.get("dry_run", 0)
    if sent:
        return f"已告知 {sent} 名个人"
    if facts.get("not_notified_reason"):
        return f"未告知个人，原因：{facts['not_notified_reason']}"
    return f"告知书已拟定 {drafted} 份，待发送" if drafted else "尚未告知，正在准备告知书"


def _evidence(steps: list[dict[str, Any]]) -> str:
    for step in steps:
        if step["type"] == "evidence.snapshot" and step["status"] == "done":
            after = json.loads(step["after"] or "{}")
            ids = "、".join(after.get("checkpoint_ids", [])) or "无"
            return (f"审计日志片段 {after.get('audit_records', 0)} 条已导出并校验，"
                    f"签名检查点：{ids}；清单 SHA-256 {after.get('manifest_sha256', '')}")
    return "审计日志保存在隐私网关状态库中（防篡改链），尚未导出证据包"


def _unattributed(result: dict[str, Any]) -> str:
    rows = int(result.get("unattributed_rows") or 0)
    if not rows:
        return "无"
    return (f"{rows} 条，来自 {result.get('unattributed_statements', 0)} 条无法按客户归属的语句"
            f"（{'、'.join(result.get('unattributed_tables') or [])}）；"
            f"涉及人数最多 {result.get('at_most', rows)} 名，级别按此计算")
