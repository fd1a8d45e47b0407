"""When/then: EMAIL_ADDRESS."""

import pytest

CASES = [
    ("发票请发送至邮箱zhangsan@example.com。", ["zhangsan@example.com"]),
    ("邮箱：li.si+crm@mail.example.com.cn", ["li.si+crm@mail.example.com.cn"]),
    ("联系wang_wu@qq.com请回复", ["wang_wu@qq.com"]),
    ("邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ", ["ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ"]),
    ("a..b@example.com", []),
    ("user@localhost", []),
    ("@example.com", []),
    ("价格@5元", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_email(find_entity, text, expected):
    assert find_entity(text, "EMAIL_ADDRESS") == expected
