"""When/then: CN_LANDLINE."""

import pytest

CASES = [
    ("办公电话010-62345678", ["010-62345678"]),
    ("座机(0755)88881234转", ["(0755)88881234"]),
    ("传真 0571-8765432", ["0571-8765432"]),
    ("总机021-6123-4567-801", ["021-6123-4567-801"]),
    ("+86 10 62345678", ["10 62345678"]),
    ("座机01062345678", ["01062345678"]),  # no separator: context needed
    ("编号01062345678", []),
    ("010-1234567", []),  # Beijing numbers have eight digits
    ("2023-11-05 10:20", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_landline(find_entity, text, expected):
    assert find_entity(text, "CN_LANDLINE") == expected
