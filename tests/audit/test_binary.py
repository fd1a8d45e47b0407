"""Binary COPY of audit and ledger rows: what is read back is what was written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import binary
from gateway.audit.binary import AuditCopy, text_array, text_array_values
from gateway.audit.chain import Chain, checkpoint_record, end_record, row, start_record
from gateway.audit.record import COLUMNS, AuditRecord, entry
from gateway.audit.store import EXPOSURE_COLUMNS, read_log, write_batch
from gateway.audit.verify import verify_chain
from gateway.state.partitions import Partitions

ODD = ['quote " and \\ backslash', "新\n行\t", "", None, "emoji \U0001f600"]


def _records() -> list[AuditRecord]:
    out = [start_record("test")]
    for i in range(15):
        text = ODD[i % len(ODD)]
        out.append(AuditRecord(
            session_id=text, principal=ODD[(i + 1) % 5], purpose=text, client_addr=text,
            application_name=text, fingerprint=text, statement=text,
            objects=[{"table": "t", "columns": {"名": "mask"}}] if i % 2 else None,
            rows=[None, 0, 2**62, 1][i % 4], subjects=[1, None, 0][i % 3], decision=text,
            reason=ODD[i % 3], duration_ms=[0.1, None, 1e-7, 3][i % 4], sqlstate=text))
    return [*out, checkpoint_record(16), end_record("test")]


async def test_rows_read_back_as_sealed_and_verify(state_dsn, keys):
    replica = f"binary-{uuid.uuid4().hex[:8]}"
    chain = Chain(keys, replica, 1)
    rows = [chain.seal_entry(1 + i, entry(r)) for i, r in enumerate(_records())]
    encoder = AuditCopy()
    conn = await asyncpg.connect(state_dsn)
    try:
        await write_batch(conn, Partitions(), rows[:9], [], encoder)
        await write_batch(conn, Partitions(), rows[9:], [], encoder)  # parts reused
        async with conn.transaction():
            stored = [r async for r in read_log(conn, replica)]
    finally:
        await conn.close()
    assert verify_chain(stored, keys).ok
    for sealed, back in zip(rows, stored, strict=True):
        expected = dict(zip(COLUMNS, row(sealed), strict=True))
        got = dict(back)
        for column in ("objects",):
            got[column] = got[column] and json.loads(got[column])
            expected[column] = expected[column] and json.loads(expected[column])
        assert got == expected


async def test_exposure_rows_read_back_as_written(state_dsn):
    replica = f"binary-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    rows = [
        (now, replica, 1, "s1", "crm_app", "customer_service", "public.customers",
         ["1", "新", 'a"b\\c'], ["person_name"], ["mobile", "id_card"], False, 3),
        (now + timedelta(days=1), replica, None, None, None, None, "public.orders", [], [],
         [], True, 0),
        (now - timedelta(days=1, microseconds=1), replica, 2**62, "s2", "p", "q", "t",
         ["x"], [], ["c"], False, 1),
    ]
    conn = await asyncpg.connect(state_dsn)
    try:
        # subjects as a list, or already encoded (as the writer queues them)
        await write_batch(conn, Partitions(), [], [
            (*r[:7], text_array(r[7]) if i % 2 else r[7], *r[8:]) for i, r in enumerate(rows)])
        stored = await conn.fetch(f"SELECT {', '.join(EXPOSURE_COLUMNS)}"
                                  " FROM privacy_gateway.exposure WHERE replica = $1", replica)
    finally:
        await conn.close()
    assert sorted(tuple(r) for r in stored) == sorted(rows)


def test_text_array_values_are_the_values_encoded():
    for values in (ODD, [], ["1"], [str(i) for i in range(1000)]):
        assert text_array_values(text_array(values)) == values
    assert text_array(text_array(ODD)) == text_array(ODD)  # an encoded field passes through


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.text(), st.none()), max_size=20))
def test_text_arrays_encode_alike_compiled_or_not(values: list[str | None]) -> None:
    fast = text_array(values)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(binary, "_compiled_text_array", None)
        assert fast == text_array(values)
    assert text_array_values(fast) == values
