"""Key/value rows behind python-telegram-bot's persistence (drafts and conversation states)."""

from __future__ import annotations

from storage.sql import Connection


class PersistenceRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def load(self, kind: str) -> dict[str, str]:
        async with self.conn.execute(
            "SELECT key, data FROM ptb_persistence WHERE kind = ?", (kind,)
        ) as c:
            return {row["key"]: row["data"] for row in await c.fetchall()}

    async def load_rows(self, rows: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Some rows by (kind, key), in one statement: an update's draft and conversations."""
        if not rows:
            return {}
        where = " OR ".join("(kind = ? AND key = ?)" for _ in rows)
        args = [part for row in rows for part in row]
        async with self.conn.execute(
            f"SELECT kind, key, data FROM ptb_persistence WHERE {where}", args
        ) as c:
            return {(row["kind"], row["key"]): row["data"] for row in await c.fetchall()}

    async def save(self, kind: str, key: str, data: str, version: int = 0) -> None:
        """Write a row unless a newer version is there (written after a later update)."""
        await self.conn.execute(
            "INSERT INTO ptb_persistence (kind, key, data, version) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data,"
            " version = excluded.version WHERE ptb_persistence.version <= excluded.version",
            (kind, key, data, version),
        )

    async def delete(self, kind: str, key: str, version: int | None = None) -> None:
        """Delete a row (with `version`: unless a newer version is there)."""
        newer = "" if version is None else " AND version <= ?"
        await self.conn.execute(
            f"DELETE FROM ptb_persistence WHERE kind = ? AND key = ?{newer}",
            (kind, key) if version is None else (kind, key, version),
        )
