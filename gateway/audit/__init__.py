"""Tamper-evident audit log: records, MAC chain, background writer, spool and verifier."""
