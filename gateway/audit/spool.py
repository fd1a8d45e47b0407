"""Local append-only spool: audit and ledger rows kept on disk while the state DB is down.

One JSON document per line, fsynced before the writer reports the rows durable. The
first line names the spool with a random id so that a replay committed just before a
crash is recognised and not applied twice. A torn last line (a crash mid-write) was
never reported durable and is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.audit.record import micros

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AUDIT, EXPOSURE = "a", "e"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": micros(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": bytes(value).hex()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "t" in value:
            return _EPOCH + timedelta(microseconds=value["t"])
        if "b" in value:
            return bytes.fromhex(value["b"])
    return value


class SpoolBusy(Exception):
    """Another gateway process already writes this spool (message names the path)."""


class Spool:
    """The spool file of one gateway process (path from config audit_spool)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock: int | None = None

    def lock(self) -> None:
        """Take the spool for this process; two writers on one file would interleave chains."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpoolBusy(f"audit_spool {self.path}: in use by another gateway") from None
        self._lock = fd

    def unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def pending(self) -> bool:
        return self.size() > 0

    def append(self, items: list[tuple[str, tuple]]) -> None:
        """Append rows and fsync; returns only once they are on disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [] if self.pending() else [json.dumps({"spool": uuid.uuid4().hex})]
        lines += [json.dumps({kind: [_encode(v) for v in row]}, ensure_ascii=False)
                  for kind, row in items]
        with open(self.path, "a", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
            file.flush()
            os.fsync(file.fileno())

    def spool_id(self) -> str | None:
        for kind, row in self.read():
            return row[0] if kind == "spool" else None
        return None

    def read(self) -> Iterator[tuple[str, tuple]]:
        """('spool', (id,)) first, then (kind, row) in the order written."""
        if not self.pending():
            return
        with open(self.path, encoding="utf-8") as file:
            for line in file:
                if not line.endswith("\n"):
                    return  # torn write: never acknowledged
                doc = json.loads(line)
                if "spool" in doc:
                    yield "spool", (doc["spool"],)
                    continue
                (kind, values), = doc.items()
                yield kind, tuple(_decode(v) for v in values)

    def last_seq(self, replica: str) -> int | None:
        """Highest audit seq of `replica` waiting in the spool (to continue after it)."""
        seqs = [row[1] for kind, row in self.read() if kind == AUDIT and row[0] == replica]
        return max(seqs) if seqs else None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
