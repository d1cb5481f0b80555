"""Persistence for Porchlight: SQLite through aiosqlite, behind repository functions.

Nothing in this package knows about Telegram objects; it stores and returns dataclasses.
"""

from storage.db import Store, Tx, apply_migrations, pending_migrations

__all__ = ["Store", "Tx", "apply_migrations", "pending_migrations"]
