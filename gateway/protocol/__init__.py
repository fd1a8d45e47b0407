"""Sans-IO PostgreSQL v3 protocol: framing, typed messages, error responses. No sockets here."""
