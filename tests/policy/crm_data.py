"""A small synthetic CRM (customers, orders) for policy tests, and the secrets it holds.

Deterministic, so a test can compute which clear values must never reach a client under
a purpose without asking the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from gateway.detect.checksums import id_card_check_char, luhn_check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
STREETS = ["建国路", "中山路", "人民大道", "解放路", "长江路"]
CITIES = ["北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "杭州市西湖区"]
TODAY = dt.date.today()  # retention is measured by the database's now()
CANARIES = (900001, 900002)

SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, name text, phone varchar(20), id_no char(18), email text,
    address text, birthday date, member_no text, notes text,
    marketing_opt_in boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id), card_no text,
    total numeric(10, 2), created_at timestamptz NOT NULL
);
CREATE TABLE customers_vip (tier int) INHERITS (customers);
CREATE TABLE people (id bigint, name text);
ALTER TABLE customers INHERIT people;
CREATE VIEW customer_contacts AS SELECT id, name, phone FROM customers;
CREATE FUNCTION customer_phone(bigint) RETURNS text LANGUAGE sql
    AS 'SELECT phone FROM customers WHERE id = $1';
CREATE FUNCTION add_one(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
-- an exact-match look-alike of pg_catalog.left: wins when public comes first on the path
CREATE FUNCTION public.left(character varying, integer) RETURNS text LANGUAGE sql
    AS 'SELECT $1::text';
"""


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    phone: str
    id_no: str
    email: str
    address: str
    birthday: dt.date
    member_no: str
    notes: str
    opt_in: bool
    created_at: dt.datetime
    extra_phone: str  # a second mobile written inside notes (see _written)
    vip: bool = False

    @property
    def expired(self) -> bool:
        """Older than the three-year retention: invisible under every purpose."""
        return self.created_at.date() < TODAY.replace(year=TODAY.year - 3)


@dataclass(frozen=True)
class Order:
    id: int
    customer_id: int
    card_no: str
    total: str


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _id_no(rng: random.Random, born: dt.date) -> str:
    first17 = rng.choice(["110105", "310115", "440106", "440305", "330106"])
    first17 += born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + id_card_check_char(first17)


def _card(rng: random.Random) -> str:
    payload = "622202" + "".join(rng.choice("0123456789") for _ in range(9))
    return payload + luhn_check_digit(payload)


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _written(mobile: str, n: int) -> str:
    """A mobile as people write it in notes: mostly plain, sometimes split by spaces or
    dashes, in full-width digits or behind the country code (only a detector, or a scan
    failing closed, finds those)."""
    split = f"{mobile[:3]}{{0}}{mobile[3:7]}{{0}}{mobile[7:]}"
    return {1: split.format(" "), 2: split.format("-"), 3: mobile.translate(_FULL_WIDTH),
            4: f"+86 {mobile}"}.get(n % 8, mobile)


def customers(count: int = 120) -> list[Customer]:
    rng = random.Random(7)
    out = []
    ids = list(range(1, count + 1)) + list(CANARIES)
    for n, cid in enumerate(ids):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000))
        phone, extra = _mobile(rng), _mobile(rng)
        email = f"user{cid:04d}{rng.choice('abcdefgh')}@example.cn"
        age_days = 2000 if n % 25 == 24 else rng.randrange(900)  # a few past retention
        out.append(Customer(
            id=cid, name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2)),
            phone=phone, id_no=_id_no(rng, born), email=email,
            address=f"{rng.choice(CITIES)}{rng.choice(STREETS)}{rng.randrange(1, 999)}号",
            birthday=born, member_no=f"M{rng.randrange(10**8):08d}",
            notes=f"客户来电，备用电话{_written(extra, n)}，邮箱 {email}", opt_in=n % 3 != 0,
            created_at=dt.datetime.combine(TODAY, dt.time(), dt.UTC) - dt.timedelta(days=age_days),
            extra_phone=extra, vip=n % 40 == 5))
    return out


def orders(people: list[Customer]) -> list[Order]:
    """Two orders per customer (not for customers_vip rows: the key does not see them)."""
    rng = random.Random(11)
    out: list[Order] = []
    for person in people:
        for _ in range(2 if not person.vip else 0):
            total = f"{rng.randrange(100, 99999) / 100:.2f}"
            out.append(Order(len(out) + 1, person.id, _card(rng), total))
    return out


def load(conn) -> None:
    """Create the schema and rows through a psycopg connection (autocommit)."""
    conn.execute(SCHEMA)
    people = customers()
    with conn.cursor() as cur:
        for p in people:
            table = "customers_vip" if p.vip else "customers"
            cur.execute(
                f"INSERT INTO {table} (id, name, phone, id_no, email, address, birthday, "
                "member_no, notes, marketing_opt_in, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (p.id, p.name, p.phone, p.id_no, p.email, p.address, p.birthday, p.member_no,
                 p.notes, p.opt_in, p.created_at))
        for o in orders(people):
            cur.execute("INSERT INTO orders VALUES (%s, %s, %s, %s, '2025-06-01')",
                        (o.id, o.customer_id, o.card_no, o.total))
    conn.execute("ANALYZE")


# Which columns each purpose must never receive in clear (mask, hide or deny).
NOT_CLEAR = {
    "customer_service": ("phone", "id_no", "email", "address", "birthday", "member_no", "card_no"),
    "marketing": ("id_no", "address", "birthday", "member_no", "card_no"),
    "risk_control": ("email", "address", "birthday", "member_no"),
    "account_admin": ("phone", "id_no", "email", "address", "birthday", "member_no", "card_no"),
    None: ("name", "phone", "id_no", "email", "address", "birthday", "member_no", "card_no"),
}
# Columns shown in clear to a purpose, which still must not leak for rows it may not see.
CLEAR = ("name", "phone", "id_no", "email")


def secrets(purpose: str | None) -> set[str]:
    """Every form of every value the purpose must not see."""
    people = customers()
    cards = {o.customer_id: [] for o in orders(people)}
    for o in orders(people):
        cards[o.customer_id].append(o.card_no)
    values: set[str] = set()
    for p in people:
        row = {"name": p.name, "phone": p.phone, "id_no": p.id_no, "email": p.email,
               "address": p.address, "birthday": p.birthday.isoformat(),
               "member_no": p.member_no}
        hidden_row = p.expired or (purpose == "marketing" and not p.opt_in)
        for column, value in row.items():
            if column in NOT_CLEAR[purpose] or (hidden_row and column in CLEAR):
                values.add(value)
        if "phone" in NOT_CLEAR[purpose] or hidden_row:
            values.add(p.extra_phone)  # inside notes: found by the free-text scan
            values.add(p.notes.split("备用电话")[1].split("，")[0])  # as written there
        if "card_no" in NOT_CLEAR[purpose]:
            values.update(cards.get(p.id, ()))
    return {form for value in values for form in forms(value)}


def forms(value: str) -> set[str]:
    """The value and encodings a client could ask the database to compute from it."""
    raw = value.encode()
    out = {value, value[::-1], hashlib.md5(raw).hexdigest(), raw.hex(),
           base64.b64encode(raw).decode()}
    if value[:-1].isdigit() and len(value) >= 13:
        out.add(value[3:-4])  # the part a keep mask hides (long enough not to occur by chance)
    return out
