"""The systemd unit: valid for systemd itself, and hardened (exposure score)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.deploy.support import DEPLOY, run, tool

UNIT = DEPLOY / "systemd" / "privacy-gateway.service"
INSTALLED_PATH = "/opt/privacy-gateway/bin/privacy-gateway"


def _local_copy(folder: Path) -> Path:
    # verify checks that ExecStart exists: point it at this checkout's installed command.
    command = shutil.which("privacy-gateway") or str(Path(__file__).parents[2] / ".venv" / "bin"
                                                     / "privacy-gateway")
    unit = folder / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_PATH, command))
    return unit


def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    result = run(analyze, "verify", str(_local_copy(tmp_path)))
    # Unknown keys or bad values are warnings with exit 0: any output is a failure.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_unit_is_hardened(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    # Exposure 0 (locked down) .. 10 (unsafe); --threshold is in tenths.
    result = run(analyze, "security", "--offline=true", "--threshold=20", "--no-pager",
                 str(_local_copy(tmp_path)))
    assert result.returncode == 0, result.stdout[-2000:]


def test_unit_runs_as_its_own_user_and_reloads_with_sighup() -> None:
    lines = {line.split("=", 1)[0]: line.split("=", 1)[1]
             for line in UNIT.read_text().splitlines() if "=" in line and not line.startswith("#")}
    assert lines["User"] == "privacy-gateway" and lines["NoNewPrivileges"] == "yes"
    assert lines["ProtectSystem"] == "strict" and "-HUP" in lines["ExecReload"]
    sysusers = (DEPLOY / "systemd" / "privacy-gateway.sysusers.conf").read_text()
    assert "u privacy-gateway " in sysusers
