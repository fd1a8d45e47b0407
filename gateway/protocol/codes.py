"""Protocol constants: startup codes, message type bytes, transaction states, auth codes."""

from __future__ import annotations

PROTOCOL_3_0 = 196608  # 3 << 16
PROTOCOL_3_2 = 196610  # 3.2 introduced variable-length cancel keys (PostgreSQL 18)
NEWEST_MINOR = 2
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

# PostgreSQL's own bounds: a startup packet is small; a cancel key is at most 256 bytes.
MAX_STARTUP_LENGTH = 10_000
MAX_CANCEL_KEY = 256
# Largest ordinary message we accept from a client (PostgreSQL allows 1 GB - 1).
MAX_MESSAGE_LENGTH = 1 << 30

# Frontend message types (client -> server) by type byte.
BIND, CLOSE, COPY_DATA, COPY_DONE, COPY_FAIL = b"B", b"C", b"d", b"c", b"f"
DESCRIBE, EXECUTE, FLUSH, FUNCTION_CALL, PARSE = b"D", b"E", b"H", b"F", b"P"
PASSWORD, QUERY, SYNC, TERMINATE = b"p", b"Q", b"S", b"X"

# Backend message types (server -> client) by type byte.
AUTHENTICATION, BACKEND_KEY_DATA, BIND_COMPLETE, CLOSE_COMPLETE = b"R", b"K", b"2", b"3"
COMMAND_COMPLETE, COPY_IN_RESPONSE, COPY_OUT_RESPONSE, COPY_BOTH_RESPONSE = b"C", b"G", b"H", b"W"
DATA_ROW, EMPTY_QUERY_RESPONSE, ERROR_RESPONSE, NOTICE_RESPONSE = b"D", b"I", b"E", b"N"
NEGOTIATE_PROTOCOL_VERSION, NO_DATA, NOTIFICATION_RESPONSE = b"v", b"n", b"A"
PARAMETER_DESCRIPTION, PARAMETER_STATUS, PARSE_COMPLETE = b"t", b"S", b"1"
PORTAL_SUSPENDED, READY_FOR_QUERY, ROW_DESCRIPTION = b"s", b"Z", b"T"

# Message types whose body is empty by definition: any other length is a protocol error.
EMPTY_FRONTEND = frozenset(b"SHcX")

# ReadyForQuery transaction status.
IDLE, IN_TRANSACTION, IN_FAILED_TRANSACTION = b"I", b"T", b"E"

# Authentication request codes (first int32 of an 'R' message).
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL = 0, 3, 5, 10
AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 11, 12
