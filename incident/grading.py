"""Grade from affected people and sensitivity, and the legal clocks that follow from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from incident.models import GRADES, Incident, grade_rank


def compute_grade(subjects: int, sensitive: bool, grading: dict[str, dict[str, int]]) -> str:
    """The highest grade whose threshold `subjects` reaches (一般 below every threshold)."""
    scale = grading["sensitive" if sensitive else "all"]
    grade = GRADES[0]
    for candidate in GRADES[1:]:
        if subjects >= int(scale[candidate]):
            grade = candidate
    return grade


@dataclass(frozen=True)
class Deadline:
    """One obligation with its limit; `due_at` is None until aware_at is set."""

    name: str
    to: str
    due_at: datetime | None
    basis: str


def deadlines(incident: Incident, clocks: dict[str, Any], ciio: bool = False) -> list[Deadline]:
    """Obligations that apply to the incident, due times counted from aware_at."""
    aware = incident.aware_at

    def due(hours: float) -> datetime | None:
        return aware + timedelta(hours=float(hours)) if aware else None

    result = [
        Deadline("pipl_authority", "履行个人信息保护职责的部门", due(clocks["pipl_notice"]),
                 "PIPL Art. 57 (立即)"),
        Deadline("pipl_individuals", "受影响的个人", due(clocks["pipl_notice"]),
                 "PIPL Art. 57 (立即)"),
    ]
    if grade_rank(incident.effective_grade) >= grade_rank(clocks["cac_min_grade"]):
        hours = clocks["cac_report_ciio"] if ciio else clocks["cac_report"]
        result.append(Deadline("cac_report", "省级网信部门", due(hours),
                               f"网络安全事件报告管理办法 ({hours} h)"))
    if incident.eu_subjects:
        result.append(Deadline("gdpr_authority", "EU supervisory authority", due(clocks["gdpr"]),
                               "GDPR Art. 33 (72 h)"))
    return result
