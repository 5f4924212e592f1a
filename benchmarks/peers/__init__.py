"""Implementations a user would otherwise write or copy, measured beside ascendgan."""
