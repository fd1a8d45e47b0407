"""Incident model: statuses, grades, timeline kinds and the records the store returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Incident status; the only moves are those in TRANSITIONS."""

    ACTIVE = "active"
    STABLE = "stable"
    CLOSED = "closed"


TRANSITIONS: dict[Status, set[Status]] = {
    Status.ACTIVE: {Status.STABLE, Status.CLOSED},
    Status.STABLE: {Status.ACTIVE, Status.CLOSED},
    Status.CLOSED: set(),
}

# Grades of the CAC grading guide, lowest first.
GRADES: tuple[str, ...] = ("一般", "较大", "重大", "特别重大")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
ALERT_SEVERITY = {"info": "low", "warning": "medium", "critical": "critical"}


def grade_rank(grade: str) -> int:
    """Position of a grade in GRADES; ValueError for an unknown grade."""
    try:
        return GRADES.index(grade)
    except ValueError:
        raise ValueError(f"unknown grade {grade!r} (one of {', '.join(GRADES)})") from None


class EventKind(StrEnum):
    """Typed timeline events."""

    CREATED = "created"
    SIGNAL = "signal"
    STATUS = "status"
    ACK = "ack"
    ASSIGN = "assign"
    GRADE = "grade"
    STEP = "step"
    STEP_SKIPPED = "step_skipped"
    STEP_FAILED = "step_failed"
    APPROVAL = "approval"
    RELEASE = "release"
    NOTIFICATION = "notification"
    TASK = "task"
    MERGE = "merge"
    NOTE = "note"
    DRILL = "drill"


@dataclass
class Incident:
    """One incident as stored; `facts` holds assessment results and report inputs."""

    id: str
    title: str
    status: str
    severity: str
    grade: str
    category: str
    discovered_at: datetime
    discovered_by: str | None = None
    aware_at: datetime | None = None
    commander: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    grade_override: str | None = None
    grade_reason: str | None = None
    eu_subjects: bool = False
    principal: str | None = None
    purpose: str | None = None
    playbook: str | None = None
    resolution: str | None = None
    merged_into: str | None = None
    drill: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    closed_at: datetime | None = None

    @property
    def effective_grade(self) -> str:
        return self.grade_override or self.grade


@dataclass
class TimelineEvent:
    """One line of the incident timeline."""

    ts: datetime
    kind: str
    actor: str | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Task:
    """A piece of work with an owner and a due time."""

    id: int
    incident_id: str
    title: str
    kind: str
    owner: str | None
    due_at: datetime | None
    done_at: datetime | None
