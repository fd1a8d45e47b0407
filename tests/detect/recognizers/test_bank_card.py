"""When/then: CN_BANK_CARD."""

import pytest

CASES = [
    ("退款请打到卡号6222021234567890128", ["6222021234567890128"]),
    ("6217001234567890122", ["6217001234567890122"]),  # UnionPay: no context needed
    ("卡号 6222 0212 3456 7890 128", ["6222 0212 3456 7890 128"]),
    ("卡号6228-4800-1234-5671", ["6228-4800-1234-5671"]),
    ("卡号６２２８４８００１２３４５６７１", ["６２２８４８００１２３４５６７１"]),
    ("信用卡4305751234567891", ["4305751234567891"]),  # Visa with context
    ("编号4305751234567891", []),  # Visa without context
    ("卡号6222021234567890127", []),  # Luhn fails
    ("卡号622202123456789", []),  # 15 digits
    ("卡号62220212345678901280", []),  # 20 digits
    ("流水号2023110512345678", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_bank_card(find_entity, text, expected):
    assert find_entity(text, "CN_BANK_CARD") == expected


def test_id_number_is_not_a_card(find_entity):
    # 620102198506123455 is a valid ID number (Gansu, 62) and may pass Luhn as well.
    assert find_entity("卡号620102198506123455", "CN_BANK_CARD") == []
    assert find_entity("卡号620102198506123455", "CN_ID_CARD") == ["620102198506123455"]
