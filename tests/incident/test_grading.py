"""Grades from affected people and sensitivity; the legal clocks that follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident import settings as incident_settings
from incident.grading import compute_grade, deadlines
from incident.models import Incident

SETTINGS = incident_settings.load()
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("subjects", "sensitive", "grade"), [
    (0, False, "一般"), (999_999, False, "一般"), (1_000_000, False, "较大"),
    (10_000_000, False, "重大"), (100_000_000, False, "特别重大"),
    (99_999, True, "一般"), (100_000, True, "较大"), (1_000_000, True, "重大"),
])
def test_grade(subjects, sensitive, grade):
    assert compute_grade(subjects, sensitive, SETTINGS["grading"]) == grade


def _incident(grade: str = "一般", aware: datetime | None = NOW, eu: bool = False) -> Incident:
    return Incident(id="INC-1", title="t", status="active", severity="high", grade=grade,
                    category="DSI-LEAK", discovered_at=NOW, aware_at=aware, eu_subjects=eu)


def test_pipl_always_cac_from_较大_gdpr_when_flagged():
    clocks = SETTINGS["clocks"]
    names = [d.name for d in deadlines(_incident(), clocks)]
    assert names == ["pipl_authority", "pipl_individuals"]
    found = {d.name: d.due_at for d in deadlines(_incident("较大", eu=True), clocks)}
    assert found["pipl_authority"] == NOW
    assert found["cac_report"] == NOW + timedelta(hours=4)
    assert found["gdpr_authority"] == NOW + timedelta(hours=72)
    ciio = {d.name: d.due_at for d in deadlines(_incident("重大"), clocks, ciio=True)}
    assert ciio["cac_report"] == NOW + timedelta(hours=1)


def test_override_counts_and_clocks_wait_for_aware_at():
    inc = _incident("一般", aware=None)
    inc.grade_override = "较大"
    assert [d.due_at for d in deadlines(inc, SETTINGS["clocks"])] == [None, None, None]
