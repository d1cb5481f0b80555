"""Persistence for Porchlight: SQLite through aiosqlite, behind repository functions.

Nothing in this package knows about Telegram objects; it stores and returns dataclasses.
The bottom layer of handlers → bot → storage: only bot/ opens transactions here (handlers/ may
not import this package, see ruff's TID251 in pyproject.toml), so another backend behind the
same repositories is a change of this package and bot/.
"""

from storage.db import Store, Tx, apply_migrations, pending_migrations

__all__ = ["Store", "Tx", "apply_migrations", "pending_migrations"]
