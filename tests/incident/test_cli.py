"""The `incident` runbook CLI on a real incident, and its one-line errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from incident_support import leak, principal_name

from incident.cli import main


async def run(capsys, config: str, *argv: str) -> tuple[int, str, str]:
    # In a thread: the CLI runs its own event loop, as it does from a shell.
    status = await asyncio.to_thread(main, ["--config", config, "--actor", "alice", *argv])
    out, err = capsys.readouterr()
    return status, out, err


async def test_runbook_on_a_real_incident(capsys, config, state_dsn, tmp_path):
    p = principal_name()
    await leak(state_dsn, tmp_path, p, ["31", "32", "33"], clear=["person_name"],
               masked=["mobile"])
    status, out, _ = await run(capsys, config, "intake")
    assert status == 0 and "opened: INC-" in out
    incident_id = out.split("opened: ")[1].split(";")[0]

    status, out, _ = await run(capsys, config, "--json", "list")
    assert incident_id in [row["id"] for row in json.loads(out)]
    assert (await run(capsys, config, "ack", incident_id))[0] == 0
    status, out, _ = await run(capsys, config, "show", incident_id)
    assert "DEADLINES" in out and "PIPL Art. 57" in out and "freeze-purpose" in out

    status, out, _ = await run(capsys, config, "approve", incident_id, "freeze-purpose")
    assert (status, out.strip()) == (0, f"{incident_id}: playbook finished")
    status, out, _ = await run(capsys, config, "--json", "affected", incident_id)
    assert json.loads(out)["subjects"] == 3

    assert (await run(capsys, config, "set", incident_id, "police", "已报案，回执 110-123"))[0] == 0
    status, _, _ = await run(capsys, config, "grade", incident_id, "较大", "--reason", "批量导出")
    assert status == 0
    status, out, _ = await run(capsys, config, "report", incident_id, "--format", "json")
    report = json.loads(out)
    assert status == 0 and report["police"].startswith("已报案") and "人工调整" in report["grade"]
    status, out, _ = await run(capsys, config, "report", incident_id)
    assert out.startswith("# 个人信息安全事件报告") and "涉及人数" in out

    status, out, _ = await run(capsys, config, "notify", incident_id, "customers")
    assert status == 0 and "done" in out
    assert (await run(capsys, config, "timeline", "add", incident_id, "法务已介入"))[0] == 0
    status, out, _ = await run(capsys, config, "timeline", incident_id)
    assert "法务已介入" in out and "contain.block_principal" in out

    status, out, _ = await run(capsys, config, "release", incident_id)
    assert "block-principal" in out and "freeze-purpose" in out
    status, _, err = await run(capsys, config, "close", incident_id, "--resolution", "已处置")
    assert status == 1 and err.count("\n") == 1 and "review task" in err
    status, _, _ = await run(capsys, config, "task", "add", incident_id, "复盘", "--review",
                             "--due", "+7d")
    assert status == 0
    assert (await run(capsys, config, "close", incident_id, "--resolution", "已处置"))[0] == 0
    status, _, err = await run(capsys, config, "ack", incident_id)
    assert status == 1 and err == f"incident: {incident_id} is closed\n"


async def test_unknown_incident_is_one_line(capsys, config):
    status, out, err = await run(capsys, config, "show", "INC-1999-9999")
    assert (status, out, err) == (1, "", "incident: no incident 'INC-1999-9999'\n")


def test_unreachable_state_database_is_one_line(tmp_path):
    (tmp_path / "gateway.yaml").write_text("upstream: postgresql://nobody@127.0.0.1:1/none\n")
    done = subprocess.run([sys.executable, "-m", "incident.cli", "--config",
                           str(tmp_path / "gateway.yaml"), "list"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("incident: state database unreachable")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
