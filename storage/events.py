"""Events, answers (RSVPs) and the event jobs (reminders, feedback questions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.clock import Clock, from_text, to_text
from storage.models import Event, EventJob, RsvpCounts
from storage.sql import Connection, Row

ANSWERS = ("going", "maybe", "no")


@dataclass(frozen=True)
class NewEvent:
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    description: str | None = None
    capacity: int | None = None
    created_by: int | None = None


def _event(row: Row) -> Event:
    return Event(
        id=row["id"],
        title=row["title"],
        starts_at=from_text(row["starts_at"]),
        ends_at=from_text(row["ends_at"]) if row["ends_at"] else None,
        place=row["place"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        description=row["description"],
        capacity=row["capacity"],
        status=row["status"],
        sequence=row["sequence"],
    )


def _job(row: Row) -> EventJob:
    return EventJob(
        id=row["id"],
        event_id=row["event_id"],
        kind=row["kind"],
        lead_minutes=row["lead_minutes"],
        due_at=from_text(row["due_at"]),
        status=row["status"],
    )


class EventRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def insert(self, new: NewEvent) -> Event:
        now = to_text(self.clock.now())
        cursor = await self.conn.execute(
            "INSERT INTO events (title, starts_at, ends_at, place, latitude, longitude,"
            " description, capacity, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                new.title,
                to_text(new.starts_at),
                to_text(new.ends_at) if new.ends_at else None,
                new.place,
                new.latitude,
                new.longitude,
                new.description,
                new.capacity,
                new.created_by,
                now,
                now,
            ),
        )
        assert cursor.returned_id is not None
        event = await self.get(cursor.returned_id)
        assert event is not None
        return event

    async def get(self, event_id: int) -> Event | None:
        async with self.conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)) as c:
            row = await c.fetchone()
        return _event(row) if row else None

    async def upcoming(self, after: datetime, *, announced_only: bool) -> list[Event]:
        statuses = ("announced",) if announced_only else ("announced", "draft")
        marks = ",".join("?" for _ in statuses)
        async with self.conn.execute(
            f"SELECT * FROM events WHERE status IN ({marks}) AND starts_at > ?"
            " ORDER BY starts_at LIMIT 20",
            (*statuses, to_text(after)),
        ) as c:
            return [_event(row) for row in await c.fetchall()]

    async def set_status(self, event_id: int, status: str) -> None:
        await self.conn.execute(
            "UPDATE events SET status = ?, updated_at = ? WHERE id = ?",
            (status, to_text(self.clock.now()), event_id),
        )

    async def move(self, event_id: int, starts_at: datetime, ends_at: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE events SET starts_at = ?, ends_at = ?, sequence = sequence + 1,"
            " updated_at = ? WHERE id = ?",
            (
                to_text(starts_at),
                to_text(ends_at) if ends_at else None,
                to_text(self.clock.now()),
                event_id,
            ),
        )

    # Answers ---------------------------------------------------------------------------------

    async def answer(self, event_id: int, user_id: int, answer: str) -> None:
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        await self.conn.execute(
            "INSERT INTO rsvps (event_id, user_id, answer, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (event_id, user_id) DO UPDATE SET answer = excluded.answer,"
            " updated_at = excluded.updated_at",
            (event_id, user_id, answer, to_text(self.clock.now())),
        )

    async def answer_of(self, event_id: int, user_id: int) -> str | None:
        async with self.conn.execute(
            "SELECT answer FROM rsvps WHERE event_id = ? AND user_id = ?", (event_id, user_id)
        ) as c:
            row = await c.fetchone()
        return str(row[0]) if row else None

    async def attendees(self, event_id: int, answers: tuple[str, ...]) -> list[tuple[int, str]]:
        """(user id, language) of reachable residents whose answer is one of `answers`."""
        marks = ",".join("?" for _ in answers)
        async with self.conn.execute(
            "SELECT r.user_id, r.language FROM rsvps v JOIN residents r ON r.user_id = v.user_id"
            f" WHERE v.event_id = ? AND v.answer IN ({marks}) AND r.reachable = 1"
            " ORDER BY r.user_id",
            (event_id, *answers),
        ) as c:
            return [(row[0], row[1]) for row in await c.fetchall()]

    async def counts(self, event_id: int) -> RsvpCounts:
        async with self.conn.execute(
            "SELECT answer, count(*) FROM rsvps WHERE event_id = ? GROUP BY answer", (event_id,)
        ) as c:
            by_answer = {row[0]: row[1] for row in await c.fetchall()}
        async with self.conn.execute(
            "SELECT avg(rating), count(rating) FROM rsvps WHERE event_id = ?"
            " AND rating IS NOT NULL",
            (event_id,),
        ) as c:
            row = await c.fetchone()
        # PostgreSQL's avg of integers is a Decimal; SQLite's a float.
        average, ratings = (None if row[0] is None else float(row[0]), row[1]) if row else (None, 0)
        return RsvpCounts(
            going=by_answer.get("going", 0),
            maybe=by_answer.get("maybe", 0),
            no=by_answer.get("no", 0),
            rating_average=average,
            ratings=ratings,
        )

    async def rate(self, event_id: int, user_id: int, rating: int) -> bool:
        """Only someone who answered Going rates the event."""
        cursor = await self.conn.execute(
            "UPDATE rsvps SET rating = ?, updated_at = ? WHERE event_id = ? AND user_id = ?"
            " AND answer = 'going'",
            (rating, to_text(self.clock.now()), event_id, user_id),
        )
        return cursor.rowcount == 1

    # Jobs ------------------------------------------------------------------------------------

    async def add_job(
        self, event_id: int, kind: str, lead_minutes: int, due_at: datetime, status: str = "pending"
    ) -> None:
        await self.conn.execute(
            "INSERT INTO event_jobs (event_id, kind, lead_minutes, due_at, status)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (event_id, kind, lead_minutes, to_text(due_at), status),
        )

    async def cancel_jobs(self, event_id: int) -> None:
        await self.conn.execute(
            "UPDATE event_jobs SET status = 'cancelled' WHERE event_id = ? AND status = 'pending'",
            (event_id,),
        )

    async def pending_jobs(self) -> list[EventJob]:
        async with self.conn.execute(
            "SELECT * FROM event_jobs WHERE status = 'pending' ORDER BY due_at"
        ) as c:
            return [_job(row) for row in await c.fetchall()]

    async def jobs(self, event_id: int) -> list[EventJob]:
        async with self.conn.execute(
            "SELECT * FROM event_jobs WHERE event_id = ? ORDER BY due_at, id", (event_id,)
        ) as c:
            return [_job(row) for row in await c.fetchall()]

    async def claim_job(self, job_id: int, status: str) -> bool:
        """Mark a pending job done or skipped; False if someone already did (never twice)."""
        cursor = await self.conn.execute(
            "UPDATE event_jobs SET status = ? WHERE id = ? AND status = 'pending'",
            (status, job_id),
        )
        return cursor.rowcount == 1
