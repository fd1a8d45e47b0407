"""Playbook engine: order, approvals, skips, failures that stop and resume, exact release."""

from __future__ import annotations

import pytest
from incident_support import principal_name

from gateway import blocks
from incident import engine, service, store
from incident.loader import parse


def _book(steps: list[dict], name: str = "t") -> object:
    return parse({"name": name, "steps": steps, "triggers": [{"rule": "x"}]})


async def _incident(conn, settings, **kw):
    return await service.declare(conn, settings, title="engine test", actor="t", **kw)


async def test_approval_waits_and_skips_are_recorded(conn, settings):
    p = principal_name()
    inc = await _incident(conn, settings, principal=p)
    book = _book([
        {"id": "gdpr-only", "type": "notify.internal", "when": {"eu_subjects": True}},
        {"id": "block", "type": "contain.block_principal", "approval": "required"},
        {"id": "no-purpose", "type": "contain.freeze_purpose"},
    ])
    result = await engine.start(conn, settings, inc.id, book, "t")
    assert (result.state, result.step_id) == ("waiting", "block")
    assert not (await blocks.load_blocks(conn)).is_blocked(p)
    assert (await engine.resume(conn, settings, inc.id, book, "t")).state == "waiting"

    await engine.approve(conn, inc.id, "block", "boss")
    assert (await engine.resume(conn, settings, inc.id, book, "t")).state == "finished"
    assert (await blocks.load_blocks(conn)).is_blocked(p)
    status = {s["step_id"]: s["status"] for s in await engine.steps(conn, inc.id)}
    assert status == {"gdpr-only": "skipped", "block": "done", "no-purpose": "skipped"}
    summaries = [e.summary for e in await store.timeline(conn, inc.id)]
    assert any("gdpr-only" in s and "skipped" in s for s in summaries)
    assert any("no-purpose" in s and "no purpose" in s for s in summaries)
    waits = [s for s in summaries if "waits for approval" in s]
    assert len(waits) == 1  # waiting is recorded once, not on every resume

    # Running again changes nothing; release removes only what this incident added.
    assert (await engine.resume(conn, settings, inc.id, book, "t")).state == "finished"
    assert await engine.release(conn, settings, inc.id, "t") == ["block"]
    assert not (await blocks.load_blocks(conn)).is_blocked(p)
    assert await engine.release(conn, settings, inc.id, "t") == []


async def test_release_keeps_a_block_that_predates_the_incident(conn, settings):
    p = principal_name()
    await blocks.block_principal(conn, p, "earlier incident")
    inc = await _incident(conn, settings, principal=p)
    await engine.start(conn, settings, inc.id, _book([{"type": "contain.block_principal"}]), "t")
    await engine.release(conn, settings, inc.id, "t")
    assert (await blocks.load_blocks(conn)).is_blocked(p)
    await blocks.unblock_principal(conn, p)


async def test_failed_step_stops_the_run_and_resume_retries_it(conn, settings):
    inc = await _incident(conn, settings)
    book = _book([{"id": "report", "type": "notify.customers"},
                  {"id": "after", "type": "notify.internal"}])
    result = await engine.start(conn, settings, inc.id, book, "t")
    assert (result.state, result.step_id) == ("failed", "report")
    rows = {s["step_id"]: s for s in await engine.steps(conn, inc.id)}
    assert "not assessed" in rows["report"]["error"] and rows["after"]["status"] == "pending"
    await engine.approve(conn, inc.id, "after", "t")  # approving a pending step is allowed
    with pytest.raises(store.IncidentError, match="already runs playbook"):
        await engine.start(conn, settings, inc.id, _book([], name="other"), "t")


async def test_unknown_step_and_incident_are_clear_errors(conn, settings):
    with pytest.raises(store.IncidentError, match="no incident"):
        await engine.approve(conn, "INC-0000-0000", "x", "t")
    inc = await _incident(conn, settings)
    with pytest.raises(store.IncidentError, match="no step"):
        await engine.approve(conn, inc.id, "nope", "t")
