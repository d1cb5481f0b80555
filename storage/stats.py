"""Counts behind officers' statistics and residents' trends, aggregated in SQL.

Each query returns a handful of rows whatever the size of the tables (the bench runs them over
20,000 tips and 1,000,000 delivery rows): tips are counted by the week they were filed in, a
range of `created_at` read from the index of migration 0014; medians and 90th percentiles are
ranked by SQLite's window functions; a broadcast's delivery outcomes are index seeks on
(broadcast_id, status), and what was delivered is its recipients minus the rest. Weeks arrive
as UTC bounds: ISO weeks in TIMEZONE are bot/'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import Clock, to_text
from storage.sql import Connection

OPEN_STATUSES = ("new", "acknowledged", "taken")
# What a duration is measured to, from the filing of the tip.
MILESTONES = {"answer": "first_answer_at", "resolution": "resolved_at"}


@dataclass(frozen=True)
class OpenCount:
    status: str
    urgent: bool
    count: int


@dataclass(frozen=True)
class WeekCount:
    """Tips of one category filed in week `week` (an index into the bounds given)."""

    week: int
    category: str
    spam: bool
    count: int


@dataclass(frozen=True)
class Durations:
    """Seconds from filing to a milestone, over the tips that reached it (None: none did)."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Ratings:
    count: int
    average: float | None


@dataclass(frozen=True)
class BroadcastCounts:
    """Broadcasts of one kind created in a period, and what became of their deliveries."""

    kind: str
    broadcasts: int
    recipients: int
    pending: int
    failed: int
    unreachable: int

    @property
    def delivered(self) -> int:
        return max(0, self.recipients - self.pending - self.failed - self.unreachable)


@dataclass(frozen=True)
class EventCounts:
    """Events that took place in a period (announced, not cancelled), and residents' answers."""

    held: int
    going: int
    rated: int
    average_rating: float | None


class StatsRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def open_tips(self) -> list[OpenCount]:
        marks = ", ".join("?" for _ in OPEN_STATUSES)
        async with self.conn.execute(
            f"SELECT status, urgent, count(*) FROM tips WHERE status IN ({marks})"
            " GROUP BY status, urgent",
            OPEN_STATUSES,
        ) as c:
            return [OpenCount(row[0], bool(row[1]), row[2]) for row in await c.fetchall()]

    async def by_week(self, bounds: Sequence[datetime]) -> list[WeekCount]:
        """Tips filed between consecutive `bounds`, by week, category and spam or not."""
        if len(bounds) < 2:
            return []
        edges = [to_text(bound) for bound in bounds]
        cases = " ".join(f"WHEN created_at < ? THEN {week}" for week in range(len(edges) - 1))
        async with self.conn.execute(
            f"SELECT CASE {cases} END AS week, category, status = 'spam' AS spam, count(*)"
            " FROM tips WHERE created_at >= ? AND created_at < ?"
            " GROUP BY week, category, spam",
            (*edges[1:], edges[0], edges[-1]),
        ) as c:
            return [WeekCount(row[0], row[1], bool(row[2]), row[3]) for row in await c.fetchall()]

    async def durations(self, milestone: str, start: datetime, end: datetime) -> Durations:
        """Median and 90th percentile (nearest rank) of the time from filing to `milestone`
        ("answer" or "resolution"), over tips filed in [start, end), spam left out."""
        column = MILESTONES[milestone]
        async with self.conn.execute(
            "WITH d AS (SELECT " + self.conn.dialect.seconds_between(column, "created_at") + ""
            "   AS s FROM tips WHERE created_at >= ? AND created_at < ?"
            "   AND " + column + " IS NOT NULL AND status != 'spam'),"
            " r AS (SELECT s, row_number() OVER (ORDER BY s) AS n, count(*) OVER () AS total"
            "   FROM d)"
            " SELECT max(total),"
            "  avg(CASE WHEN n IN ((total + 1) / 2, (total + 2) / 2) THEN s END),"
            "  max(CASE WHEN n = (9 * total + 9) / 10 THEN s END)"
            " FROM r",
            (to_text(start), to_text(end)),
        ) as c:
            row = await c.fetchone()
        if row is None or not row[0]:
            return Durations(0, None, None)
        return Durations(row[0], _float(row[1]), _float(row[2]))

    async def ratings(self, start: datetime, end: datetime) -> Ratings:
        """Residents' ratings given in [start, end)."""
        async with self.conn.execute(
            "SELECT count(rating), avg(rating) FROM tips"
            " WHERE rated_at >= ? AND rated_at < ? AND rating IS NOT NULL",
            (to_text(start), to_text(end)),
        ) as c:
            row = await c.fetchone()
        return Ratings(row[0], _float(row[1])) if row else Ratings(0, None)

    async def broadcasts(self, start: datetime, end: datetime) -> list[BroadcastCounts]:
        """Broadcasts created in [start, end) by kind, with their deliveries' outcomes."""
        period = (to_text(start), to_text(end))
        async with self.conn.execute(
            "SELECT kind, count(*), coalesce(sum(recipients), 0) FROM broadcasts"
            " WHERE created_at >= ? AND created_at < ? GROUP BY kind ORDER BY kind",
            period,
        ) as c:
            kinds = [(row[0], row[1], row[2]) for row in await c.fetchall()]
        # Broadcasts stay the outer loop: a few broadcasts, each seeking its failures in
        # outbox_broadcast, never a scan of it.
        async with self.conn.execute(
            "SELECT b.kind, o.status, count(*) FROM broadcasts b"
            f" {self.conn.dialect.outer_first_join} outbox o ON o.broadcast_id = b.id"
            "  AND o.status IN ('pending', 'failed', 'unreachable')"
            " WHERE b.created_at >= ? AND b.created_at < ? GROUP BY b.kind, o.status",
            period,
        ) as c:
            outcomes = {(row[0], row[1]): row[2] for row in await c.fetchall()}
        return [
            BroadcastCounts(
                kind,
                count,
                recipients,
                pending=outcomes.get((kind, "pending"), 0),
                failed=outcomes.get((kind, "failed"), 0),
                unreachable=outcomes.get((kind, "unreachable"), 0),
            )
            for kind, count, recipients in kinds
        ]

    async def events(self, start: datetime, end: datetime) -> EventCounts:
        """Events that started in [start, end) and were not cancelled (nor left drafts)."""
        period = (to_text(start), to_text(end))
        async with self.conn.execute(
            "SELECT count(*) FROM events WHERE status = 'announced'"
            " AND starts_at >= ? AND starts_at < ?",
            period,
        ) as c:
            row = await c.fetchone()
        held = row[0] if row else 0
        async with self.conn.execute(
            "SELECT coalesce(sum(CASE WHEN r.answer = 'going' THEN 1 ELSE 0 END), 0),"
            " count(r.rating), avg(r.rating)"
            " FROM events e JOIN rsvps r ON r.event_id = e.id"
            " WHERE e.status = 'announced' AND e.starts_at >= ? AND e.starts_at < ?",
            period,
        ) as c:
            answers = await c.fetchone()
        if answers is None:
            return EventCounts(held, 0, 0, None)
        return EventCounts(held, answers[0], answers[1], _float(answers[2]))

    async def digest_done(self, key: str) -> bool:
        async with self.conn.execute("SELECT 1 FROM digest_runs WHERE key = ?", (key,)) as c:
            return await c.fetchone() is not None

    async def claim_digest(self, key: str, start: datetime, end: datetime) -> bool:
        """Take a week's digest (e.g. "digest:2026-W49"); False when it was taken already."""
        cursor = await self.conn.execute(
            "INSERT INTO digest_runs (key, period_start, period_end, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, to_text(start), to_text(end), to_text(self.clock.now())),
        )
        return cursor.rowcount == 1


def _float(value: Any) -> float | None:
    """An average or a duration as a float (PostgreSQL's numeric arrives as Decimal)."""
    return None if value is None else float(value)
