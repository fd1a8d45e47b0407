"""The HAProxy example: haproxy -c accepts it; health checks ask each replica's /readyz."""

from __future__ import annotations

from tests.deploy.support import DEPLOY, run, tool

CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"


def test_haproxy_accepts_the_configuration() -> None:
    result = run(tool("haproxy"), "-c", "-f", str(CONFIG))
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "WARNING" not in output and "ALERT" not in output, output


def test_backend_checks_readyz_on_the_admin_port_and_keeps_sessions() -> None:
    text = CONFIG.read_text()
    assert "mode tcp" in text and "uri /readyz" in text and "check port 9187" in text
    # Sessions on a replica marked down must drain, not be cut.
    assert "on-marked-down shutdown-sessions" not in text
    assert sum(line.strip().startswith("server ") for line in text.splitlines()) >= 2
