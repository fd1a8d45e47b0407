"""pgjdbc works against the client target: queries, parameters, prepared statements, errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent / "jdbc" / "ClientCheck.java"
JAR = Path(os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar"))
INSTALL_HINT = "run scripts/install-clients.sh"


def _missing() -> str | None:
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"{tool} not found ({INSTALL_HINT})"
    if not JAR.is_file():
        return f"PostgreSQL JDBC driver {JAR} not found ({INSTALL_HINT}, or set PGJDBC_JAR)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture(scope="session")
def jdbc_command(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """ClientCheck compiled once per test session; the java command that runs it."""
    classes = tmp_path_factory.mktemp("jdbc-classes")
    subprocess.run(["javac", "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(classes),
                    str(SOURCE)], check=True, capture_output=True, timeout=120)
    return ["java", "-cp", f"{classes}{os.pathsep}{JAR}", "ClientCheck"]


def test_jdbc_client(jdbc_command, client_target, run_client, check_report) -> None:
    report = run_client(jdbc_command, client_target)
    check_report(report)
    assert report["server_prepared"] is True  # a named statement on the server, not inlined
    assert report["simple_protocol"] == {"one": 1, "word": "ok",
                                         "purpose": client_target.purpose, "rows": 20}
