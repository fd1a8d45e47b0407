"""Authentication, TLS and purpose binding as clients see them."""

from __future__ import annotations

import ssl

import asyncpg
import psycopg
import pytest

from gateway.session import connection
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread


def test_wrong_password_and_unknown_principal_look_the_same(gateway) -> None:
    for user, password in (("crm_app", "wrong"), ("nobody", "crm-demo")):
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(conninfo(gateway, user=user, password=password))
        assert f'password authentication failed for user "{user}"' in str(info.value)


def test_disallowed_and_unknown_purpose_refused_at_login(gateway) -> None:
    with pytest.raises(psycopg.OperationalError, match='purpose "marketing" is not allowed'):
        psycopg.connect(conninfo(gateway, purpose="marketing"))
    with pytest.raises(psycopg.OperationalError, match='purpose "sales" is not defined'):
        psycopg.connect(conninfo(gateway, user="risk_analyst", purpose="sales"))


def test_set_show_reset_purpose(gateway) -> None:
    with psycopg.connect(conninfo(gateway, user="risk_analyst", purpose="risk_control"),
                         autocommit=True) as conn:
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("risk_control",)
        conn.execute("SET privacy.purpose = 'customer_service'")
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("customer_service",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="^purpose"):
            conn.execute("SET privacy.purpose = 'marketing'")
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("customer_service",)
        conn.execute("RESET privacy.purpose")  # two purposes: none is bound by default
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("",)


def test_purpose_not_forwarded_and_reserved_settings_refused(gateway) -> None:
    with psycopg.connect(conninfo(gateway), autocommit=True) as conn:
        upstream = conn.execute(
            "SELECT current_setting('privacy.purpose', true)").fetchone()[0]
        assert upstream in (None, "")
        for sql in ("SET privacy.other = 'x'", "SET privacy_gateway.purpose = 'marketing'",
                    "SET LOCAL privacy.purpose = 'customer_service'"):
            with pytest.raises(psycopg.Error):
                conn.execute(sql)
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("customer_service",)


def test_extended_protocol_purpose_statement(gateway) -> None:
    with psycopg.connect(conninfo(gateway, user="risk_analyst", purpose="risk_control"),
                         autocommit=True) as conn:
        conn.execute("SET privacy.purpose = 'customer_service'", prepare=True)
        assert conn.execute("SHOW privacy.purpose", prepare=True).fetchone() == (
            "customer_service",)


def test_tls_and_channel_binding(gateway) -> None:
    with psycopg.connect(conninfo(gateway, sslmode="require")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.pgconn.ssl_in_use
    with psycopg.connect(conninfo(gateway, sslmode="require",
                                  channel_binding="require")) as conn:
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_statements_sent_again_over_tls(gateway) -> None:
    # after their first time they take the compiled lane where it is built: the replies
    # it forwards go through the TLS layer as any other
    with psycopg.connect(conninfo(gateway, sslmode="require"), autocommit=True) as conn:
        for value in range(8):
            assert conn.execute("SELECT %s::int * 2", (value,), prepare=True).fetchone() \
                == (value * 2,)
            assert conn.execute(f"SELECT {value} + 1 AS plain").fetchone() == (value + 1,)
        assert conn.info.pgconn.ssl_in_use
        assert gateway.call(_lane_of_one, gateway.gateway.listener) == \
            (connection.lanes is not None)


async def _lane_of_one(listener) -> bool:
    return any(client.lane is not None and client.tls is not None
               for client in listener.clients)


def test_wrong_database_refused(gateway) -> None:
    with pytest.raises(psycopg.OperationalError, match="not served by this gateway"):
        psycopg.connect(conninfo(gateway, dbname="postgres"))


@pytest.fixture
def tls_only(sample_dsn: str, tls_files: tuple[str, str]):
    cert, key = tls_files
    thread = GatewayThread({"upstream": sample_dsn, "rules": str(RULES),
                            "tls": {"cert": cert, "key": key, "client": "require"}}).start()
    yield thread
    thread.stop()


def test_tls_required_refuses_plaintext(tls_only) -> None:
    with pytest.raises(psycopg.OperationalError, match="only TLS connections"):
        psycopg.connect(conninfo(tls_only, sslmode="disable"))
    with psycopg.connect(conninfo(tls_only, sslmode="require")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_asyncpg_over_tls(tls_only) -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    dbname = psycopg.conninfo.conninfo_to_dict(tls_only.config.upstream)["dbname"]
    conn = await asyncpg.connect(host=tls_only.host, port=tls_only.port, user="crm_app",
                                 password="crm-demo", database=dbname, ssl=context)
    try:
        assert await conn.fetchval("SELECT 40 + $1::int", 2) == 42
    finally:
        await conn.close()


def test_direct_tls(tls_only) -> None:
    if psycopg.pq.version() < 170000:
        pytest.skip("libpq older than 17 has no sslnegotiation=direct")
    with psycopg.connect(conninfo(tls_only, sslmode="require",
                                  sslnegotiation="direct")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_purpose_change_invalidates_prepared_statements_and_waits_for_transactions(gateway):
    with psycopg.connect(conninfo(gateway, user="risk_analyst", purpose="risk_control")) as conn:
        pgconn = conn.pgconn
        sql = b"SELECT phone FROM customers WHERE id = $1"
        assert pgconn.prepare(b"s1", sql).status == psycopg.pq.ExecStatus.COMMAND_OK
        clear = pgconn.exec_prepared(b"s1", [b"900001"]).get_value(0, 0)
        assert b"*" not in clear  # risk control sees the phone in clear
        conn.execute("SELECT 1")  # opens a transaction (psycopg is not in autocommit)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="inside a transaction"):
            conn.execute("SET privacy.purpose = 'customer_service'")
        conn.rollback()
        conn.autocommit = True
        conn.execute("SET privacy.purpose = 'customer_service'")
        result = pgconn.exec_prepared(b"s1", [b"900001"])
        assert result.status == psycopg.pq.ExecStatus.FATAL_ERROR
        assert b"prepare it again" in result.error_message
        again = pgconn.prepare(b"s2", sql)
        assert again.status == psycopg.pq.ExecStatus.COMMAND_OK
        assert b"*" in pgconn.exec_prepared(b"s2", [b"900001"]).get_value(0, 0)


def test_purpose_change_closes_held_cursors(gateway):
    with psycopg.connect(conninfo(gateway, user="risk_analyst", purpose="risk_control"),
                         autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("DECLARE held CURSOR WITH HOLD FOR SELECT phone FROM customers "
                     "WHERE id = 900001")
        conn.execute("COMMIT")
        cur = conn.execute("SET privacy.purpose = 'customer_service'")
        assert cur.statusmessage == "SET"
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH ALL FROM held")
