"""When/then: IP_ADDRESS."""

import pytest

CASES = [
    ("登录IP 192.168.1.20异常", ["192.168.1.20"]),
    ("来自10.0.0.1的访问", ["10.0.0.1"]),
    ("地址2001:db8::8a2e:370:7334", ["2001:db8::8a2e:370:7334"]),
    ("来源fe80::1", ["fe80::1"]),
    ("256.1.1.1", []),
    ("版本1.2.3.4", []),  # reads as a version without context
    ("时间12:30:45", []),
    ("1.2.3.4.5", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_ip_address(find_entity, text, expected):
    assert find_entity(text, "IP_ADDRESS") == expected
