"""Value generators for the sample customer database; each draws only from the given rng."""

from __future__ import annotations

import datetime as dt
import random
from itertools import accumulate
from typing import NamedTuple

from gateway.detect.checksums import id_card_check_char, luhn_check_digit
from gateway.sample import tables
from gateway.sample.tables import Region

# Birth years of adult customers; fixed so that a seed always gives the same people.
_BORN_FIRST = dt.date(1950, 1, 1)
_BORN_LAST = dt.date(2006, 12, 31)
_SURNAME_CUM = list(accumulate(w for _, _, w in tables.SURNAMES))
_STATUS_CUM = list(accumulate(w for _, w in tables.ORDER_STATUSES))


class Name(NamedTuple):
    """A person's name in characters and in pinyin (for e-mail addresses)."""

    text: str
    pinyin: str


def person_name(rng: random.Random, male: bool) -> Name:
    """A weighted common surname and a given name of one or two characters."""
    surname, surname_py, _ = rng.choices(tables.SURNAMES, cum_weights=_SURNAME_CUM)[0]
    pool = tables.GIVEN_MALE if male else tables.GIVEN_FEMALE
    given = rng.sample(pool, 1 if rng.random() < 0.35 else 2)
    return Name(surname + "".join(c for c, _ in given), surname_py + "".join(p for _, p in given))


def birth_date(rng: random.Random) -> dt.date:
    """A birth date of an adult customer."""
    span = (_BORN_LAST - _BORN_FIRST).days
    return _BORN_FIRST + dt.timedelta(days=rng.randrange(span + 1))


def region(rng: random.Random) -> Region:
    """A county-level region (its code starts ID numbers, its names start addresses)."""
    return rng.choice(tables.REGIONS)


def id_number(rng: random.Random, place: Region, born: dt.date, male: bool) -> str:
    """An 18-digit resident ID number: region, birth date, sequence (odd = male), check."""
    sequence = rng.randrange(500) * 2 + (1 if male else 0)
    first17 = f"{place.code}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_card_check_char(first17)


def mobile(rng: random.Random) -> str:
    """An 11-digit mobile number in an assigned 1[3-9]x segment."""
    return rng.choice(tables.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def unionpay_card(rng: random.Random) -> str:
    """A UnionPay card number (62 BIN, 16-19 digits) with a correct Luhn check digit."""
    bin_, lengths = rng.choice(tables.UNIONPAY_BINS)
    length = rng.choice(lengths)
    body = bin_ + "".join(str(rng.randrange(10)) for _ in range(length - len(bin_) - 1))
    return body + luhn_check_digit(body)


def address(rng: random.Random, place: Region) -> str:
    """A street address: province, city, district, street, number and often the flat."""
    head = f"{place.province}{place.city}{place.district}{rng.choice(tables.STREETS)}"
    number = f"{rng.randint(1, 999)}号"
    kind = rng.random()
    if kind < 0.6:
        building, unit = rng.randint(1, 30), rng.randint(1, 6)
        room = rng.randint(1, 33) * 100 + rng.randint(1, 4)
        return f"{head}{number}{building}栋{unit}单元{room}室"
    if kind < 0.85:
        return head + number
    return f"{head}{number}{rng.choice('东南西北')}座{rng.randint(2, 40)}层"


def email(rng: random.Random, name: Name, born: dt.date) -> str:
    """An e-mail address; QQ mailboxes are numeric, others mostly derive from the name."""
    domain = rng.choice(tables.EMAIL_DOMAINS)
    if domain == "qq.com":
        return f"{rng.randint(10**6, 4 * 10**9)}@{domain}"
    style = rng.random()
    if style < 0.4:
        local = name.pinyin
    elif style < 0.7:
        local = f"{name.pinyin}{born:%Y}"
    else:
        local = f"{name.pinyin}{rng.randint(1, 999)}"
    return f"{local}@{domain}"


def created_at(rng: random.Random, now: dt.datetime, years: int = 5) -> dt.datetime:
    """A moment within the last `years` years before `now`, to the second."""
    seconds = rng.randrange(years * 365 * 86400)
    return (now - dt.timedelta(seconds=seconds)).replace(microsecond=0)


def order_status(rng: random.Random) -> str:
    """An order status, weighted like a shop's order book."""
    return rng.choices([s for s, _ in tables.ORDER_STATUSES], cum_weights=_STATUS_CUM)[0]


def amount(rng: random.Random) -> str:
    """An order amount in yuan with two decimals, as text for numeric columns."""
    cents = int(rng.lognormvariate(9.5, 1.0))
    return f"{max(cents, 100) / 100:.2f}"
