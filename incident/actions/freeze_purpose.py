"""contain.freeze_purpose: no session may use the purpose until it is released."""

from __future__ import annotations

from gateway import blocks
from incident.actions.blocklist import BlockListAction


class FreezePurpose(BlockListAction):
    type = "contain.freeze_purpose"
    field = "purpose"
    table = "frozen_purposes"
    add = staticmethod(blocks.freeze_purpose)
    remove = staticmethod(blocks.unfreeze_purpose)
