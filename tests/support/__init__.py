"""Helpers shared by several test areas: real servers and processes tests talk to."""
