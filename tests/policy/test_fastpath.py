"""The scan-only fast path: when/then table of what may skip the full analysis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy import fastpath
from gateway.policy.fastpath import plain_select

SENSITIVE = frozenset({"customers", "orders", "customer_contacts", "customers_vip"})


@pytest.mark.parametrize(("sql", "fast"), [
    ("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;", True),
    ("SELECT abalance FROM pgbench_accounts WHERE aid = $1", True),
    ("select a.b, c from t a where c in (1, 2) and d <> 's' order by 1 desc limit 3", True),
    ("SELECT * FROM public.items WHERE price >= 1.5 OR note IS NULL", True),
    ("SELECT phone FROM customers", False),                       # classified table
    ("SELECT * FROM public.Customers", False),                    # any case
    ("SELECT name FROM customer_contacts", False),                # view over one
    ("SELECT x FROM t WHERE y IN (SELECT id FROM orders)", False),
    ('SELECT * FROM "customers"', False),                         # quoted name
    ('SELECT U&"d\\0061t" FROM t', False),                        # escaped name
    ("SELECT count(*) FROM t", False),                            # function call
    ("SELECT set_config('privacy.purpose', 'x', false)", False),
    ("SELECT query FROM pg_stat_activity", False),                # system relation
    ("SELECT * FROM information_schema.columns", False),
    ("SELECT a::text FROM t", False),                             # cast
    ("SELECT * INTO copy FROM t", False),                         # creates a table
    ("SELECT 1; SELECT phone FROM customers", False),             # two statements
    ("SELECT x FROM t FOR UPDATE", False),
    ("WITH c AS (SELECT 1) SELECT * FROM c", False),
    ("TABLE customers", False),
    ("SELECT $$customers$$", True),                               # dollar-quoted literal
    ("SELECT 'customers'", True),                                 # a literal is data
])
def test_fast_path(sql: str, fast: bool) -> None:
    assert plain_select(sql, SENSITIVE) is fast


_literals = fastpath._literals
_PIECES = ("SELECT ", "a", "x1", "_", "1", "42", "1e5", "0.5", ".", "'", "''", "'it''s'",
           " ", "=", "-", "--", "/", "/*", "*", '"', "$1", "\\", "?", "é", "(", ")", ",", ";")


@pytest.mark.skipif(_literals is None, reason="compiled literal shape not built")
@settings(max_examples=3000, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=30), long=st.booleans())
def test_the_compiled_literal_shape_is_its_python_twin(pieces: list[str], long: bool) -> None:
    sql = "".join(pieces) * (200 if long else 1)  # sometimes past the longest shaped
    assert fastpath.literal_shape(sql) == fastpath.python_literal_shape(sql)
