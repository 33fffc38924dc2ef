"""Adapters: pure functions that turn fetched bytes and a base URL into RawEntry values."""
