"""The sample value generators produce values that pass the real validators."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from gateway.detect.checksums import id_card_valid, luhn_valid
from gateway.sample import generators as gen
from gateway.sample import tables
from gateway.sample.notes import note

DRAWS = 500
SEGMENTS = set(tables.MOBILE_PREFIXES)
PII_IN_TEXT = re.compile(r"\d{11,19}|\d{17}[\dX]|@|\d{3}[ -]\d{4}[ -]\d{4}")


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20240601)


def test_id_numbers_validate_and_carry_region_birth_and_sex(rng: random.Random) -> None:
    for _ in range(DRAWS):
        place, born, male = gen.region(rng), gen.birth_date(rng), rng.random() < 0.5
        number = gen.id_number(rng, place, born, male)
        assert id_card_valid(number), number
        assert number[:6] == place.code
        assert number[6:14] == born.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if male else 0)


def test_unionpay_cards_pass_luhn(rng: random.Random) -> None:
    for _ in range(DRAWS):
        card = gen.unionpay_card(rng)
        assert card.startswith("62") and 16 <= len(card) <= 19, card
        assert luhn_valid(card), card


def test_mobiles_use_assigned_segments(rng: random.Random) -> None:
    for _ in range(DRAWS):
        number = gen.mobile(rng)
        assert re.fullmatch(r"1[3-9]\d{9}", number) and number[:3] in SEGMENTS, number


def test_names_have_one_or_two_character_given_names(rng: random.Random) -> None:
    names = [gen.person_name(rng, rng.random() < 0.5).text for _ in range(DRAWS)]
    assert all(2 <= len(n) <= 4 for n in names)
    assert len({n[0] for n in names}) > 20  # many surnames, not a handful
    assert names.count(max(set(names), key=names.count)) < DRAWS // 20


def test_two_character_surnames_occur() -> None:
    rng = random.Random(1)
    double = {s for s, _, _ in tables.SURNAMES if len(s) == 2}
    names = [gen.person_name(rng, True).text for _ in range(20000)]
    assert any(n[:2] in double for n in names)


def test_addresses_have_structure(rng: random.Random) -> None:
    for _ in range(DRAWS):
        place = gen.region(rng)
        text = gen.address(rng, place)
        assert text.startswith(place.province + place.city + place.district)
        assert "号" in text


def test_birth_dates_are_adults_and_valid(rng: random.Random) -> None:
    for _ in range(DRAWS):
        born = gen.birth_date(rng)
        assert dt.date(1950, 1, 1) <= born <= dt.date(2006, 12, 31)


def test_emails_look_like_addresses(rng: random.Random) -> None:
    for _ in range(DRAWS):
        name = gen.person_name(rng, False)
        address = gen.email(rng, name, gen.birth_date(rng))
        assert re.fullmatch(r"[a-z0-9]+@[a-z0-9.]+\.[a-z]+", address), address


def test_about_a_fifth_of_notes_carry_personal_data(rng: random.Random) -> None:
    notes = [note(rng) for _ in range(2000)]
    share = sum(bool(PII_IN_TEXT.search(n)) for n in notes) / len(notes)
    assert 0.15 < share < 0.25


def test_created_at_spreads_over_five_years(rng: random.Random) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    moments = [gen.created_at(rng, now) for _ in range(DRAWS)]
    assert all(now - dt.timedelta(days=5 * 365) <= m <= now for m in moments)
    older = sum(m < now - dt.timedelta(days=3 * 365) for m in moments) / len(moments)
    assert 0.3 < older < 0.5  # a 3-year retention hides a good share, not all
