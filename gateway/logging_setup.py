"""Log output: one JSON object per line (or plain text), scrubbed of literals and personal data.

The gateway's code logs names, counts and error types only. The scrubbing here is the
safety net behind that habit: SQL string literals, e-mail addresses and long digit runs
(mobiles, ID and bank card numbers) are replaced before a line is written, fields named
like statement text or secrets are dropped, and exceptions show their type and frames,
never their message (database errors can quote row values).
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import logging
import re
import sys
import traceback
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}
# Extra fields whose values are never written, whatever they hold.
REDACTED_FIELDS = frozenset({"sql", "query", "statement", "params", "parameters", "value",
                             "values", "row", "password", "token", "secret"})
_SCRUB: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:[EeBbXxNn]|[Uu]&)?'(?:[^']|'')*'"), "'?'"),        # SQL string literals
    (re.compile(r"\$([A-Za-z_]\w*)?\$.*?\$\1\$", re.S), "$?$"),          # dollar quoting
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    # 7+ digits, optionally in groups of a space: mobiles, ID and card numbers. ASCII
    # boundaries, so digits right after Chinese text are caught too.
    (re.compile(r"(?<![A-Za-z0-9_.])\d(?: ?\d){6,}[Xx]?(?![A-Za-z0-9_])"), "<number>"),
)
_HANDLER_MARK = "_privacy_gateway_handler"


def scrub(text: str) -> str:
    """`text` with SQL literals, e-mail addresses and long numbers replaced."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def _field(key: str, value: Any) -> Any:
    if key.lower() in REDACTED_FIELDS:
        return "[redacted]"
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(value if isinstance(value, str) else str(value))


def _frames(exc_info: Any) -> list[str]:
    # File, line and function only: the message of an exception may quote data.
    tb = exc_info[2] if exc_info else None
    return [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb)]


class JsonFormatter(logging.Formatter):
    """timestamp, level, logger, message, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": scrub(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line and not key.startswith("_"):
                line[key] = _field(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["trace"] = _frames(record.exc_info)
        return jsonlib.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, scrubbed the same way."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return scrub(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return f"{ei[0].__name__}\n  " + "\n  ".join(_frames(ei))


def configure(json: bool = True, level: str = "info", stream: TextIO | None = None) -> None:
    """Send all logs to `stream` (stderr) as JSON lines or plain text at `level`.

    Calling it again replaces the handler it installed before.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level: unknown level {level!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.captureWarnings(True)
    # One line per HTTP request to /metrics would drown everything else.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
