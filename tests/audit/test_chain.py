"""MAC chain and verifier, without a database."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.chain import Chain, checkpoint_record, end_record, start_record
from gateway.audit.keys import AuditKeys
from gateway.audit.record import COLUMNS, AuditRecord
from gateway.audit.verify import verify_chain


def _rows(keys: AuditKeys, n: int = 5, end: bool = True, replica: str = "r1") -> list[dict]:
    chain = Chain(keys, replica, 1000)
    records = [start_record("test")] + [
        AuditRecord(principal="crm_app", purpose="customer_service", rows=i,
                    objects=[{"table": "public.customers", "columns": {"phone": "mask"}}])
        for i in range(n)]
    records.append(checkpoint_record(n + 1))
    if end:
        records.append(end_record("test"))
    return [dict(zip(COLUMNS, chain.seal(1000 + i, r), strict=True))
            for i, r in enumerate(records)]


def test_untouched_chain_verifies(keys):
    report = verify_chain(_rows(keys), keys)
    assert report.ok and report.checked == 8 and report.checkpoints == 1
    assert report.open_chains == []


def test_altered_record_is_named(keys):
    rows = _rows(keys)
    rows[3]["principal"] = "someone_else"
    report = verify_chain(rows, keys)
    assert str(report.first_bad) == "record r1/1003: MAC mismatch (record altered)"


def test_deleted_record_is_named(keys):
    rows = _rows(keys)
    del rows[2]
    bad = verify_chain(rows, keys).first_bad
    assert (bad.seq, bad.reason) == (1003, "1 record(s) missing before it")


def test_truncated_chain_is_open(keys):
    rows = _rows(keys)[:-2]
    report = verify_chain(rows, keys)
    assert report.ok and report.open_chains == [("r1", 1000, 1005)]


def test_slice_from_middle_verifies(keys):
    assert verify_chain(_rows(keys)[3:], keys).ok


def test_wrong_key_fails(keys):
    other = AuditKeys.derive("another secret of enough length")
    assert not verify_chain(_rows(keys), other).ok


def test_public_key_checks_signatures_without_secret(keys):
    rows = _rows(keys)
    assert verify_chain(rows, public_key=keys.public).ok
    rows[-1]["reason"] = "forged"
    assert verify_chain(rows, public_key=keys.public).first_bad.reason == \
        "chain_end signature invalid"


def test_chain_refuses_out_of_order_seq(keys):
    chain = Chain(keys, "r1", 10)
    with pytest.raises(ValueError):
        chain.seal(11, start_record("x"))


def test_every_body_field_is_covered(keys):
    rows = _rows(keys, n=1)
    for name in (f.name for f in dataclasses.fields(AuditRecord)):
        changed = [dict(r) for r in rows]
        changed[1][name] = 12345 if name != "ts" else changed[0]["ts"].replace(year=2001)
        assert not verify_chain(changed, keys).ok, name


def test_spool_is_locked_to_one_process(tmp_path):
    from gateway.audit.spool import Spool, SpoolBusy

    first, second = Spool(tmp_path / "spool"), Spool(tmp_path / "spool")
    first.lock()
    with pytest.raises(SpoolBusy):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()


def test_objects_as_text_verify_after_jsonb_reformatting(keys):
    chain = Chain(keys, "r1", 1)
    text = '{"b": 1, "a": [ "x" ]}'
    rows = [dict(zip(COLUMNS, chain.seal(1 + i, r), strict=True)) for i, r in enumerate(
        [start_record("t"), AuditRecord(objects=text)])]
    rows[1]["objects"] = '{"a": ["x"], "b": 1}'  # as jsonb hands it back
    assert verify_chain(rows, keys).ok


def test_seal_assembles_the_same_bytes_as_canonical(keys):
    """seal() builds the MAC'd JSON from cached parts; verify rebuilds it with canonical()."""
    odd = ['quote " and \\ backslash', "新\n行\t", "", None, "\u2028", "emoji \U0001f600"]
    records = [start_record("test")]
    for i, text in enumerate(odd * 3):
        records.append(AuditRecord(
            session_id=text, principal=odd[i % 4], purpose=text, client_addr=None,
            application_name=text, fingerprint=odd[(i + 1) % 6], statement=text,
            objects=[{"table": f"t{i % 2}", "columns": {"名": "mask", "b": "show"}}]
            if i % 3 else None,
            rows=[None, 0, 2**62][i % 3], subjects=i, decision=text, reason=odd[i % 6],
            duration_ms=[0.1, 1e-7, 123456.789, None, 3.0, 1e22][i % 6], sqlstate=text))
    records.append(end_record("test"))
    chain = Chain(keys, "r1", 1)
    rows = [dict(zip(COLUMNS, chain.seal(1 + i, r), strict=True))
            for i, r in enumerate(records)]
    report = verify_chain(rows, keys)
    assert report.ok, report.first_bad


def test_equal_keys_of_other_types_do_not_share_encoded_parts(keys):
    """1 == 1.0 == True as dict keys; each must still be sealed as itself."""
    records = [start_record("test")] + [AuditRecord(rows=v, subjects=v, principal="p")
                                        for v in (1, 1.0, True, 0, False, 0.0)]
    chain = Chain(keys, "r1", 1)
    rows = [dict(zip(COLUMNS, chain.seal(1 + i, r), strict=True))
            for i, r in enumerate(records)]
    assert verify_chain(rows, keys).ok


@pytest.mark.parametrize("key_size", [0, 1, 32, 63, 64, 65, 200])
def test_seal_mac_is_hmac_sha256(key_size):
    import hashlib
    import hmac
    import os

    from gateway.audit.chain import seal_mac

    key, prev, payload = os.urandom(key_size), os.urandom(32), os.urandom(key_size * 7 + 3)
    assert seal_mac(key, prev, payload) == hmac.new(key, prev + payload,
                                                    hashlib.sha256).digest()


@given(st.binary(max_size=150), st.binary(min_size=32, max_size=32), st.binary(max_size=600))
def test_seal_mac_equals_the_standard_librarys_hmac(key, prev, payload):
    import hmac

    from gateway.audit.chain import seal_mac

    assert seal_mac(key, prev, payload) == hmac.digest(key, prev + payload, "sha256")


def _ratcheted_hmacs(key: bytes, prev: bytes, payloads: list[bytes]) -> list[bytes]:
    """The chain's MACs from the standard library alone: HMAC, then key = SHA-256(prefix
    || key), as the module docstring defines them."""
    import hashlib
    import hmac

    macs = []
    for payload in payloads:
        prev = hmac.digest(key, prev + payload, "sha256")
        key = hashlib.sha256(b"privacy-gateway ratchet\0" + key).digest()
        macs.append(prev)
    return macs


@given(st.binary(max_size=150), st.binary(min_size=32, max_size=32),
       st.lists(st.binary(max_size=600), max_size=8))
def test_the_compiled_mac_chain_equals_hmac_with_the_ratchet(key, prev, payloads):
    from gateway.audit import chain as chain_mod

    expected = _ratcheted_hmacs(key, prev, payloads)
    assert chain_mod.mac_chain(key, prev, payloads)[0] == expected
    if chain_mod._macs is None:
        pytest.skip("gateway.audit.macs is not built")
    macs, following = chain_mod._mac_chain(key, prev, payloads)
    assert macs == expected
    assert (macs, following) == chain_mod.mac_chain(key, prev, payloads)


def test_the_compiled_mac_chain_takes_only_bytes():
    from gateway.audit import chain as chain_mod

    if chain_mod._macs is None:
        pytest.skip("gateway.audit.macs is not built")
    for payloads in ([bytearray(b"x")], ["text"], [None], [b"ok", memoryview(b"x")]):
        with pytest.raises(TypeError):
            chain_mod._mac_chain(bytes(32), bytes(32), payloads)
    for key, prev in ((None, bytes(32)), (bytes(32), None), ("key", bytes(32))):
        with pytest.raises(TypeError):  # as the Python twin: never a MAC of stray memory
            chain_mod._mac_chain(key, prev, [b"x"])


def _entries(first: int, n: int) -> list[tuple]:
    from gateway.audit.record import entry

    return [(first + i, entry(AuditRecord(principal="crm_app", rows=i, subjects=i % 3,
                                          duration_ms=i / 7, statement=f"SELECT {i}")))
            for i in range(n)]


def test_a_batch_seals_as_its_records_one_by_one(keys):
    from gateway.audit.record import entry

    numbered = [(1, entry(start_record("test"))), *_entries(2, 5), (7, None),
                *_entries(8, 3), (11, entry(end_record("test")))]
    one_by_one, batched = Chain(keys, "r1", 1), Chain(keys, "r1", 1)
    sealed = batched.seal_entries(numbered[:4]) + batched.seal_entries(numbered[4:])
    checkpoint = sealed[6][3]  # made in the batch, with its own time
    assert checkpoint[0] == "checkpoint" and checkpoint[5] == 6  # the six records before it
    assert [one_by_one.seal_entry(s[1], s[3]) for s in sealed] == sealed
    assert (batched.last_seq, batched.since_checkpoint) == (11, 4)
    from gateway.audit.chain import row
    report = verify_chain([dict(zip(COLUMNS, row(s), strict=True)) for s in sealed], keys)
    assert report.ok and report.checked == 11 and report.checkpoints == 1


def test_a_batch_out_of_order_is_refused_whole(keys):
    chain = Chain(keys, "r1", 1)
    chain.seal_entries(_entries(1, 2))
    state = (chain.last_seq, chain.since_checkpoint, chain._key, chain._prev)
    with pytest.raises(ValueError, match="expected seq 5, got 6"):
        chain.seal_entries(_entries(3, 2) + _entries(6, 1))
    assert (chain.last_seq, chain.since_checkpoint, chain._key, chain._prev) == state
    assert [s[1] for s in chain.seal_entries(_entries(3, 2))] == [3, 4]
