"""A load process for crash tests: writes audit records and reports completed ones.

Run as a script: DSN REPLICA SPOOL MODE. Prints "seq monotonic-time" once a record
counts as completed: after `durable()` in strict mode, after `submit()` in buffered mode
(what a client would have seen). Runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg

from gateway.audit.keys import AuditKeys
from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.writer import STRICT, AuditWriter

SECRET = "crash test audit secret, test only"


async def session(writer: AuditWriter, n: int) -> None:
    while True:
        seq = writer.submit(AuditRecord(session_id=f"s{n}", principal="crm_app", rows=1))
        if writer.mode == STRICT:
            await writer.durable(seq)
        else:
            await asyncio.sleep(0.001)
        sys.stdout.write(f"{seq} {time.monotonic()}\n")
        sys.stdout.flush()


async def main(dsn: str, replica: str, spool: str, mode: str) -> None:
    writer = AuditWriter(AuditKeys.derive(SECRET), replica, lambda: asyncpg.connect(dsn),
                         Spool(spool), mode=mode)
    await writer.start()
    await asyncio.gather(*(session(writer, n) for n in range(8)))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
