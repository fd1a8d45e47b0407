"""contain.block_principal: the gateway refuses the principal's logins and ends its sessions."""

from __future__ import annotations

from gateway import blocks
from incident.actions.blocklist import BlockListAction


class BlockPrincipal(BlockListAction):
    type = "contain.block_principal"
    field = "principal"
    table = "principal_blocks"
    add = staticmethod(blocks.block_principal)
    remove = staticmethod(blocks.unblock_principal)
