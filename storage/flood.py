"""Telegram's flood limits as replicas share them: bookings on the database's clock.

PostgreSQL only (bot/shared_budget.py uses it when several processes share one database; on
SQLite there is one process and its budget is in memory). Unlike every other repository, the
time here is the database's own (`clock_timestamp()`), never a parameter: replicas' clocks
differ, and a booking means "your slot starts at T; wait T − the database's now", so only
differences of the one clock matter.

- An overall pace is one row of `flood_paces` booked with one statement (a shared GCRA): the
  next slot starts at `next_free`, or now after a quiet spell (no catching up: a backlog books
  its slots ahead, so a late timer costs nothing, and a slot in the past would let a burst go);
  booking `cost` seconds of it moves `next_free` on. A booking with a `horizon` is
  refused when its slot would start later than that from now (queued work does not book the
  future ahead of people on other replicas); the caller learns when to ask again.
- A group's sliding minute is its rows in `flood_sends`, counted and added under a
  transaction-scoped advisory lock per chat (replicas booking the same group take turns;
  other groups are not held up). Rows out of the window are deleted under the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.sql import Connection

# The advisory lock class of a group's window (the two-key form: its keys never meet the
# one-key locks, such as the migrations' lock).
WINDOW_LOCK_CLASS = 1_717_661_617
NOW = "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class PaceBooking:
    """`start`: the first booked slot (None: refused, beyond the horizon); `next_free`: where
    the pace stood (after the booking, or the refusal's reason); `now`: the database's now."""

    now: float
    start: float | None
    next_free: float


@dataclass(frozen=True)
class WindowBooking:
    """Whether the messages were added, the database's now, and the window's sends (one time
    per message, oldest first; the booked ones included)."""

    booked: bool
    now: float
    sent: tuple[float, ...]


class FloodRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add_pace(self, key: str) -> None:
        """Make sure the pace `key` has its row (a pace never used starts free)."""
        await self.conn.execute(
            "INSERT INTO flood_paces (key, next_free) VALUES (?, 0) ON CONFLICT DO NOTHING", (key,)
        )

    async def book_pace(self, key: str, cost: float, horizon: float | None) -> PaceBooking:
        """Book `cost` seconds of the pace `key` in one statement (one round trip, autocommit
        is enough). `horizon` None: always book (people take the next slot)."""
        limit = 1e12 if horizon is None else horizon
        async with self.conn.execute(
            f"WITH clock AS (SELECT {NOW} AS now),"
            " booked AS ("
            "  UPDATE flood_paces SET next_free = greatest(flood_paces.next_free, clock.now) + ?"
            "  FROM clock WHERE flood_paces.key = ?"
            "  AND greatest(flood_paces.next_free, clock.now) <= clock.now + ?"
            "  RETURNING flood_paces.next_free)"
            " SELECT clock.now, (SELECT next_free FROM booked) AS booked,"
            " (SELECT next_free FROM flood_paces WHERE key = ?) AS stood FROM clock",
            (cost, key, limit, key),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        if row["stood"] is None:
            raise LookupError(f"no flood pace {key!r}: add_pace() first")
        if row["booked"] is None:
            return PaceBooking(row["now"], None, row["stood"])
        return PaceBooking(row["now"], row["booked"] - cost, row["booked"])

    async def book_window(
        self, chat: str, count: int, allowed: int, period: float
    ) -> WindowBooking:
        """Add `count` messages to the group's window if at most `allowed` are then in the last
        `period` seconds (an album larger than `allowed` goes into an empty window). Inside a
        transaction: the lock is held until it ends."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(?, hashtext(?))", (WINDOW_LOCK_CLASS, chat)
        )
        async with self.conn.execute(f"SELECT {NOW}") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        now: float = row[0]
        await self.conn.execute(
            "DELETE FROM flood_sends WHERE chat = ? AND sent_at <= ?", (chat, now - period)
        )
        async with self.conn.execute(
            "SELECT sent_at, messages FROM flood_sends WHERE chat = ? ORDER BY sent_at", (chat,)
        ) as cursor:
            rows = await cursor.fetchall()
        sent = [row["sent_at"] for row in rows for _ in range(row["messages"])]
        if len(sent) + min(count, allowed) > allowed:
            return WindowBooking(False, now, tuple(sent))
        await self.conn.execute(
            "INSERT INTO flood_sends (chat, sent_at, messages) VALUES (?, ?, ?)",
            (chat, now, count),
        )
        return WindowBooking(True, now, (*sent, *[now] * count))

    async def window(self, chat: str) -> list[tuple[float, int]]:
        """The group's rows as they are (sent_at, messages): for tests and the stairway."""
        async with self.conn.execute(
            "SELECT sent_at, messages FROM flood_sends WHERE chat = ? ORDER BY sent_at", (chat,)
        ) as cursor:
            return [(row["sent_at"], row["messages"]) for row in await cursor.fetchall()]

    async def pace(self, key: str) -> float | None:
        """Where the pace `key` stands (None: never used)."""
        async with self.conn.execute(
            "SELECT next_free FROM flood_paces WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else float(row["next_free"])
