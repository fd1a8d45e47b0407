"""The background audit writer: queue, MAC chain, group commit, spool and replay.

The session calls `submit(record)`, or `submit_entry(entry)` on its per-statement path
(synchronous, O(1): no database wait, no encoding), and, in strict mode, `await
durable(seq)` before it lets the statement's completion reach the client. One asyncio
task drains the queue, seals records into the chain and inserts each batch in one
transaction (binary COPY). When the state database is unreachable, batches are appended to
the local spool (fsynced) and replayed in order when it returns; nothing is dropped.

Durability modes:
- strict: the writer wakes on every submit; a statement waits for the commit (or spool
  fsync) of the batch holding its record. Concurrent statements share one commit.
- buffered (default): the writer flushes every `flush_interval` seconds or at
  `batch_max` items. A crash loses at most the records submitted in the last
  flush interval plus one commit's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

from gateway.audit import chain as chain_mod
from gateway.audit import store
from gateway.audit.binary import AuditCopy, ExposureCopy, text_array
from gateway.audit.keys import AuditKeys
from gateway.audit.record import AuditRecord, Entry, entry, legible
from gateway.audit.spool import Spool
from gateway.metrics import metric
from gateway.state.partitions import Partitions

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]
STRICT, BUFFERED = "strict", "buffered"



# A ledger row's subject keys wait for the next flush already encoded as the COPY field
# (binary text[], about ten bytes a key), never as str objects: a long masked read hands
# over 10,000 keys at a time, and when the writer falls behind the stream (its commits
# share the event loop with it) dozens of batches wait. Kept as JSON text and decoded
# when sealed, half a million keys became str objects at once (about 30 MB).
_SUBJECTS = store.EXPOSURE_COLUMNS.index("subjects")


class AuditWriterStopped(Exception):
    """The writer is not running, so a record cannot be made durable (fail closed)."""


def first_seq(spool_last: int | None) -> int:
    """Seq of a new chain: above anything this replica wrote before, without asking the DB.

    Milliseconds shifted by 20 bits leave room for over a million records per
    millisecond of uptime before the next start could collide.
    """
    base = int(time.time() * 1000) << 20
    return max(base, (spool_last or 0) + 1)


class AuditWriter:
    """Owns one replica's audit chain and the batching path for ledger rows."""

    def __init__(self, keys: AuditKeys, replica: str, connect: Connect, spool: Spool,
                 mode: str = BUFFERED, flush_interval: float = 0.2, batch_max: int = 5000,
                 checkpoint_every: int = 1000, checkpoint_seconds: float = 60.0,
                 retry_seconds: float = 1.0) -> None:
        if mode not in (STRICT, BUFFERED):
            raise ValueError(f"audit_durability: unknown mode {mode!r}")
        self.keys, self.replica, self.mode = keys, replica, mode
        self._connect, self.spool = connect, spool
        self.flush_interval, self.batch_max = flush_interval, batch_max
        self.checkpoint_every, self.checkpoint_seconds = checkpoint_every, checkpoint_seconds
        self.retry_seconds = retry_seconds
        # (seq, entry); None stands for a checkpoint, built when sealed
        self._records: deque[tuple[int, Entry | None]] = deque()
        self._checkpoint_seq = 0
        self._exposure: deque[tuple] = deque()
        self._chain: chain_mod.Chain | None = None
        self._next_seq = 0
        self.durable_seq = 0
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._next_try = 0.0
        self._last_checkpoint = time.monotonic()
        self._partitions = Partitions()
        # keep encoded parts that repeat between batches
        self._copy, self._exposure_copy = AuditCopy(), ExposureCopy()
        self._task: asyncio.Task | None = None
        self._closing = False

    # -- session-facing API ------------------------------------------------------------

    def submit(self, record: AuditRecord) -> int:
        """Queue a record; return its seq. Never waits."""
        return self.submit_entry(entry(record))

    def submit_entry(self, item: Entry) -> int:
        """Queue a record in its entry form (record.Entry); return its seq. Never waits.

        The session's path: sealing and encoding happen in the writer, in batches."""
        seq = self._next_seq
        self._next_seq = seq + 1
        records = self._records
        records.append((seq, item))
        if seq - self._checkpoint_seq >= self.checkpoint_every:
            self._checkpoint_seq = self._enqueue(None)  # sealed as a checkpoint
        if self.mode == STRICT or len(records) >= self.batch_max:
            self._wake.set()
        return seq

    def _enqueue(self, item: Entry | None) -> int:
        seq = self._next_seq
        self._next_seq += 1
        self._records.append((seq, item))
        return seq

    def add_exposure(self, row: tuple) -> None:
        """Queue one exposure ledger row (store.EXPOSURE_COLUMNS order)."""
        subjects = text_array(row[_SUBJECTS])
        self._exposure.append((*row[:_SUBJECTS], subjects, *row[_SUBJECTS + 1:]))

    async def settled(self) -> None:
        """Return once everything submitted so far (records and ledger rows) is durable."""
        if self._next_seq > 0:
            await self.durable(self._next_seq - 1)

    async def durable(self, seq: int) -> None:
        """Return once record `seq` is committed to the state DB or fsynced to the spool."""
        if seq <= self.durable_seq:
            return
        if self._task is None or self._task.done():
            raise AuditWriterStopped("audit writer is not running; the record is not durable")
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        self._wake.set()
        await future

    @property
    def queue_depth(self) -> int:
        return len(self._records) + len(self._exposure)

    @property
    def degraded(self) -> bool:
        """True while records go to the spool instead of the state database."""
        return self._conn is None or self.spool.pending()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, reason: str = "gateway start") -> None:
        """Open the chain above every seq this replica wrote before (spool and, when
        reachable, the database: a clock stepped back must not reuse a seq), then start
        the writer task."""
        self.spool.lock()
        await self._try_connect()
        last = [self.spool.last_seq(self.replica) or 0]
        if self._conn is not None:
            with contextlib.suppress(Exception):  # no table yet, or the DB went away again
                last.append(await self._conn.fetchval(
                    "SELECT max(seq) FROM privacy_gateway.audit_log WHERE replica = $1",
                    self.replica) or 0)
        start = first_seq(max(last))
        self._chain = chain_mod.Chain(self.keys, self.replica, start)
        self._next_seq = self._checkpoint_seq = start
        self.durable_seq = start - 1
        self.submit(chain_mod.start_record(reason))
        self._task = asyncio.create_task(self._run(), name="audit-writer")
        self._task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task) -> None:
        """A writer that died must not leave strict statements waiting: they fail."""
        if task.cancelled() or task.exception() is None:
            return
        log.critical("audit writer stopped: %s", type(task.exception()).__name__)
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(AuditWriterStopped("audit writer stopped"))
        self._waiters = []

    async def close(self, reason: str = "gateway stop") -> None:
        """Write the end-of-chain marker, flush everything, stop."""
        if self._task is None:
            return
        self._enqueue(entry(chain_mod.end_record(reason)))  # last: no checkpoint after it
        self._closing = True
        self._wake.set()
        await self._task
        self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        self.spool.unlock()

    async def flush(self) -> None:
        """Wait until everything queued so far is durable."""
        await self.durable(self._next_seq - 1)

    # -- the writer task ---------------------------------------------------------------

    async def _run(self) -> None:
        sealed: tuple[list[tuple], list[tuple]] = ([], [])
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._wait_time())
            self._wake.clear()
            self._seal_into(*sealed)
            try:
                if sealed[0] or sealed[1] or self.spool.pending():
                    await self._persist(*sealed)
                    sealed = ([], [])
            except Exception as exc:  # keep the sealed rows and retry: never drop one
                # The type only: database errors can quote row values.
                log.error("audit writer: neither the state database nor the spool took a"
                          " batch (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.retry_seconds)
            self._update_gauges()
            if self._records and (self._urgent() or len(self._records) >= self.batch_max):
                # Buffered records that came in during the commit wait for the next flush
                # interval: committing them at once would make a transaction (and a WAL
                # flush) per few statements, which costs the state database more than
                # the interval is worth.
                self._wake.set()
            elif self._closing and not (sealed[0] or sealed[1] or self._exposure):
                return

    def _wait_time(self) -> float:
        if self._records and self._urgent():
            return 0
        return self.retry_seconds if self.degraded else self.flush_interval

    def _urgent(self) -> bool:
        """Someone waits for queued records: strict mode, flush() or close()."""
        return self.mode == STRICT or bool(self._waiters) or self._closing

    def _seal_into(self, audit: list[tuple], exposure: list[tuple]) -> None:
        """Seal queued records into the chain; add a timed checkpoint when idle."""
        chain, records = self._chain, self._records
        batch = [records.popleft() for _ in range(min(len(records), self.batch_max))]
        if batch:
            try:
                audit.extend(chain.seal_entries(batch))  # a None: sealed as a checkpoint
            except UnicodeEncodeError:  # a client's bytes that are not UTF-8: never dropped
                audit.extend(chain.seal_entries(
                    [(seq, item if item is None else legible(item)) for seq, item in batch]))
            if any(item is None for _, item in batch):
                self._last_checkpoint = time.monotonic()
        exposure.extend(self._exposure)
        self._exposure.clear()
        # Only with the queue empty can a checkpoint take the next seq without
        # overtaking a record already numbered.
        if not self._records and not self._closing and chain.since_checkpoint and (
                time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds):
            self._checkpoint_seq = self._enqueue(None)
            self._seal_into(audit, exposure)

    async def _persist(self, audit: list[tuple], exposure: list[tuple]) -> None:
        if self.degraded:
            await self._recover()
        target = "db"
        if not self.degraded:
            try:
                await asyncio.wait_for(
                    store.write_batch(self._conn, self._partitions, audit, exposure,
                                      self._copy, self._exposure_copy), 10)
            except Exception as exc:  # any failure: the spool keeps the batch
                log.warning("audit writer: state database write failed (%s); spooling",
                            type(exc).__name__)
                metric("audit_write_errors").inc()
                await self._drop_connection()
        if self.degraded:
            items = store.audit_items(audit) + store.exposure_items(exposure)
            await asyncio.to_thread(self.spool.append, items)
            target = "spool"
        metric("audit_records").labels(target).inc(len(audit))
        if audit:
            self._mark_durable(audit[-1][1])

    def _mark_durable(self, seq: int) -> None:
        self.durable_seq = max(self.durable_seq, seq)
        still = []
        for waited, future in self._waiters:
            if waited <= self.durable_seq:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((waited, future))
        self._waiters = still

    async def _recover(self) -> None:
        """Reconnect (at most every retry_seconds) and replay the spool in order."""
        if time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + self.retry_seconds
        if self._conn is None and not await self._try_connect():
            return
        if self.spool.pending():
            try:
                moved = await store.replay(self._conn, self._partitions, self.spool)
            except Exception as exc:
                log.warning("audit writer: spool replay failed (%s)", type(exc).__name__)
                await self._drop_connection()
                return
            log.info("audit writer: replayed %d spooled items", moved)

    async def _try_connect(self) -> bool:
        try:
            self._conn = await self._connect()
        except Exception as exc:
            log.warning("audit writer: state database unreachable (%s); using the spool",
                        type(exc).__name__)
            self._conn = None
        return self._conn is not None

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.terminate()  # state unknown mid-transaction: do not reuse it
            self._conn = None
        self._next_try = time.monotonic() + self.retry_seconds

    def _update_gauges(self) -> None:
        metric("audit_queue_depth").set(self.queue_depth)
        metric("audit_spool_bytes").set(self.spool.size())
