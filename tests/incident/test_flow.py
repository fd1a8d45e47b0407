"""End to end on the state database: leak -> alert -> incident -> playbook -> release -> close."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from incident_support import CANARIES, leak, principal_name, wait_for

from gateway import blocks
from incident import affected, engine, intake, service, store
from incident.loader import load_dir
from incident.report import regulator


async def test_canary_leak_runs_the_playbook_end_to_end(conn, settings, state_dsn, tmp_path,
                                                         mailbox, receiver):
    replica_conn = await asyncpg.connect(state_dsn)  # stands for a gateway replica
    replica = await blocks.load_blocks(replica_conn)
    await blocks.listen(replica_conn, replica.apply)
    p = principal_name()
    affected = [str(i) for i in range(1, 13)]
    await leak(state_dsn, tmp_path, p, affected + [CANARIES[0]], clear=["person_name"],
               masked=["mobile", "id_card"])

    result = await intake.ingest(conn, settings)
    (incident_id,) = result.opened
    assert result.runs[incident_id] == "waiting"  # at the approval step
    await wait_for(lambda: replica.is_blocked(p), timeout=1.0)

    inc = await store.get(conn, incident_id)
    facts = inc.facts["assessment"]
    assert (facts["subjects"], facts["canary_subjects"], facts["records"]) == (12, 1, 13)
    assert facts["clear_classes"] == ["person_name"] and facts["sensitive"]
    assert inc.effective_grade == "一般" and inc.category == "DSI-THEFT"

    steps = {s["step_id"]: s["status"] for s in await engine.steps(conn, incident_id)}
    assert steps["freeze-purpose"] == "waiting"
    assert all(v == "done" for k, v in steps.items() if k != "freeze-purpose")

    _check_evidence(Path(settings.workdir) / incident_id)
    report = regulator.build(await regulator.collect(conn, incident_id), settings, "initial",
                             await conn.fetchval("SELECT now()"))
    assert regulator.missing(report) == []
    assert report["subjects"] == 12 and "身份证号码（已脱敏，敏感）" in report["information_kinds"]

    notices = sorted(p.stem for p in (Path(settings.workdir) / incident_id / "notices").iterdir())
    assert sorted(notices, key=int) == affected  # exactly the affected, never the canary
    sms = (Path(settings.workdir) / incident_id / "notices" / "3.txt").read_text()
    assert "尊敬的客户3" in sms and "（姓名、身份证号码、手机号码）" in sms  # no e-mail: SMS
    mail = (Path(settings.workdir) / incident_id / "notices" / "4.txt").read_text()
    assert "尊敬的客户4" in mail and "姓名、身份证号码、手机号码（部分遮盖显示）" in mail

    _check_staff_messages(mailbox, receiver, incident_id)

    await engine.approve(conn, incident_id, "freeze-purpose", "alice")
    book = load_dir(settings.playbooks_dir)["canary-leak"]
    assert (await engine.resume(conn, settings, incident_id, book, "alice")).state == "finished"
    await wait_for(lambda: replica.is_frozen("customer_service"), timeout=1.0)

    released = await engine.release(conn, settings, incident_id, "alice")
    assert set(released) == {"block-principal", "freeze-purpose"}
    await wait_for(lambda: not replica.is_blocked(p) and not replica.is_frozen("customer_service"),
                   timeout=1.0)

    with pytest.raises(store.IncidentError, match="review task"):
        await service.close(conn, incident_id, "contained and notified", "alice")
    await store.add_task(conn, incident_id, "post-incident review", kind=service.REVIEW_TASK)
    closed = await service.close(conn, incident_id, "contained and notified", "alice")
    assert closed.status == "closed"
    kinds = [e.kind for e in await store.timeline(conn, incident_id)]
    assert kinds.count("step") >= 9 and "release" in kinds and "approval" in kinds
    await replica_conn.close()


async def test_single_threshold_hit_stays_a_case(conn, settings, state_dsn, tmp_path):
    p = principal_name()
    alert = await leak(state_dsn, tmp_path, p, ["1", "2"], clear=[], masked=["mobile"],
                       rule="subjects_per_hour", severity="warning")
    result = await intake.ingest(conn, settings)
    assert result.opened == []
    row = await conn.fetchrow("SELECT case_id, incident_id FROM privacy_gateway.incident_signals"
                              " WHERE alert_id = $1", alert)
    assert row["case_id"] is not None and row["incident_id"] is None


async def test_repeated_signals_escalate_and_link(conn, settings, state_dsn, tmp_path):
    p = principal_name()
    for _ in range(3):
        await leak(state_dsn, tmp_path, p, ["5"], clear=[], masked=["mobile"],
                   rule="subjects_per_hour", severity="warning")
    result = await intake.ingest(conn, settings, playbooks={})
    (incident_id,) = result.opened
    assert len(await store.linked_alerts(conn, incident_id)) == 3
    await leak(state_dsn, tmp_path, p, ["6"], clear=[], masked=["mobile"],
               rule="subjects_per_hour", severity="warning")
    assert (await intake.ingest(conn, settings, playbooks={})).opened == []
    assert len(await store.linked_alerts(conn, incident_id)) == 4


def _check_evidence(folder: Path) -> None:
    (bundle,) = (folder / "evidence").iterdir()
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == entry["sha256"]
    verification = json.loads((bundle / "verification.json").read_text())
    assert verification["ok"] and verification["with_key"] and verification["checkpoints"] >= 1
    digest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    assert (bundle / "manifest.sha256").read_text().startswith(digest)


def _check_staff_messages(mailbox, receiver, incident_id: str) -> None:
    assert len(mailbox.messages) == 1  # the security address; customers were a dry run
    paths = sorted(post["path"] for post in receiver.posts)
    assert paths == ["/alerts", "/chat"]
    everything = b"".join(m.content for m in mailbox.messages).decode("utf-8", "replace")
    everything += json.dumps([p["body"] for p in receiver.posts], ensure_ascii=False)
    assert incident_id in everything
    assert "1380000" not in everything and "客户3" not in everything  # no personal data


async def test_rows_without_known_customers_are_reported_and_graded(conn, settings, state_dsn,
                                                                    tmp_path):
    # A binary COPY export leaves the ledger with a row count and no customers: the assessment
    # says so, and the grade counts every such row as one more customer (the worst case).
    p = principal_name()
    await leak(state_dsn, tmp_path, p, ["21", "22", "23"], clear=[], masked=["mobile"],
               rule="subjects_per_hour", severity="warning", unattributed_rows=1_200_000)
    now = await conn.fetchval("SELECT now()")
    scope = affected.Scope(p, None, now - timedelta(hours=1), now)
    result = await affected.assess(conn, scope, set(CANARIES), set())
    assert (result.subjects, result.unattributed_rows, result.unattributed_statements) == (
        3, 1_200_000, 1)
    assert result.unattributed_tables == ["public.customers"]
    assert result.at_most == 1_200_003 and result.records == 3
    opened = await intake.ingest(conn, settings, playbooks={})
    (incident_id,) = opened.opened
    inc = await store.get(conn, incident_id)
    # a warning alone opens an incident only when its exposure grades high enough: it does,
    # with 1,000,000 customers or more at the most
    assert inc.effective_grade == "较大"
    facts = {**inc.facts, "assessment": result.to_dict()}
    await store.merge_facts(conn, incident_id, facts)
    report = regulator.build(await regulator.collect(conn, incident_id), settings, "initial",
                             now)
    assert "1200000 条" in report["unattributed"] and "最多 1200003 名" in report["unattributed"]
