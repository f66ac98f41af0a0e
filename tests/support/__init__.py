"""Helpers that start the real services the tests talk to (never the shared ports)."""
