"""When/then: CN_LICENSE_PLATE."""

import pytest

CASES = [
    ("车牌京A12345违停", ["京A12345"]),
    ("粤B·D12345", ["粤B·D12345"]),  # new energy, small car
    ("沪A12345D", ["沪A12345D"]),  # new energy, large vehicle
    ("苏E1234学", ["苏E1234学"]),
    ("浙AB123C", ["浙AB123C"]),
    ("京ABCDE1", []),  # too few digits
    ("京A1234", []),  # too short
    ("京I12345", []),  # I is not used
]


@pytest.mark.parametrize("text, expected", CASES)
def test_license_plate(find_entity, text, expected):
    assert find_entity(text, "CN_LICENSE_PLATE") == expected
