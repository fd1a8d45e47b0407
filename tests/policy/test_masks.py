"""Masks evaluated by the real database, and the gateway's free-text twin of the SQL scan."""

from __future__ import annotations

import re

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.policy.catalog import Column
from gateway.policy.freetext import column_masker, masker
from gateway.policy.masks import fits, gateway_can_mask, masked_expr, scan_expr
from gateway.policy.model import ClassDef, Mask
from tests.policy.test_rewrite import RULES

TEXT = Column("v", "text", "S")
VARCHAR = Column("v", "character varying(20)", "S")
DATE = Column("v", "date", "D")
INT = Column("v", "integer", "N")

# when class mask, column, value -> then the database returns
CASES = [
    (Mask("keep", 3, 4), VARCHAR, "13812345678", "138****5678"),
    (Mask("keep", 3, 4), TEXT, "1234567", "*******"),  # too short to keep anything
    (Mask("keep", 6, 4, "#"), TEXT, "11010519900101123X", "110105########123X"),
    (Mask("keep", 0, 4), TEXT, "6222021234567890", "************7890"),
    (Mask("keep", 3, 4), TEXT, None, None),
    (Mask("name"), TEXT, "张三", "张*"),
    (Mask("name"), TEXT, "欧阳小明", "欧***"),
    (Mask("email"), TEXT, "zhangsan@x.cn", "z***@x.cn"),
    (Mask("email"), TEXT, "not-an-email", "***"),
    (Mask("year"), DATE, "1990-05-17", "1990-01-01"),
    (Mask("year"), DATE, "2000-02-29", "2000-01-01"),
    (Mask("year"), DATE, "0044-03-15 BC", "0044-01-01 BC"),
    (Mask("year"), DATE, "infinity", "infinity"),
    (Mask("year"), DATE, "-infinity", "-infinity"),
    (Mask("year"), DATE, None, None),
    (Mask("null"), TEXT, "x", None),
    (Mask("redact"), TEXT, "anything", "***"),
    (Mask("redact"), INT, "42", None),
    (Mask("keep", 1, 1), INT, "12345", "1***5"),
]


@pytest.fixture(scope="module")
def db(crm_dsn: str):
    with psycopg.connect(crm_dsn, autocommit=True, cursor_factory=psycopg.RawCursor) as conn:
        yield conn


def _eval(db, mask: Mask, column: Column, value: str | None, key: bytes | None = None):
    cls = ClassDef("c", mask=mask)
    expr = masked_expr(cls, column, RULES, key)
    return db.execute(f"SELECT ({expr})::text FROM (SELECT $1::{column.type} AS v) t",
                      (value,)).fetchone()[0]


@pytest.mark.parametrize(("mask", "column", "value", "expected"), CASES)
def test_mask_in_sql(db, mask: Mask, column: Column, value, expected) -> None:
    assert _eval(db, mask, column, value) == expected


# The masks the gateway applies itself to passed-through columns (Decision.mask_columns)
GATEWAY_MASKS = [Mask("keep", 3, 4), Mask("keep", 6, 0), Mask("keep", 0, 4, "#"),
                 Mask("keep", 2, 2, "××"), Mask("name"), Mask("email"), Mask("redact")]
# any text PostgreSQL stores (no NUL), leaning to what the masks look at
_PIECES = st.sampled_from(["@", "a", "1", "张", "*", " ", ".cn"]) | st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\0")
VALUES = st.lists(st.lists(_PIECES, max_size=10).map("".join), max_size=20)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUES)
def test_the_gateway_masks_a_column_as_the_database_does(db, values: list[str]) -> None:
    for column in (TEXT, VARCHAR):
        for mask in GATEWAY_MASKS:
            assert gateway_can_mask(mask, column)
            expr = masked_expr(ClassDef("c", mask=mask), column, RULES, None)
            got = db.execute(f"SELECT ({expr})::text FROM pg_catalog.unnest($1::text[]) "
                             "WITH ORDINALITY AS t(v, n) ORDER BY n", (values,)).fetchall()
            assert [r[0] for r in got] == [column_masker(mask)(v) for v in values], mask


def test_the_gateway_masks_only_text_and_varchar_columns() -> None:
    assert not gateway_can_mask(Mask("keep", 3, 4), Column("v", "character(11)", "S"))
    assert not gateway_can_mask(Mask("year"), DATE)
    assert not gateway_can_mask(Mask("hash"), TEXT)
    assert not gateway_can_mask(Mask("keep", 1, 1), INT)


def test_the_year_of_a_date_is_what_date_trunc_gives(db) -> None:
    # the mask builds January 1st itself; date_trunc's way (through a timestamptz in the
    # session's time zone) gives the same date for every date, BC and leap days included
    expr = masked_expr(ClassDef("c", mask=Mask("year")), DATE, RULES, None)
    assert db.execute(
        f"SELECT count(*) FROM (SELECT '2000-01-01'::date + g AS v"
        f" FROM generate_series(-800000, 400000, 7) g) t"
        f" WHERE ({expr}) IS DISTINCT FROM pg_catalog.date_trunc('year', v)::date"
    ).fetchone()[0] == 0


def test_hash_is_keyed_and_stable(db) -> None:
    one = _eval(db, Mask("hash"), TEXT, "M001", b"key one")
    assert one == _eval(db, Mask("hash"), TEXT, "M001", b"key one")
    assert one != _eval(db, Mask("hash"), TEXT, "M001", b"key two")
    assert one != _eval(db, Mask("hash"), TEXT, "M002", b"key one")
    assert one.startswith("h_") and len(one) == 18


def test_fit_by_type() -> None:
    assert fits(Mask("keep", 3, 4), TEXT) and not fits(Mask("keep", 3, 4), INT)
    assert fits(Mask("year"), DATE) and not fits(Mask("year"), TEXT)
    assert fits(Mask("null"), INT) and fits(Mask("hash"), DATE)


FREE_TEXT = [
    "客户来电，备用电话13912345678，请回电",
    "身份证11010519900517123X，卡号6222021234567890123",
    "联系 zhang.san@example.cn 或 13800001111/13900002222",
    "订单 12345678901234 金额 99.00",  # 14 digits: no entity of that length
    "电话：+86 13812345678",
    "nothing to mask here",
    "1381234567812 is too long for a mobile",
]


@pytest.mark.parametrize("text", FREE_TEXT)
def test_gateway_scan_matches_sql_scan(db, text: str) -> None:
    cls = RULES.classes["free_text"]
    expr = scan_expr('"v"', cls.scan, RULES)
    in_sql = db.execute(f"SELECT {expr} FROM (SELECT $1::text AS v) t", (text,)).fetchone()[0]
    assert masker(cls.scan, RULES)(text) == in_sql


# The SQL scan on its own (masked_expr): what only the detector could tell fails closed.
CLOSED = [
    ("新手机 139 8765 4321 请回电", "新手机 *** **** **** 请回电"),
    ("电话 139-8765-4321，订单 20240506", "电话 ***-****-****，订单 ********"),
    ("全角１３９８７６５４３２１", "全角***********"),
    ("卡号 6222 0212 3456 7890 123", "卡号 **** **** **** **** ***"),
    ("电话：+86 13812345678", "电话：+** ***********"),
    ("国际 008613812345678 或 8613812345678", "国际 *************** 或 *************"),
    ("写信 张三@例子.中国 谢谢", "写信 *** 谢谢"),
    ("联系 zhang.san@example.cn", "联系 z***@example.cn"),  # masked by the patterns
    ("备用电话13912345678，2024-05-06 来电", "备用电话139****5678，2024-05-06 来电"),
    ("订单 12345678901234 金额 99.00", "订单 12345678901234 金额 99.00"),
    ("2024-05-06 10:30 回访 3 次", "2024-05-06 10:30 回访 3 次"),  # dates: fewer digits
    ("nothing to mask here", "nothing to mask here"),
    (None, None),
]


@pytest.mark.parametrize(("text", "expected"), CLOSED)
def test_the_sql_scan_alone_fails_closed(db, text: str | None, expected: str | None) -> None:
    expr = masked_expr(RULES.classes["free_text"], TEXT, RULES, None)
    assert db.execute(f"SELECT {expr} FROM (SELECT $1::text AS v) t",
                      (text,)).fetchone()[0] == expected


def test_gateway_scan_masks_each_entity_by_its_class() -> None:
    mask = masker(RULES.classes["free_text"].scan, RULES)
    assert mask(FREE_TEXT[0]) == "客户来电，备用电话139****5678，请回电"
    assert mask(FREE_TEXT[1]) == "身份证110105********123X，卡号***************0123"
    assert mask(FREE_TEXT[2]) == "联系 z***@example.cn 或 138****1111/139****2222"


def test_free_text_scanned_for_names_is_not_shown_by_the_sql_scan(db) -> None:
    # only the detector finds names and addresses; it does not run in the database
    cls = ClassDef("notes", Mask("scan"), scan=("CN_MOBILE", "CN_PERSON_NAME"))
    expr = masked_expr(cls, TEXT, RULES, None)
    rows = db.execute(f"SELECT {expr} FROM (VALUES ($1::text), (NULL)) t(v)",
                      ("张伟来电，请回电",)).fetchall()
    assert rows == [("[privacy gateway: 8 characters not shown]",), (None,)]


# Free text around numbers a detector would look for (split, full-width, coded, plain).
TEXT_PIECES = ("139", "8765", "4321", "13987654321", "142", "86", "0086", "+", " ", "-",
               "—", ".", "/", "(", ")", "１３９", "８７６５", "4", "2024-05-06", "客户", "电话",
               "，", "@", "u1", "example.cn", "*")
_RUN = re.compile(
    r"(?<![*0-9０-９])[0-9０-９](?:[\s\-－—.·/()（）]*[0-9０-９]){10,}(?![*0-9０-９])")
_MOBILE = re.compile(r"(00)?861[3-9][0-9]{9}|1[3-9][0-9]{9}")


def numbers_left(text: str) -> list[str]:
    """Numbers in text a detector would look for: eleven or more digits split by
    separators or full-width, or a mobile (behind its country code or not), not next to
    a mask character (those digits are the kept end of a masked number). A plain run of
    ASCII digits that no pattern takes for a number is not one."""
    return [n for n in _RUN.findall(text)
            if not (n.isascii() and n.isdigit()) or _MOBILE.fullmatch(n)]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(TEXT_PIECES), max_size=14))
def test_the_sql_scan_alone_leaves_no_number_a_detector_would_look_for(
        db, pieces: list[str]) -> None:
    text = "".join(pieces)
    expr = masked_expr(RULES.classes["free_text"], TEXT, RULES, None)
    out = db.execute(f"SELECT {expr} FROM (SELECT $1::text AS v) t", (text,)).fetchone()[0]
    assert numbers_left(out) == [], (text, out)
