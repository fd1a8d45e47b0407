"""When/then: CN_PERSON_NAME, and the cheap check for name columns."""

import pytest

from gateway.detect.recognizers.person_name import looks_like_name

CASES = [
    ("客户张三请回电", ["张三"]),
    ("收件人：欧阳娜娜", ["欧阳娜娜"]),
    ("联系人王伟明天到店", ["王伟明"]),
    ("请转告李静女士", ["李静"]),
    ("姓名 陈志强", ["陈志强"]),
    ("客户来电咨询退货", []),
    ("客户要求退款", []),
    ("王府井大街", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_person_name(find_entity, text, expected):
    assert find_entity(text, "CN_PERSON_NAME") == expected


@pytest.mark.parametrize("value, expected", [
    ("张三", True), ("欧阳娜娜", True), ("诸葛亮", True), (" 李静 ", True),
    ("张", False), ("客户", False), ("北京市", False), ("Zhang San", False),
    ("张三丰收了", False),
])
def test_looks_like_name(value, expected):
    assert looks_like_name(value) is expected
