"""The demo's sample customer database: deterministic fake customers, orders and canaries."""

from gateway.sample.credentials import DEMO_PRINCIPALS
from gateway.sample.load import load
from gateway.sample.records import CANARY_IDS

__all__ = ["CANARY_IDS", "DEMO_PRINCIPALS", "load"]
