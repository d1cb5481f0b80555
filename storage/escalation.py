"""Escalation rounds of urgent tips, work done once a day, and the officers' overview of open
tips (the /tips list, the stale list, a tip's audit trail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.clock import Clock, from_text, to_text
from storage.models import AuditEntry, Tip
from storage.sql import Connection
from storage.tips import TipRepo

OPEN_STATUSES = ("new", "acknowledged", "taken")


@dataclass(frozen=True)
class Unanswered:
    """An urgent tip still 'new': how many rounds it had, and when the last one (or the tip)
    was."""

    tip_id: int
    rounds: int
    since: datetime


class EscalationRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def unanswered(self, below: int) -> list[Unanswered]:
        """Urgent tips still 'new' that had fewer than `below` rounds (a merged tip is its
        primary's business)."""
        async with self.conn.execute(
            "SELECT t.id, t.created_at, coalesce(max(e.round), 0) AS rounds,"
            " max(e.created_at) AS last_at FROM tips t"
            " LEFT JOIN escalations e ON e.tip_id = t.id"
            " WHERE t.urgent = 1 AND t.status = 'new' AND t.merged_into IS NULL"
            " GROUP BY t.id HAVING coalesce(max(e.round), 0) < ?"
            " ORDER BY t.id",
            (below,),
        ) as c:
            rows = await c.fetchall()
        return [
            Unanswered(row["id"], row["rounds"], from_text(row["last_at"] or row["created_at"]))
            for row in rows
        ]

    async def claim(self, tip_id: int, round_: int, pinned: int | None = None) -> bool:
        """Take round `round_` of a tip (the first pins message `pinned`, the card); False
        when it was taken already."""
        cursor = await self.conn.execute(
            "INSERT INTO escalations (tip_id, round, created_at, pinned_message_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (tip_id, round_, to_text(self.clock.now()), pinned),
        )
        return cursor.rowcount == 1

    async def pinned_message(self, tip_id: int) -> int | None:
        async with self.conn.execute(
            "SELECT pinned_message_id FROM escalations WHERE tip_id = ? AND round = 1", (tip_id,)
        ) as c:
            row = await c.fetchone()
        return row[0] if row else None

    async def pins_to_release(self) -> list[tuple[int, datetime]]:
        """(tip id, since) of pinned cards whose tip is no longer 'new'."""
        async with self.conn.execute(
            "SELECT e.tip_id, e.created_at FROM escalations e JOIN tips t ON t.id = e.tip_id"
            " WHERE e.round = 1 AND e.unpinned_at IS NULL AND t.status != 'new'"
            " ORDER BY e.tip_id"
        ) as c:
            return [(row["tip_id"], from_text(row["created_at"])) for row in await c.fetchall()]

    async def release(self, tip_id: int) -> bool:
        cursor = await self.conn.execute(
            "UPDATE escalations SET unpinned_at = ? WHERE tip_id = ? AND round = 1"
            " AND unpinned_at IS NULL",
            (to_text(self.clock.now()), tip_id),
        )
        return cursor.rowcount == 1

    async def rounds(self, tip_id: int) -> list[int]:
        async with self.conn.execute(
            "SELECT round FROM escalations WHERE tip_id = ? ORDER BY round", (tip_id,)
        ) as c:
            return [row[0] for row in await c.fetchall()]

    async def day_done(self, key: str) -> bool:
        async with self.conn.execute("SELECT 1 FROM daily_runs WHERE key = ?", (key,)) as c:
            return await c.fetchone() is not None

    async def claim_day(self, key: str) -> bool:
        """Take a day's run (e.g. "stale:2026-11-26"); False when it ran already."""
        cursor = await self.conn.execute(
            "INSERT INTO daily_runs (key, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (key, to_text(self.clock.now())),
        )
        return cursor.rowcount == 1


class OverviewRepo:
    """What officers look at across tips: open tips, stale tips, a tip's audit trail."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.tips = TipRepo(conn, clock)

    async def open_tips(self, limit: int = 100) -> list[Tip]:
        """Open tips (new, acknowledged, taken): urgent first, then oldest first. A merged tip
        is not listed apart: its primary speaks for it."""
        return await self._tips(
            "SELECT id FROM tips WHERE status IN (?, ?, ?) AND merged_into IS NULL"
            " ORDER BY urgent DESC, created_at, id LIMIT ?",
            (*OPEN_STATUSES, limit),
        )

    async def stale(self, filed_before: datetime) -> list[Tip]:
        """Non-urgent tips still 'new' filed before `filed_before`, oldest first."""
        return await self._tips(
            "SELECT id FROM tips WHERE status = 'new' AND urgent = 0 AND created_at <= ?"
            " AND merged_into IS NULL"
            " ORDER BY created_at, id",
            (to_text(filed_before),),
        )

    async def oldest_unanswered(self) -> datetime | None:
        """When the oldest non-urgent tip still 'new' was filed."""
        async with self.conn.execute(
            "SELECT min(created_at) FROM tips WHERE status = 'new' AND urgent = 0"
            " AND merged_into IS NULL"
        ) as c:
            row = await c.fetchone()
        return from_text(row[0]) if row and row[0] else None

    async def audit_of(self, tip_id: int) -> list[AuditEntry]:
        async with self.conn.execute(
            "SELECT * FROM audit_log WHERE tip_id = ? ORDER BY created_at, id", (tip_id,)
        ) as c:
            return [
                AuditEntry(
                    id=row["id"],
                    actor_id=row["actor_id"],
                    action=row["action"],
                    tip_id=row["tip_id"],
                    detail=row["detail"] or "",
                    created_at=from_text(row["created_at"]),
                )
                for row in await c.fetchall()
            ]

    async def _tips(self, query: str, args: tuple[object, ...]) -> list[Tip]:
        async with self.conn.execute(query, args) as c:
            ids = [row[0] for row in await c.fetchall()]
        found = [await self.tips.get(tip_id) for tip_id in ids]
        return [tip for tip in found if tip is not None]
