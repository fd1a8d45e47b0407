"""The compiled batch pass (gateway/audit/batch.pyx) against its Python twins:
Chain.python_seal_entries and AuditCopy.python_encode."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import binary
from gateway.audit import chain as chain_mod
from gateway.audit.binary import AuditCopy
from gateway.audit.chain import Chain, checkpoint_record, end_record, start_record
from gateway.audit.keys import AuditKeys
from gateway.audit.record import CHAIN_END, LOGIN, STATEMENT, SUPPRESSION, entry, utcnow

KEYS = AuditKeys.derive("test audit secret, not for production")

pytestmark = pytest.mark.skipif(chain_mod._batch is None or binary._batch is None,
                                reason="gateway.audit.batch is not built")

texts = st.one_of(st.none(), st.sampled_from(["crm_app", "", "新\n行\t", 'q"\\', "\u2028"]),
                  st.text(max_size=12))
# Values of the kinds a record holds, and of the kinds equal to them as dict keys
counts = st.one_of(st.none(), st.integers(-2, 3), st.integers(2**62, 2**63 - 1),
                   st.booleans(), st.sampled_from([1.0, 0.0, 2.5]))
durations = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(0, 5),
                      st.sampled_from([0.1, 1e-7, 1e22, 3.0]))
objects = st.one_of(st.none(), st.sampled_from(
    ['[{"columns":{"phone":"mask"},"table":"public.customers"}]',
     '[{"columns":{"名":"show"},"table":"t"}]']))
entries = st.tuples(
    st.sampled_from([STATEMENT, STATEMENT, LOGIN, SUPPRESSION]),
    st.one_of(st.integers(0, 2**60), st.integers(-2**70, 2**70), st.booleans()),
    st.tuples(texts, texts, texts, texts, texts),
    st.tuples(texts, texts), objects, counts, counts, texts, texts, durations, texts)
# None: a checkpoint, sealed in its place
batches = st.lists(st.one_of(entries, st.none()), max_size=12)


NOW = utcnow()


def _checkpoint(count: int) -> tuple:
    """A checkpoint's entry at a fixed time, so that both twins make the same one."""
    return entry(dataclasses.replace(checkpoint_record(count), ts=NOW))


def _twins() -> tuple[Chain, Chain]:
    return Chain(KEYS, "host:5432", 100), Chain(KEYS, "host:5432", 100)


def _state(chain: Chain) -> tuple:
    return chain._key, chain._prev, chain.last_seq, chain.since_checkpoint


def _outcome(encode, sealed: list[tuple]) -> bytes | type:
    """The COPY bytes, or the type of what was raised (a float row count, say)."""
    try:
        return encode(sealed)
    except Exception as exc:
        return type(exc)


def _numbered(chain: Chain, items: list) -> list[tuple]:
    return [(chain.last_seq + 1 + i, item) for i, item in enumerate(items)]


@settings(max_examples=300, deadline=None)
@given(st.lists(batches, min_size=1, max_size=4))
def test_a_batch_seals_and_encodes_as_in_python(batch_list):
    with mock.patch.object(chain_mod, "checkpoint_entry", _checkpoint):
        _seal_alike(batch_list)


def _seal_alike(batch_list: list[list]) -> None:
    compiled, python = _twins()
    first = [entry(start_record("test"))]
    last = [entry(end_record("test"))]  # signed
    for i, items in enumerate(batch_list):
        items = first + items if i == 0 else items
        items = items + last if i == len(batch_list) - 1 else items
        sealed = compiled.seal_entries(_numbered(compiled, items))
        assert sealed == python.python_seal_entries(_numbered(python, items))
        assert _state(compiled) == _state(python)
        assert _outcome(AuditCopy().encode, sealed) == _outcome(AuditCopy().python_encode,
                                                                sealed)
    assert sealed[-1][3][0] == CHAIN_END and sealed[-1][6] is not None


def test_parts_kept_between_batches_encode_alike():
    """The encoder keeps parts between batches: a second batch reuses them."""
    chain, copy = Chain(KEYS, "r1", 1), AuditCopy()
    items = [entry(start_record("test"))] + [
        ("statement", 10**15 + i, ("1", "crm_app", "customer_service", "127.0.0.1", None),
         ("f", "SELECT $1"), None, 1, 0, "allow", None, 0.25, None) for i in range(50)]
    sealed = chain.seal_entries(_numbered(chain, items))
    assert copy.encode(sealed[:20]) == AuditCopy().python_encode(sealed[:20])
    assert copy.encode(sealed[20:]) == AuditCopy().python_encode(sealed[20:])


def test_an_out_of_order_batch_changes_nothing():
    compiled, python = _twins()
    items = [(100, entry(start_record("test"))), (102, None)]
    for chain, seal in ((compiled, compiled.seal_entries),
                        (python, python.python_seal_entries)):
        before = _state(chain)
        with pytest.raises(ValueError, match="expected seq 101, got 102"):
            seal(items)
        assert _state(chain) == before


@pytest.mark.parametrize("field, value", [
    (1, 2**63), (1, -2**63 - 1), (1, 1.5), (4, "not bytes"),
    (6, "signature")])
def test_values_struct_refuses_are_refused_alike(field, value):
    """What struct cannot pack raises as in Python; a short or long MAC is padded or cut
    as struct's "32s" does."""
    chain = Chain(KEYS, "r1", 1)
    sealed = list(chain.seal_entries([(1, entry(start_record("test")))])[0])
    sealed[field] = value
    with pytest.raises(Exception) as python:
        AuditCopy().python_encode([tuple(sealed)])
    with pytest.raises(python.type):
        AuditCopy().encode([tuple(sealed)])


@pytest.mark.parametrize("mac", [b"", b"short", bytes(range(40)), bytearray(32)])
def test_macs_of_other_sizes_are_padded_or_cut_as_struct_does(mac):
    chain = Chain(KEYS, "r1", 1)
    sealed = list(chain.seal_entries([(1, entry(start_record("test")))])[0])
    sealed[5] = mac
    assert AuditCopy().encode([tuple(sealed)]) == AuditCopy().python_encode([tuple(sealed)])
