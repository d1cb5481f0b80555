"""Residents: language, broadcast opt-in and whether Telegram still lets us reach them."""

from __future__ import annotations

from storage.clock import Clock, to_text
from storage.models import TOPICS, Resident
from storage.sql import Connection, Row


def _resident(row: Row) -> Resident:
    opt_in = row["broadcast_opt_in"]
    return Resident(
        user_id=row["user_id"],
        language=row["language"],
        broadcast_opt_in=None if opt_in is None else bool(opt_in),
        reachable=bool(row["reachable"]),
        subscriptions=frozenset(topic for topic in TOPICS if row[f"sub_{topic}"]),
    )


class ResidentRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
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
            " WHERE residents.reachable = 0",
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
        """The /start answer (and /subscribe, /unsubscribe): every topic at once."""
        await self.conn.execute(
            "UPDATE residents SET broadcast_opt_in = ?, sub_safety = ?, sub_events = ?,"
            " sub_alerts = ?, updated_at = ? WHERE user_id = ?",
            (
                int(opt_in),
                int(opt_in),
                int(opt_in),
                int(opt_in),
                to_text(self.clock.now()),
                user_id,
            ),
        )

    async def set_subscription(self, user_id: int, topic: str, on: bool) -> None:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        await self.conn.execute(
            f"UPDATE residents SET sub_{topic} = ?, updated_at = ? WHERE user_id = ?",
            (int(on), to_text(self.clock.now()), user_id),
        )

    async def subscribers(self, topic: str) -> list[Resident]:
        """Reachable residents subscribed to `topic`."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        async with self.conn.execute(
            f"SELECT * FROM residents WHERE sub_{topic} = 1 AND reachable = 1 ORDER BY user_id"
        ) as c:
            return [_resident(row) for row in await c.fetchall()]

    async def count_subscribers(self, topic: str) -> int:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        async with self.conn.execute(
            f"SELECT count(*) FROM residents WHERE sub_{topic} = 1 AND reachable = 1"
        ) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def mark_unreachable(self, user_id: int) -> None:
        """Telegram refused (blocked the bot): no more deliveries, no more subscriptions."""
        await self.conn.execute(
            "UPDATE residents SET reachable = 0, sub_safety = 0, sub_events = 0, sub_alerts = 0,"
            " updated_at = ? WHERE user_id = ?",
            (to_text(self.clock.now()), user_id),
        )
