"""rules/customers.yaml fits the sample schema, and its verifiers match the demo passwords."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import scramp

from gateway.policy.rules import load_rules
from gateway.sample import schema

RULES = Path(__file__).parents[2] / "rules" / "customers.yaml"
# The demo credentials documented in rules/README.md.
DEMO_PASSWORDS = {"crm_app": "crm-demo", "marketing_tool": "marketing-demo",
                  "risk_analyst": "risk-demo"}


def _auth_info(verifier: str) -> tuple[bytes, bytes, bytes, int]:
    """Split a PostgreSQL-format SCRAM verifier into scramp's auth info."""
    mechanism, rest = verifier.split("$", 1)
    assert mechanism == "SCRAM-SHA-256"
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored, server = keys.split(":")
    decode = base64.b64decode
    return decode(salt), decode(stored), decode(server), int(iterations)


def _authenticates(verifier: str, user: str, password: str) -> bool:
    server = scramp.ScramMechanism("SCRAM-SHA-256").make_server(lambda _: _auth_info(verifier))
    client = scramp.ScramClient(["SCRAM-SHA-256"], user, password)
    server.set_client_first(client.get_client_first())
    client.set_server_first(server.get_server_first())
    try:
        server.set_client_final(client.get_client_final())
    except scramp.ScramException:
        return False
    client.set_server_final(server.get_server_final())
    return True


@pytest.mark.parametrize("principal", sorted(DEMO_PASSWORDS))
def test_verifier_accepts_documented_demo_password_only(principal: str) -> None:
    verifier = load_rules(RULES).principals[principal].password
    assert _authenticates(verifier, principal, DEMO_PASSWORDS[principal])
    assert not _authenticates(verifier, principal, DEMO_PASSWORDS[principal] + "x")


def test_rules_name_only_sample_columns() -> None:
    rules = load_rules(RULES)
    known = {"public.customers": set(schema.CUSTOMER_COLUMNS),
             "public.orders": set(schema.ORDER_COLUMNS)}
    for name, table in rules.tables.items():
        assert set(table.columns) <= known[name]
        assert table.subject in known[name]
