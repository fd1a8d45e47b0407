"""Client sessions: the synchronous core (events in, bytes and actions out), its asyncio shell."""
