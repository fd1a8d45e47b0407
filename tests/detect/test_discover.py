"""`privacy-gateway discover` against a real PostgreSQL database."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from gateway import cli
from gateway.detect.checksums import id_card_check_char, luhn_check_digit
from gateway.detect.discover import Progress

pytestmark = pytest.mark.integration

SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞"
NOTES = ("客户来电咨询退货流程，已解答。", "要求改为周末送货。", "回访满意度：满意。")


def _person(rng: random.Random, i: int) -> tuple:
    first17 = f"110105{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    card = "622202" + f"{rng.randrange(10**12):012d}"
    note = rng.choice(NOTES) if i % 4 else f"客户留新手机号139{i:08d}，请回电。"
    return (i, rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)), f"138{i:08d}",
            first17 + id_card_check_char(first17), f"user{i}@example.com",
            card + luhn_check_digit(card), note, "已发货" if i % 2 else "待付款")


@pytest.fixture(scope="module")
def crm(upstream_dsn: str) -> str:
    rng = random.Random(5)
    with psycopg.connect(upstream_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA crm")
        conn.execute("""CREATE TABLE crm.clients (id int PRIMARY KEY, xm text, phone text,
            "证件 号码" text, mail text, card text, remark text, status text, dob date)""")
        conn.execute("""CREATE TABLE crm.visits (id int PRIMARY KEY,
            client_id int REFERENCES crm.clients (id), note text)""")
        conn.execute("CREATE TABLE crm.products (sku text PRIMARY KEY, price numeric)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO crm.clients VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                            " date '1990-01-01')", [_person(rng, i) for i in range(1, 401)])
            cur.executemany("INSERT INTO crm.visits VALUES (%s, %s, %s)",
                            [(i, 1 + i % 400, f"到店，联系人电话138{i:08d}") for i in range(1, 51)])
            cur.executemany("INSERT INTO crm.products VALUES (%s, %s)",
                            [(f"SKU-{i:06d}", i * 1.5) for i in range(100)])
        conn.execute("ANALYZE")
    return upstream_dsn


def test_discover_proposes_classes_subjects_and_evidence(crm, capsys):
    status = cli.main(["discover", "--upstream", crm, "--sample", "50", "--schema", "crm"])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    tables = yaml.safe_load(out)["tables"]
    assert tables["crm.clients"] == {"subject": "id", "columns": {
        "xm": "person_name", "phone": "mobile", "证件 号码": "id_card", "mail": "email",
        "card": "bank_card", "remark": "free_text", "dob": "birth_date"}}
    assert tables["crm.visits"] == {"subject": "client_id", "columns": {"note": "free_text"}}
    assert "crm.products" not in tables and "no personal information found in: crm.products" in out
    assert "hit rate 100% (50/50)" in out and "scan: CN_MOBILE" in out
    assert "13800000001" not in out  # evidence is counts, never values


def test_rules_file_names_the_classes(crm, capsys, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"classes": {
        "phone_no": {"detect": "CN_MOBILE", "mask": "redact"},
        "note": {"scan": ["CN_MOBILE"]}}}), encoding="utf-8")
    assert cli.main(["discover", "--upstream", crm, "--sample", "20", "--schema", "crm",
                     "--rules", str(rules)]) == 0
    tables = yaml.safe_load(capsys.readouterr().out)["tables"]
    assert tables["crm.clients"]["columns"]["phone"] == "phone_no"
    assert tables["crm.visits"]["columns"]["note"] == "note"


def test_unreachable_upstream_is_one_line(capsys):
    status = cli.main(["discover", "--upstream", "postgresql://nobody@127.0.0.1:1/x"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("privacy-gateway: upstream") and err.count("\n") == 1


def test_bad_arguments_are_one_line(capsys, crm):
    assert cli.main(["discover", "--upstream", crm, "--sample", "0"]) == 1
    assert cli.main(["discover", "--upstream", crm, "--rules", "/nonexistent.yaml"]) == 1
    assert all(line.startswith("privacy-gateway: ")
               for line in capsys.readouterr().err.splitlines())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal():
    quiet, loud = io.StringIO(), _Terminal()
    for stream in (quiet, loud):
        progress = Progress(stream)
        progress.show(1, 2, "public.a")
        progress.show(2, 2, "public.b")
        progress.done()
    assert quiet.getvalue() == ""
    assert "sampling 2/2: public.b" in loud.getvalue() and loud.getvalue().endswith("\r")


@pytest.fixture(scope="module")
def demo_dsn(server_dsn: str) -> Iterator[str]:
    """A database of its own holding the demo's sample customer database."""
    from gateway.sample import load

    name = f"pgw_detect_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_dsn)
    dsn = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    try:
        load(dsn, customers=400)
        yield dsn
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def test_demo_database_gets_the_demo_rules_tables(demo_dsn, capsys):
    rules = Path(__file__).parents[2] / "rules" / "customers.yaml"
    expected = yaml.safe_load(rules.read_text(encoding="utf-8"))["tables"]
    assert cli.main(["discover", "--upstream", demo_dsn, "--sample", "200",
                     "--rules", str(rules)]) == 0
    proposed = yaml.safe_load(capsys.readouterr().out)["tables"]
    assert set(proposed) == set(expected)
    for table, section in expected.items():
        assert proposed[table]["subject"] == section["subject"]
        assert proposed[table]["columns"] == section["columns"]
