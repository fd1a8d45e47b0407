"""Notices to individuals and messages to staff, rendered from the templates."""

from __future__ import annotations

from datetime import datetime
from string import Template
from typing import Any

from incident import grading
from incident.delivery import Message
from incident.models import Incident
from incident.report import templates
from incident.settings import Settings


def customer_notice(incident: Incident, contact: dict[str, Any],
                    classes: dict[str, list[str]], settings: Settings, measures: list[str],
                    short: bool = False) -> Message:
    """The notice for one customer, naming that customer's own kinds of information;
    `short` for SMS."""
    result = incident.facts.get("assessment") or {}
    fields = {
        "name": contact.get("name") or "客户",
        "org": settings["organisation"]["name"],
        "when": _day(result.get("first_exposure")) or _day(incident.discovered_at),
        "kinds": _kinds(classes, settings["class_names"], short),
        "measures": "\n".join(f"- {m}" for m in measures) or "- 已暂停相关账号的访问权限",
        "advice": templates.ADVICE + (templates.ADVICE_SENSITIVE if result.get("sensitive")
                                      else ""),
        "remedies": incident.facts.get("remedies") or templates.REMEDIES,
        "hotline": settings["contacts"]["hotline"],
        "email": settings["contacts"]["pi_officer"]["email"],
        "date": datetime.now().strftime("%Y年%m月%d日"),
    }
    body = Template(templates.CUSTOMER_SMS if short else templates.CUSTOMER_NOTICE)
    return Message(subject=Template(templates.NOTICE_SUBJECT).substitute(fields),
                   body=body.substitute(fields))


def staff_message(incident: Incident, settings: Settings) -> Message:
    """Counts, deadlines and a link; never a customer's data."""
    result = incident.facts.get("assessment") or {}
    deadlines = grading.deadlines(incident, settings["clocks"],
                                  bool(settings["organisation"].get("ciio")))
    lines = [f"时限 {d.basis}: {d.due_at:%Y-%m-%d %H:%M %Z}" for d in deadlines if d.due_at]
    fields = {"grade": incident.effective_grade, "id": incident.id, "title": incident.title,
              "status": incident.status, "severity": incident.severity,
              "subjects": result.get("subjects", "待评估"),
              "subjects_clear": result.get("subjects_clear", "待评估"),
              "records": result.get("records", "待评估"),
              "sensitive": "是" if result.get("sensitive") else "否",
              "deadlines": "\n".join(lines) or "时限：事件确认（ack）后起算",
              "link": settings.link(incident.id)}
    body = Template(templates.STAFF_MESSAGE).substitute(fields)
    return Message(subject=f"[{incident.effective_grade}] {incident.id} {incident.title}",
                   body=body, data={k: v for k, v in fields.items() if k != "deadlines"})


def _kinds(classes: dict[str, list[str]], names: dict[str, str], short: bool) -> str:
    clear = [names.get(c, c) for c in classes.get("clear", [])]
    masked = [names.get(c, c) for c in classes.get("masked", [])]
    if short or not masked:
        return "、".join(clear + masked) or "部分个人信息"
    partly = "、".join(masked) + "（部分遮盖显示）"
    return "、".join(clear + [partly]) if clear else partly


def _day(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone().strftime("%Y年%m月%d日")
