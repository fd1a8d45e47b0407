"""Metering: per-statement use of personal information, the exposure ledger, leak detectors."""
