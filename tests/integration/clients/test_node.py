"""node-postgres works against the client target: queries, parameters, prepared statements."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FOLDER = Path(__file__).parent / "node"
INSTALL_HINT = "run scripts/install-clients.sh"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return f"node not found ({INSTALL_HINT} after installing Node.js)"
    if not (FOLDER / "node_modules" / "pg" / "package.json").is_file():
        return f"node-postgres (npm pg) not installed in {FOLDER.name}/ ({INSTALL_HINT})"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def test_node_client(client_target, run_client, check_report) -> None:
    report = run_client(["node", str(FOLDER / "client.js")], client_target)
    check_report(report)
    assert report["multi_statement"] == [1, 2]  # several statements in one simple Query
