"""Floorhand's client core: local replica, outbox, sync engine, API client, credentials (no Qt)."""
