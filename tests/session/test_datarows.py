"""The compiled DataRow path (gateway/session/datarows.pyx) against its Python twin."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.policy.decision import SUBJECT_ALIAS, Decision
from gateway.policy.freetext import PATTERN_ENTITIES, column_masker, masker
from gateway.policy.model import Mask
from gateway.policy.rules import load_rules
from gateway.protocol import messages as m
from gateway.session import results
from gateway.session.core import Session, SessionConfig
from gateway.session.freetext import _residue, text_masker
from gateway.session.results import Tracker
from tests.session.test_results import RULES_FILE

datarows = results.datarows
compiled = pytest.mark.skipif(datarows is None,
                              reason="compiled DataRow path not built (no C compiler at install)")
RULES = load_rules(RULES_FILE)
CHECK = masker(PATTERN_ENTITIES, RULES, validated=True)
SCANNED = ("CN_MOBILE", "CN_ID_CARD", "CN_BANK_CARD", "EMAIL_ADDRESS")
TABLES = ("public.customers", "public.orders")
# pieces of text that sit on the edges of what the maskers and the gate look for
PIECES = ("1", "138", "1234567", "0000012345", "13812345678", "110105199001011234",
          "6222021234567890123", "@", "a", "u1@example.cn", " ", "-", ".", "/", "(", "）",
          "－", "—", "·", "\u3000", "０", "１３８", "号", "客户来电", "*", "138****5678", "X")


@cache
def _text_masker(entities: tuple[str, ...]):
    return text_masker(entities, RULES)


texts = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
cells = st.one_of(st.none(), texts.map(str.encode))
# the column masks the gateway applies itself (Decision.mask_columns), by kind of column
MASKS = {"phone": Mask("keep", 3, 4), "address": Mask("keep", 6, 0),
         "card": Mask("keep", 0, 4, "××"), "email": Mask("email"), "name": Mask("name"),
         "redacted": Mask("redact")}
# per visible column: plain table column, guarded, computed (checked), free text (scanned)
# or masked
KINDS = ("plain", "guarded", "computed", "scanned", *MASKS)


def _decision(kinds: list[str], keys: int) -> Decision:
    return Decision(
        sql="SELECT ...", kind="select", tables=frozenset(TABLES),
        subject_columns=TABLES[:keys], purpose="customer_service",
        scan_columns=tuple((i, SCANNED) for i, k in enumerate(kinds) if k == "scanned"),
        mask_columns=tuple((i, MASKS[k]) for i, k in enumerate(kinds) if k in MASKS))


def _tracker(kinds: list[str], keys: int, binary: bool) -> Tracker:
    guarded = tuple(i for i, k in enumerate(kinds) if k == "guarded")
    decision = _decision(kinds, keys)
    tracker = Tracker(row_guards=lambda body: guarded, maskers=_text_masker,
                      checker=lambda purpose: CHECK)
    tracker.parse("", "SELECT ...", decision)
    tracker.bind("", tracker.prepared(""), binary)
    tracker.execute("", None)
    fields = [m.Field(f"c{i}", table_oid=0 if k == "computed" else 16384, column=i + 1)
              for i, k in enumerate(kinds)]
    fields += [m.Field(SUBJECT_ALIAS, table_oid=16384, column=1)] * keys
    tracker.row_description(m.RowDescription(tuple(fields)).encode()[5:])
    return tracker


def _feed(tracker: Tracker, rows: list[bytes]) -> tuple[list[bytes], dict, int]:
    out = []
    for raw in rows:
        sent = tracker.data_row(raw, 0, len(raw))
        out.append(raw if sent is None else sent)
    tracker.command_complete(b"SELECT 1\0")
    tracker.ready()
    run = tracker.finished[-1]
    subjects = {t: keys for t, keys in run.subjects.items() if keys}
    return out, subjects, run.misses


@compiled
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6),
       keys=st.integers(0, 2), binary=st.booleans(), data=st.data())
def test_compiled_rows_are_the_python_rows(kinds, keys, binary, data) -> None:
    key = (st.binary(min_size=8, max_size=8) if binary
           else st.integers(1, 10**12).map(lambda n: str(n).encode()))
    rows = [m.DataRow(tuple(data.draw(st.lists(cells, min_size=len(kinds),
                                                max_size=len(kinds))))
                      + tuple(data.draw(st.lists(st.one_of(st.none(), key), min_size=keys,
                                                 max_size=keys)))).encode()
            for _ in range(data.draw(st.integers(1, 4)))]
    fast = _feed(_tracker(kinds, keys, binary), rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "datarows", None)
        slow = _feed(_tracker(kinds, keys, binary), rows)
    assert fast == slow


@compiled
@settings(max_examples=400, deadline=None)
@given(text=texts)
def test_a_text_the_gate_passes_over_is_one_the_masker_leaves_alone(text: str) -> None:
    if not datarows.may_hold_entity(text.encode()):
        assert _text_masker(SCANNED)(text) == text


@compiled
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, st.text(st.characters(blacklist_categories=("Cs",)))))
def test_a_column_mask_is_the_python_one(text: str) -> None:
    for mask in MASKS.values():
        spec = (results._MASK_CODES[mask.kind], mask.keep_first, mask.keep_last,
                mask.char.encode())
        assert datarows.column_mask(text.encode(), spec).decode() == column_masker(mask)(text)


# pieces on the edges of the e-mail pattern and of the digit runs and their X
ADDRESS_PIECES = (*PIECES, "b", "Z9", ".", "..", "-", "%", "+", "_", "@@", "x.cn", ".c", "c",
                  ".com", "-cn", "1x", "x", "X", "7", "12345678901234567", "张@")
address_texts = st.lists(st.sampled_from(ADDRESS_PIECES), max_size=10).map("".join)


@compiled
@settings(max_examples=1000, deadline=None)
@given(text=address_texts)
def test_the_compiled_pattern_masker_is_the_python_one(text: str) -> None:
    for entities in (SCANNED, ("EMAIL_ADDRESS", "CN_MOBILE"), ("CN_BANK_CARD", "CN_ID_CARD")):
        mask = _text_masker(entities)
        done = datarows.scan_text(text.encode(), results._compiled_patterns(mask.patterns))
        if done is None:  # a residue after the patterns: left to the Python masker
            assert datarows.residue(masker(entities, RULES)(text))
        else:
            assert done.decode() == mask(text), (entities, text)


@compiled
@pytest.mark.parametrize(("text", "expected"), [
    ("客户来电咨询订单物流，已解答", False),
    ("订单号 0000012345 退货已受理", False),  # one plain run under eleven digits
    ("回拨 123456", False),
    ("回拨号码13912345678", True),
    ("订单 0000012345 和 12", True),  # two runs: the residue check decides
    ("电话 １３８１２３４５６７８", True),  # full-width digits
    ("邮箱 c1@mail.cn", True),
])
def test_the_gate_of_free_text(text: str, expected: bool) -> None:
    assert datarows.may_hold_entity(text.encode()) is expected


@compiled
def test_a_row_that_is_not_what_the_statement_described_goes_the_python_way() -> None:
    tracker = _tracker(["scanned", "plain"], 1, False)
    longer = m.DataRow((b"13812345678", b"x", b"y", b"42")).encode()  # one cell too many
    assert datarows.rewrite_rows(longer, 0, b"\2\0", (), (set(),), False, None, 10, 5) \
        == (b"", 0, 0, False)
    out = tracker.data_row(longer, 0, len(longer))
    assert m.decode(b"D", out[5:], True).values == (b"138****5678", b"x", b"y")
    cut = m.DataRow((b"x", b"y", b"42")).encode()[:-1]
    assert datarows.rewrite_rows(cut, 0, b"\0\0", (), (set(),), False, None, 10, 5)[2] == 0


# --- through the session core: many rows in one read, reads cut anywhere -----------------

def _session(kinds: list[str], keys: int, row_limit: int | None) -> Session:
    guarded = tuple(i for i, k in enumerate(kinds) if k == "guarded")
    decision = _decision(kinds, keys)
    s = Session(SessionConfig(rules=lambda: RULES, database="crm",
                              decide=lambda sql, purpose: decision,
                              row_guards=lambda body, purpose: guarded,
                              maskers=_text_masker, checker=lambda purpose: CHECK))
    s.phase, s.purpose, s._row_limit = "ready", "customer_service", row_limit
    s.client_bytes(m.Query("SELECT ...").encode())
    return s


def _stream(s: Session, kinds: list[str], keys: int, rows: list[bytes],
            cuts: list[int]) -> tuple[bytes, tuple]:
    fields = [m.Field(f"c{i}", table_oid=0 if k == "computed" else 16384, column=i + 1)
              for i, k in enumerate(kinds)]
    fields += [m.Field(SUBJECT_ALIAS, table_oid=16384, column=1)] * keys
    stream = b"".join([m.RowDescription(tuple(fields)).encode(), *rows,
                       m.CommandComplete(f"SELECT {len(rows)}").encode(),
                       m.ReadyForQuery(b"I").encode()])
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        s.server_bytes(stream[a:b])
    sent = b"".join(bytes(c) for c in s.to_client)
    run = s.tracker.finished[-1]
    batches = [{t: k for t, k in b.items() if k} for _, b in s.tracker.batches]
    return sent, (run.rows, run.misses, run.sqlstate, batches,
                  {t: k for t, k in run.subjects.items() if k})


@compiled
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
       keys=st.integers(0, 2), limit=st.one_of(st.none(), st.integers(0, 12)),
       data=st.data())
def test_rows_read_together_or_cut_anywhere_go_as_on_the_python_path(kinds, keys, limit,
                                                                     data) -> None:
    key = st.integers(1, 40).map(lambda n: str(n).encode())
    rows = [m.DataRow(tuple(data.draw(st.lists(cells, min_size=len(kinds),
                                                max_size=len(kinds))))
                      + tuple(data.draw(st.lists(key, min_size=keys, max_size=keys)))).encode()
            for _ in range(data.draw(st.integers(0, 12)))]
    size = sum(map(len, rows)) + 200
    cuts = sorted(set(data.draw(st.lists(st.integers(1, size), max_size=4))))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "SUBJECT_BATCH", 5)  # hand-overs inside a read, too
        fast = _stream(_session(kinds, keys, limit), kinds, keys, rows, cuts)
        patch.setattr(results, "datarows", None)
        slow = _stream(_session(kinds, keys, limit), kinds, keys, rows, cuts)
    assert fast == slow


@compiled
def test_the_compiled_path_takes_at_most_the_rows_it_is_allowed() -> None:
    rows = b"".join(m.DataRow((b"x", str(n).encode())).encode() for n in range(5))
    keys: set[str] = set()
    out, end, taken, full = datarows.rewrite_rows(rows + m.Sync().encode(), 0, b"\0", (),
                                                  (keys,), False, None, 100, 3)
    assert taken == 3 and end == len(rows) * 3 // 5 and keys == {"0", "1", "2"}
    assert not full and out == b"".join(m.DataRow((b"x",)).encode() for _ in range(3))
    out, end, taken, full = datarows.rewrite_rows(rows, 0, b"\0", (), (keys,), False, None, 4, 99)
    assert (taken, full) == (4, True)  # stops after the row that fills a set


# every character class the residue check knows, and some it does not
RESIDUE_PIECES = (*PIECES, "\t", "\xa0", "\u2003", "*@", " @", "a@", "＠", "7@", "1 2",
                  "12-34", "(010)", "（０１０）", "8·8", "123456789012", "１２３４５６７")


@compiled
@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(RESIDUE_PIECES), max_size=10).map("".join))
def test_the_compiled_residue_check_finds_whatever_the_pattern_finds(text: str) -> None:
    found = datarows.residue(text)
    assert found or not _residue(text)
    if "@" not in text:
        assert found == _residue(text)  # the same, but for an '@' after a skipped run


# -- the reply to a statement awaited alone (results.plain_reply, Tracker.settle)

_HEADS = (b"", results._BIND_COMPLETE, results._PARSE_BIND_COMPLETE)
_DESCRIBED = m.RowDescription((m.Field("abalance", 16400, 3, 23, 4),)).encode()[5:]
_OTHER = m.RowDescription((m.Field("phone", 16500, 2, 25),)).encode()[5:]


@st.composite
def replies(draw: st.DrawFn) -> tuple[bytes, bytes, bytes | None, bool]:
    """A reply put together from the pieces plain_reply looks for, often whole and as
    expected, sometimes with a piece wrong, missing, cut short or followed by more."""
    head = draw(st.sampled_from(_HEADS))
    described = draw(st.sampled_from((_DESCRIBED, _DESCRIBED, _OTHER, None)))
    wrong = draw(st.sampled_from((None,) * 6 + ("head", "body", "notice", "end", "ready",
                                                "cut", "more")))
    parts = [draw(st.sampled_from(_HEADS)) if wrong == "head" else head]
    body = draw(st.sampled_from((_OTHER, b""))) if wrong == "body" else \
        draw(st.sampled_from((described or _DESCRIBED, b"")))
    if body:
        parts.append(b"T" + (len(body) + 4).to_bytes(4, "big") + body)
    for _ in range(draw(st.integers(0, 4))):
        parts.append(m.DataRow(tuple(draw(st.lists(cells, max_size=3)))).encode())
    if wrong == "notice":
        parts.append(m.NoticeResponse((("S", "NOTICE"), ("C", "00000"), ("M", "x"))).encode())
    parts.append(draw(st.sampled_from((m.ErrorResponse.build("57014", "stop").encode(),
                                       b"C\x00\x00\x00\x02", b"D\xff\xff\xff\xf0")))
                 if wrong == "end" else m.CommandComplete("SELECT 3").encode())
    parts.append(draw(st.sampled_from((b"Z\0\0\0\5", b"", b"Z\0\0\0\6IT")))
                 if wrong == "ready" else m.ReadyForQuery(b"I").encode())
    data = b"".join(parts)
    if wrong == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif wrong == "more":
        data += draw(st.sampled_from((b"Z", m.ReadyForQuery(b"T").encode())))
    return data, head, described, draw(st.booleans())


@compiled
@settings(max_examples=2000, deadline=None)
@given(reply=replies())
def test_the_compiled_reply_walk_is_its_python_twin(
        reply: tuple[bytes, bytes, bytes | None, bool]) -> None:
    assert datarows.plain_reply(*reply) == results.plain_reply(*reply)


def test_a_whole_plain_reply_is_counted() -> None:
    rows = b"".join(m.DataRow((b"1",)).encode() for _ in range(3))
    data = (results._BIND_COMPLETE + b"T" + (len(_DESCRIBED) + 4).to_bytes(4, "big")
            + _DESCRIBED + rows + m.CommandComplete("SELECT 3").encode()
            + m.ReadyForQuery(b"T").encode())
    tag = data.index(b"SELECT 3")
    for walk in (results.plain_reply, datarows.plain_reply if datarows else None):
        if walk is not None:
            assert walk(data, results._BIND_COMPLETE, _DESCRIBED, True) == (3, tag, tag + 9)
            assert walk(data, results._BIND_COMPLETE, _OTHER, True) is None  # new columns
            assert walk(data[:-1], results._BIND_COMPLETE, _DESCRIBED, True) is None
