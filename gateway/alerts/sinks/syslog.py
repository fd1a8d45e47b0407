"""Syslog (RFC 5424) lines carrying CEF, over UDP or TCP, for SIEMs."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from gateway.alerts.model import Alert
from gateway.alerts.sinks.base import AlertSink, DeliveryError

_CEF_SEVERITY = {"info": 3, "warning": 6, "critical": 10}
_SYSLOG_SEVERITY = {"info": 6, "warning": 4, "critical": 2}
FACILITY_AUTHPRIV = 10


def _header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _extension(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r", " ").replace("\n", " ")


def cef_line(alert: Alert, host: str = "-") -> str:
    """One syslog message with a CEF payload (counts and names only)."""
    ext = {"rt": int(alert.ts.timestamp() * 1000), "suser": alert.principal or "",
           "cs1Label": "purpose", "cs1": alert.purpose or "",
           "cs2Label": "fingerprint", "cs2": alert.fingerprint,
           "cnt": alert.occurrences, "msg": alert.explanation}
    cef = "|".join(["CEF:0", "privacy-gateway", "privacy-gateway", "1",
                    _header(alert.rule), _header(alert.summary),
                    str(_CEF_SEVERITY[alert.severity])])
    cef += "|" + " ".join(f"{k}={_extension(v)}" for k, v in ext.items())
    pri = FACILITY_AUTHPRIV * 8 + _SYSLOG_SEVERITY[alert.severity]
    return f"<{pri}>1 {alert.ts.isoformat()} {host} privacy-gateway - - - {cef}"


class SyslogSink(AlertSink):
    """Sends each alert as one line; TCP uses newline framing."""

    name = "syslog"

    def __init__(self, host: str, port: int, protocol: str = "udp") -> None:
        if protocol not in ("udp", "tcp"):
            raise ValueError("syslog protocol must be udp or tcp")
        self.host, self.port, self.protocol = host, port, protocol
        self._hostname = socket.gethostname()

    async def send(self, alert: Alert) -> None:
        data = cef_line(alert, self._hostname).encode()
        try:
            if self.protocol == "tcp":
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(data + b"\n")
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.sendto(data, (self.host, self.port))
        except OSError as exc:
            raise DeliveryError(f"syslog: {type(exc).__name__}") from None


def make(options: dict[str, Any], secret: str | None) -> SyslogSink:
    host, _, port = str(options.get("address", "127.0.0.1:514")).rpartition(":")
    return SyslogSink(host or "127.0.0.1", int(port), options.get("protocol", "udp"))
