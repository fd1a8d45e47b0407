"""The compiled hot paths (Cython, built at install when a C compiler is there).

Each has a Python twin that stays the reference: results.Tracker._rewrite_row for
gateway/session/datarows.pyx (policy.freetext.column_masker for its column masks,
policy.freetext.masker for its free-text patterns), results.plain_reply for its
plain_reply(), freetext._residue for its residue(), binary.text_array for
gateway/audit/arrays.pyx, fastpath.python_literal_shape for gateway/policy/literals.pyx,
chain.mac_chain for gateway/audit/macs.pyx, Chain.python_seal_entries and
AuditCopy.python_encode for gateway/audit/batch.pyx, and for gateway/session/lane.pyx the session
core's own short way (Session.client_bytes with Tracker.repeated and replay,
Session.server_bytes with Tracker.settle). PGW_PURE_PYTHON=1 makes the gateway take the
Python twins even where the compiled modules are built (to compare, or to rule them
out).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def load(name: str) -> ModuleType | None:
    """The compiled module `name`, or None when it is not built or not wanted."""
    if os.environ.get("PGW_PURE_PYTHON", "").strip() not in ("", "0"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
