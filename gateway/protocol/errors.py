"""Protocol errors and the SQLSTATEs the gateway itself raises to clients."""

from __future__ import annotations


class ProtocolError(Exception):
    """Bytes that do not form valid PostgreSQL protocol; `by_peer` says who broke it."""

    def __init__(self, message: str, by_peer: bool = True) -> None:
        super().__init__(message)
        self.by_peer = by_peer


# SQLSTATEs used by the gateway (PostgreSQL's names), one place.
SQLSTATE = {
    "protocol_violation": "08P01",
    "connection_failure": "08006",
    "invalid_password": "28P01",
    "invalid_authorization_specification": "28000",
    "insufficient_privilege": "42501",
    "too_many_connections": "53300",
    "admin_shutdown": "57P01",
    "idle_session_timeout": "57P05",
    "program_limit_exceeded": "54000",
    "invalid_catalog_name": "3D000",
    "feature_not_supported": "0A000",
    "in_failed_sql_transaction": "25P02",
    "invalid_parameter_value": "22023",
    "query_canceled": "57014",
}


class GatewayError(Exception):
    """An error the gateway reports to the client as an ErrorResponse."""

    def __init__(self, sqlstate: str, message: str, severity: str = "ERROR",
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.severity = severity
        self.detail = detail

    @property
    def fatal(self) -> bool:
        return self.severity == "FATAL"


def fatal(name: str, message: str) -> GatewayError:
    """A FATAL error (the connection ends) by SQLSTATE name."""
    return GatewayError(SQLSTATE[name], message, "FATAL")


def error(name: str, message: str) -> GatewayError:
    """An ERROR (the statement fails, the session goes on) by SQLSTATE name."""
    return GatewayError(SQLSTATE[name], message, "ERROR")
