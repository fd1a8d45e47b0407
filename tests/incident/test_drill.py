"""`incident drill`: the canary playbook in a sandbox, timed and filed."""

from __future__ import annotations

import asyncio
import json

from incident.cli import main


async def test_drill_runs_the_playbook_and_files_the_record(capsys, config, conn):
    status = await asyncio.to_thread(main, ["--config", config, "--json", "drill",
                                            "--customers", "100", "--rows", "30"])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    result = json.loads(out)
    assert result["state"] == "finished" and result["ok"]
    assert result["subjects"] == 29  # the canary is not a customer
    # The target is 2 s; the bound leaves room for a machine busy with other test runs.
    assert 0 < result["leak_to_containment_ms"] <= 5000
    assert {s["step_id"] for s in result["steps"] if s["status"] == "done"} >= {
        "block-principal", "evidence", "affected", "regulator-report", "customer-notices"}
    row = await conn.fetchrow("SELECT * FROM privacy_gateway.incident_drills"
                              " WHERE incident_id = $1", result["incident_id"])
    assert row["ok"] and row["leak_to_containment_ms"] == result["leak_to_containment_ms"]
    filed = await conn.fetchrow("SELECT drill, status FROM privacy_gateway.incidents"
                                " WHERE id = $1", result["incident_id"])
    assert filed["drill"] and filed["status"] == "closed"
    assert not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1",
                                   result["sandbox"])
