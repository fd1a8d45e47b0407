"""Grading through the intake, overrides with reasons, deadlines, merge, late reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from incident_support import leak, principal_name

from incident import intake, service, store
from incident.report import regulator


async def test_exposure_graded_较大_opens_an_incident_with_the_cac_clock(conn, settings,
                                                                         state_dsn, tmp_path):
    settings.values["grading"]["all"] = {"较大": 5, "重大": 1000, "特别重大": 10000}
    p = principal_name()
    await leak(state_dsn, tmp_path, p, [str(i) for i in range(1, 8)], clear=["mobile"],
               masked=[], rule="subjects_per_hour", severity="warning")
    result = await intake.ingest(conn, settings)
    (incident_id,) = result.opened
    inc = await store.get(conn, incident_id)
    assert inc.effective_grade == "较大" and inc.playbook == "mass-exposure"
    assert result.runs[incident_id] == "waiting"  # revoke-role needs approval

    inc = await service.acknowledge(conn, settings, incident_id, "alice")
    tasks = {t.kind: t for t in await store.tasks(conn, incident_id)}
    assert tasks["deadline:cac_report"].due_at == inc.aware_at + timedelta(hours=4)
    assert "deadline:gdpr_authority" not in tasks
    await service.acknowledge(conn, settings, incident_id, "alice", eu_subjects=True)
    tasks = {t.kind: t for t in await store.tasks(conn, incident_id)}
    assert tasks["deadline:gdpr_authority"].due_at == inc.aware_at + timedelta(hours=72)


async def test_override_needs_a_reason_and_can_be_cleared(conn, settings):
    inc = await service.declare(conn, settings, title="override", actor="t")
    with pytest.raises(store.IncidentError, match="reason"):
        await service.set_grade(conn, settings, inc.id, "重大", "t")
    with pytest.raises(store.IncidentError, match="unknown grade"):
        await service.set_grade(conn, settings, inc.id, "huge", "t", "why")
    inc = await service.set_grade(conn, settings, inc.id, "重大", "t", "媒体已报道")
    assert (inc.effective_grade, inc.grade, inc.grade_reason) == ("重大", "一般", "媒体已报道")
    inc = await service.set_grade(conn, settings, inc.id, None, "t")
    assert inc.effective_grade == "一般"
    events = [e.summary for e in await store.timeline(conn, inc.id) if e.kind == "grade"]
    assert events == ["grade overridden: 一般 -> 重大", "grade override cleared: 重大 -> 一般"]


async def test_merge_moves_alerts_and_closes_the_source(conn, settings, state_dsn, tmp_path):
    opened = []
    for _ in range(2):
        await leak(state_dsn, tmp_path, principal_name(), ["7"], clear=[], masked=["mobile"])
        opened += (await intake.ingest(conn, settings, playbooks={})).opened
    source, target = opened
    await service.merge(conn, source, target, "alice")
    assert len(await store.linked_alerts(conn, target)) == 2
    merged = await store.get(conn, source)
    assert (merged.status, merged.merged_into) == ("closed", target)
    with pytest.raises(store.IncidentError, match="closed"):
        await service.merge(conn, source, target, "alice")


async def test_a_late_report_needs_a_delay_reason(conn, settings):
    inc = await service.declare(conn, settings, title="late", actor="t")
    now = await conn.fetchval("SELECT now()")
    await service.set_grade(conn, settings, inc.id, "较大", "t", "test")
    await service.acknowledge(conn, settings, inc.id, "t", aware_at=now - timedelta(hours=5))
    data = await regulator.collect(conn, inc.id)
    assert "迟延原因" in regulator.missing(regulator.build(data, settings, "initial", now))
    await store.merge_facts(conn, inc.id, {"delay_reason": "取证耗时"})
    data = await regulator.collect(conn, inc.id)
    assert "迟延原因" not in regulator.missing(regulator.build(data, settings, "final", now))
