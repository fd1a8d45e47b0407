"""CN_BANK_CARD: payment card numbers, 16-19 digits with a Luhn check; UnionPay (62) weighted up."""

from __future__ import annotations

from gateway.detect.checksums import luhn_valid
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.recognizers.id_card import plausible_id
from gateway.detect.text import NUMBER_END, NUMBER_START, strip_separators

# Four digits, three more groups of four, then up to three digits: 16-19 digits in all,
# written plain or in groups of four.
_BODY = r"(?:[ -]?[0-9]{4}){3}(?:[ -]?[0-9]{1,3})?"


class BankCardRecognizer(ChineseRecognizer):
    """UnionPay cards on their own; other schemes (Visa, Mastercard, JCB...) need context."""

    ENTITY = "CN_BANK_CARD"
    PATTERNS = (
        ("unionpay", NUMBER_START + r"62[0-9]{2}" + _BODY + NUMBER_END, 0.85),
        ("card", NUMBER_START + r"(?:3[457][0-9]{2}|4[0-9]{3}|5[1-5][0-9]{2}|6[0135-9][0-9]{2})"
                 + _BODY + NUMBER_END, 0.4),
    )
    CONTEXT = ("银行卡", "卡号", "借记卡", "信用卡", "储蓄卡", "账号", "帐号", "账户", "开户",
               "收款", "打款", "退款", "card", "account", "yhk", "kh")
    PREFILTER = r"[3-6][0-9]{3}(?:[ -]?[0-9]{4}){3}"

    def valid(self, value: str) -> bool:
        digits = strip_separators(value)
        # An 18-digit number shaped like an ID number is a mistyped ID, not a card.
        return 16 <= len(digits) <= 19 and luhn_valid(digits) and not plausible_id(digits)
