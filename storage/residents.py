"""Residents: language, broadcast opt-in and whether Telegram still lets us reach them."""

from __future__ import annotations

import aiosqlite

from storage.clock import Clock, to_text
from storage.models import Resident


def _resident(row: aiosqlite.Row) -> Resident:
    opt_in = row["broadcast_opt_in"]
    return Resident(
        user_id=row["user_id"],
        language=row["language"],
        broadcast_opt_in=None if opt_in is None else bool(opt_in),
        reachable=bool(row["reachable"]),
    )


class ResidentRepo:
    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def get(self, user_id: int) -> Resident | None:
        async with self.conn.execute("SELECT * FROM residents WHERE user_id = ?", (user_id,)) as c:
            row = await c.fetchone()
        return _resident(row) if row else None

    async def ensure(self, user_id: int, language: str) -> Resident:
        """Create the resident on first contact; a returning resident is reachable again."""
        now = to_text(self.clock.now())
        await self.conn.execute(
            "INSERT INTO residents (user_id, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET reachable = 1, updated_at = excluded.updated_at"
            " WHERE reachable = 0",
            (user_id, language, now, now),
        )
        resident = await self.get(user_id)
        assert resident is not None
        return resident

    async def set_language(self, user_id: int, language: str) -> None:
        await self.conn.execute(
            "UPDATE residents SET language = ?, updated_at = ? WHERE user_id = ?",
            (language, to_text(self.clock.now()), user_id),
        )

    async def set_opt_in(self, user_id: int, opt_in: bool) -> None:
        await self.conn.execute(
            "UPDATE residents SET broadcast_opt_in = ?, updated_at = ? WHERE user_id = ?",
            (int(opt_in), to_text(self.clock.now()), user_id),
        )

    async def mark_unreachable(self, user_id: int) -> None:
        await self.conn.execute(
            "UPDATE residents SET reachable = 0, updated_at = ? WHERE user_id = ?",
            (to_text(self.clock.now()), user_id),
        )
