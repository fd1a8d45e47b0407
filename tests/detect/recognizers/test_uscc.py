"""When/then: CN_USCC."""

import pytest

CASES = [
    ("统一社会信用代码91110000600037341L", ["91110000600037341L"]),
    ("税号：91440300MA5F111110。", ["91440300MA5F111110"]),
    ("52310115MJ49912345", ["52310115MJ49912345"]),
    ("12100000400012345P", ["12100000400012345P"]),
    ("代码91110000600037341K", []),  # wrong check character
    ("代码91110000600037341l", []),  # lower case is not the code's alphabet
    ("代码91110000600037341L2", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_uscc(find_entity, text, expected):
    assert find_entity(text, "CN_USCC") == expected


def test_valid_id_number_is_read_as_id(find_entity):
    assert find_entity("11010519491231002X", "CN_USCC") == []
    assert find_entity("11010519491231002X", "CN_ID_CARD") == ["11010519491231002X"]
