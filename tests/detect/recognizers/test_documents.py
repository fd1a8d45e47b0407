"""When/then: CN_PASSPORT, CN_HK_MACAU_PERMIT, CN_TAIWAN_PERMIT."""

import pytest

CASES = [
    ("CN_PASSPORT", "护照号E12345678", ["E12345678"]),
    ("CN_PASSPORT", "E12345678", ["E12345678"]),
    ("CN_PASSPORT", "护照EA1234567已过期", ["EA1234567"]),
    ("CN_PASSPORT", "护照G12345678", ["G12345678"]),
    ("CN_PASSPORT", "型号G12345678", []),  # old series: context needed
    ("CN_PASSPORT", "护照E1234567", []),
    ("CN_PASSPORT", "护照E123456789", []),
    ("CN_HK_MACAU_PERMIT", "港澳通行证C12345678", ["C12345678"]),
    ("CN_HK_MACAU_PERMIT", "回乡证H1234567801", ["H1234567801"]),
    ("CN_HK_MACAU_PERMIT", "批次C12345678", []),
    ("CN_TAIWAN_PERMIT", "赴台通行证L12345678", ["L12345678"]),
    ("CN_TAIWAN_PERMIT", "台胞证号码：12345678", ["12345678"]),
    ("CN_TAIWAN_PERMIT", "编号12345678", []),
]


@pytest.mark.parametrize("entity, text, expected", CASES)
def test_documents(find_entity, entity, text, expected):
    assert find_entity(text, entity) == expected
