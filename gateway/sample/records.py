"""Sample rows: ordinary customers, the two canary customers, and their orders."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import astuple, dataclass, replace

from gateway.sample import generators as gen
from gateway.sample.notes import note

# Honeytoken customers: nobody has a reason to read them, so any read is a leak signal.
CANARY_IDS: tuple[int, ...] = (900001, 900002)
MARKETING_OPT_IN_SHARE = 0.6


@dataclass(frozen=True)
class Customer:
    """One row of public.customers, fields in column order."""

    id: int
    name: str
    phone: str
    id_no: str
    email: str
    address: str
    birthday: dt.date
    notes: str
    marketing_opt_in: bool
    created_at: dt.datetime

    def row(self) -> tuple:
        """The values in column order, for COPY."""
        return astuple(self)


@dataclass(frozen=True)
class Order:
    """One row of public.orders, fields in column order."""

    id: int
    customer_id: int
    card_no: str
    amount: str
    created_at: dt.datetime
    status: str

    def row(self) -> tuple:
        """The values in column order, for COPY."""
        return astuple(self)


def customer(rng: random.Random, id_: int, now: dt.datetime) -> Customer:
    """A customer whose birthday, ID number and e-mail agree with each other."""
    male = rng.random() < 0.5
    name = gen.person_name(rng, male)
    born = gen.birth_date(rng)
    place = gen.region(rng)
    return Customer(
        id=id_,
        name=name.text,
        phone=gen.mobile(rng),
        id_no=gen.id_number(rng, place, born, male),
        email=gen.email(rng, name, born),
        address=gen.address(rng, place),
        birthday=born,
        notes=note(rng),
        marketing_opt_in=rng.random() < MARKETING_OPT_IN_SHARE,
        created_at=gen.created_at(rng, now),
    )


def customers(seed: int, count: int, now: dt.datetime) -> Iterator[Customer]:
    """`count` ordinary customers with ids 1..count, the same for the same seed and now."""
    rng = random.Random(seed)
    for id_ in range(1, count + 1):
        yield customer(rng, id_, now)


def canaries(now: dt.datetime) -> list[Customer]:
    """The canary customers: ordinary-looking, recent, consenting, so every purpose sees them."""
    found = []
    for id_ in CANARY_IDS:
        rng = random.Random(f"canary-{id_}")  # fixed, whatever seed the load uses
        drawn = customer(rng, id_, now)
        recent = gen.created_at(rng, now, years=1)  # well inside any retention period
        found.append(replace(drawn, marketing_opt_in=True, created_at=recent))
    return found


def orders(seed: int, owners: list[Customer], now: dt.datetime) -> Iterator[Order]:
    """Zero to four orders per customer, each after the customer's sign-up."""
    rng = random.Random(f"orders-{seed}")
    next_id = 1
    for owner in owners:
        card = gen.unionpay_card(rng)
        count = rng.choice((0, 1, 1, 2, 2, 3, 4))
        if owner.id in CANARY_IDS:
            count = max(count, 1)  # a canary's order rows are bait too
        for _ in range(count):
            # A second card now and then: customers do pay with more than one card.
            card = gen.unionpay_card(rng) if rng.random() < 0.2 else card
            span = max(int((now - owner.created_at).total_seconds()), 1)
            placed = owner.created_at + dt.timedelta(seconds=rng.randrange(span))
            yield Order(next_id, owner.id, card, gen.amount(rng), placed, gen.order_status(rng))
            next_id += 1

