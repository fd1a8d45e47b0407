"""Free-text masking: findings masked in place, fast path, cache, chunks, bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.detect.registry import UnknownEntity
from gateway.detect.scan import SEGMENT_CHARS, TextScanner
from gateway.detect.stream import scan_cells


def keep(first: int, last: int):
    def mask(value: str) -> str:
        return value[:first] + "*" * (len(value) - first - last) + value[len(value) - last:]
    return mask


MASKS = {"CN_MOBILE": keep(3, 4), "CN_ID_CARD": keep(6, 4), "CN_BANK_CARD": keep(0, 4),
         "EMAIL_ADDRESS": lambda v: v[0] + "***" + v[v.index("@"):]}
SCAN = list(MASKS)


@pytest.fixture
def scanner() -> TextScanner:
    return TextScanner(SCAN, MASKS)


@pytest.mark.parametrize("value, expected", [
    ("客户手机13812345678请回电", "客户手机138****5678请回电"),
    ("手机＋８６ １３８１２３４５６７８", "手机＋８６ １３８****５６７８"),
    ("身份证11010519491231002X，发票发到zhangsan@example.com",
     "身份证110105********002X，发票发到z***@example.com"),
    ("卡号6222021234567890128和13912345678", "卡号***************0128和139****5678"),
    ("客户来电咨询退货流程，已解答。", None),
    ("订单号20231105123456789012，金额138.00元", None),
    ("", None),
])
def test_scan_masks_findings_in_place(scanner, value, expected):
    assert scanner.scan(value) == expected


def test_only_the_listed_entities_are_masked():
    scanner = TextScanner(["CN_MOBILE"], MASKS)
    text = "手机13812345678，邮箱a@example.com"
    assert scanner.scan(text) == "手机138****5678，邮箱a@example.com"


def test_every_entity_needs_a_known_name_and_a_mask():
    with pytest.raises(ValueError, match="no mask"):
        TextScanner(["CN_MOBILE", "CN_ADDRESS"], MASKS)
    with pytest.raises(UnknownEntity):
        TextScanner(["CN_PHONE"], {"CN_PHONE": keep(0, 0)})


def test_fast_path_and_cache(scanner):
    values = ["已解答。"] * 5 + ["手机13812345678"] * 3
    assert scanner.scan_many(values + [None]) == [None] * 5 + ["手机138****5678"] * 3 + [None]
    assert scanner.stats["cells"] == 8
    assert scanner.stats["candidates"] == 3
    assert scanner.stats["cache_hits"] == 2
    assert scanner.stats["CN_MOBILE"] == 3 and scanner.stats["masked"] == 3


def test_cache_is_bounded():
    scanner = TextScanner(SCAN, MASKS, cache_size=10)
    scanner.scan_many([f"手机138{i:08d}" for i in range(50)])
    assert len(scanner._cache) == 10


def test_chunks_bound_the_work_and_line_up(scanner):
    values = [f"第{i}条：手机139{i:08d}" if i % 7 == 0 else f"第{i}条" for i in range(1000)]
    values[500] = "x" * 200_000 + "手机13812345678"
    pieces = list(TextScanner(SCAN, MASKS, chunk_cells=64, chunk_chars=4096).chunks(values))
    assert max(len(p) for p in pieces) <= 64
    assert [v for p in pieces for v in p] == scanner.scan_many(values)
    assert [v for p in pieces for v in p][500].endswith("手机138****5678")


async def test_scan_cells_for_asyncio(scanner):
    values = ["手机13812345678", None, "无"] * 300
    assert await scan_cells(scanner, values) == scanner.scan_many(values)


def test_bytes_with_invalid_utf8_pass_through(scanner):
    raw = b"\xff\xfe\x00junk " + "手机13812345678".encode() + b" \xc3("
    assert scanner.scan_bytes(raw) == b"\xff\xfe\x00junk " + "手机138****5678".encode() + b" \xc3("
    assert scanner.scan_bytes(b"\x00\x01\x02") is None


@pytest.mark.parametrize("offset", [SEGMENT_CHARS - 6, SEGMENT_CHARS - 400, 3 * SEGMENT_CHARS])
def test_long_text_finds_values_across_segment_cuts(scanner, offset):
    text = "无" * offset + "13812345678" + "，" * 20_000
    masked = scanner.scan(text)
    assert masked is not None and masked[offset:offset + 11] == "138****5678"


def test_scanner_entities_must_be_in_its_detector():
    from gateway.detect.analyzer import Detector

    with pytest.raises(ValueError, match="does not look for"):
        TextScanner(["CN_MOBILE", "CN_ID_CARD"], MASKS, detector=Detector(["CN_MOBILE"]))


ALPHABET = ("0123456789０１２３４５６７８９ -+@.xX"
            "客户手机号码身份证卡邮箱北京市朝阳区路号，。abc\x00\udc80")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80))
def test_masking_keeps_everything_outside_findings(text):
    scanner = TextScanner(SCAN, {e: (lambda v: "#" * len(v)) for e in SCAN})
    masked = scanner.scan(text)
    if masked is None:
        return
    assert len(masked) == len(text)
    assert all(m == t or m == "#" for m, t in zip(masked, text, strict=True))
