"""Check digits of Chinese identifiers: one place for detection, validation and sample data."""

from __future__ import annotations

import datetime as _dt

# GB 11643-1999: weights 2^(17-i) mod 11 and the ISO 7064 MOD 11-2 check characters.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100-2015: the 31-character alphabet (no I, O, Z, S, V) and position weights.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_card_check_char(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are given."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_card_valid(value: str) -> bool:
    """True for an 18-character ID number with a correct check character and birth date."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if value[17].upper() != id_card_check_char(value[:17]):
        return False
    return birth_date_valid(value[6:14])


def birth_date_valid(yyyymmdd: str) -> bool:
    """True when the eight digits are a real date between 1900 and today."""
    try:
        born = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= _dt.date.today()


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn (mod 10) test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True when the digit string passes the Luhn test."""
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def uscc_check_char(first17: str) -> str | None:
    """The 18th character of a unified social credit code, or None for a bad alphabet."""
    try:
        pairs = zip(first17, _USCC_WEIGHTS, strict=True)
        total = sum(_USCC_ALPHABET.index(c) * w for c, w in pairs)
    except ValueError:
        return None
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_valid(value: str) -> bool:
    """True for an 18-character unified social credit code with a correct check character."""
    value = value.upper()
    return len(value) == 18 and uscc_check_char(value[:17]) == value[17]
