"""Rules reload: a bad file keeps the old rules serving; a good one takes effect at once."""

from __future__ import annotations

import psycopg
import pytest

from gateway.metrics import metric
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread


def test_reload_keeps_old_rules_on_a_bad_file_and_applies_a_good_one(sample_dsn, tmp_path):
    rules = tmp_path / "rules.yaml"
    original = RULES.read_text(encoding="utf-8")
    rules.write_text(original, encoding="utf-8")
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(rules)}).start()
    try:
        failed_before = metric("rules_reloads").labels(outcome="failed")._value.get()
        rules.write_text(original + "\nunknown_key: 1\n", encoding="utf-8")
        assert gw.call(gw.gateway.reload) is False
        assert metric("rules_reloads").labels(outcome="failed")._value.get() == failed_before + 1
        with psycopg.connect(conninfo(gw)) as conn:  # still served, still masked
            phone = conn.execute("SELECT phone FROM customers LIMIT 1").fetchone()[0]
            assert "*" in phone
        # customer service may now see mobiles in clear
        rules.write_text(original.replace("show: [person_name]", "show: [person_name, mobile]",
                                          1), encoding="utf-8")
        assert gw.call(gw.gateway.reload) is True
        with psycopg.connect(conninfo(gw)) as conn:
            phone = conn.execute("SELECT phone FROM customers LIMIT 1").fetchone()[0]
            assert "*" not in phone
    finally:
        gw.stop()


def test_bad_rules_at_start_is_a_clear_error(sample_dsn, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nclasses: {x: {mask: nonsense}}\n", encoding="utf-8")
    from gateway.app import StartupError

    with pytest.raises(StartupError, match="rules.yaml:2"):
        GatewayThread({"upstream": sample_dsn, "rules": str(rules)}).start()
