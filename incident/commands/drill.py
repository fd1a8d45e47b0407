"""`incident drill`: run a playbook end to end in a sandbox and file the drill record."""

from __future__ import annotations

COMMANDS: tuple = ()
