"""Client sessions: the synchronous core (events in, bytes and actions out) and its asyncio shell."""
