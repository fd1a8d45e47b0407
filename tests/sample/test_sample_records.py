"""Sample rows are deterministic by seed, self-consistent, and include the canaries."""

from __future__ import annotations

import datetime as dt

from gateway.detect.checksums import id_card_valid, luhn_valid
from gateway.sample import records

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first = list(records.customers(7, 200, NOW))
    assert first == list(records.customers(7, 200, NOW))
    assert first != list(records.customers(8, 200, NOW))
    owners = first + records.canaries(NOW)
    assert list(records.orders(7, owners, NOW)) == list(records.orders(7, owners, NOW))


def test_birthday_agrees_with_id_number() -> None:
    for person in records.customers(3, 300, NOW):
        assert id_card_valid(person.id_no)
        assert person.id_no[6:14] == person.birthday.strftime("%Y%m%d")


def test_consent_share_is_about_sixty_percent() -> None:
    people = list(records.customers(5, 2000, NOW))
    share = sum(p.marketing_opt_in for p in people) / len(people)
    assert 0.55 < share < 0.65


def test_canaries_are_fixed_visible_and_have_orders() -> None:
    canaries = records.canaries(NOW)
    assert [c.id for c in canaries] == list(records.CANARY_IDS) == [900001, 900002]
    assert canaries == records.canaries(NOW)
    for canary in canaries:
        assert canary.marketing_opt_in and id_card_valid(canary.id_no)
        assert NOW - canary.created_at < dt.timedelta(days=366)
    orders = list(records.orders(1, canaries, NOW))
    assert {o.customer_id for o in orders} == set(records.CANARY_IDS)


def test_orders_follow_sign_up_and_use_valid_cards() -> None:
    people = {p.id: p for p in records.customers(11, 300, NOW)}
    for order in records.orders(11, list(people.values()), NOW):
        assert people[order.customer_id].created_at <= order.created_at <= NOW
        assert luhn_valid(order.card_no)
        assert float(order.amount) >= 1.0
