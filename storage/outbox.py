"""The delivery outbox: rows written in the same transaction as the fact they announce.

A row's payload is a `storage.payload.Payload`, stored as JSON by its one codec.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from storage.clock import Clock, to_text
from storage.inbox import Lease
from storage.models import OutboxRow
from storage.payload import Payload, PayloadError, from_json, to_json
from storage.sql import Connection, Row, marks

log = logging.getLogger(__name__)

# Lower goes first: tips and their replies never wait behind bulk work.
PRIORITY_ANSWER = 5  # an officer asked for it (a listed tip's card): served like people
PRIORITY_URGENT = 10
PRIORITY_TIP = 20
PRIORITY_RELAY = 20
PRIORITY_NOTICE = 30
PRIORITY_BULK = 100
PRIORITY_COSMETIC = 200  # reactions: never in the way of a message


# A lane's head: no earlier pending row in its lane (rows of one lane go one at a time, in order).
LANE_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox p WHERE p.lane = o.lane"
    " AND p.status = 'pending' AND p.id < o.id)"
)
# A row a replica may claim: nobody's, a lease run out (its replica died), or its own.
CLAIMABLE = "(o.lease_until IS NULL OR o.lease_until < ? OR o.claimed_by = ?)"


@dataclass(frozen=True)
class NewDelivery:
    kind: str
    chat_id: int
    payload: Payload
    lane: str = ""
    priority: int = PRIORITY_NOTICE
    tip_id: int | None = None
    dedupe_key: str | None = None
    broadcast_id: int | None = None


def _payload(row: Row) -> Payload | None:
    """A payload this version cannot read leaves the row readable: the drainer then fails it
    with the reason recorded, instead of one bad row stopping every delivery."""
    try:
        return from_json(row["payload"])
    except PayloadError as error:
        log.error("outbox row %s has an unreadable payload: %s", row["id"], error)
        return None


def _row(row: Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        kind=row["kind"],
        chat_id=row["chat_id"],
        lane=row["lane"],
        priority=row["priority"],
        payload=_payload(row),
        tip_id=row["tip_id"],
        status=row["status"],
        attempts=row["attempts"],
        not_before=row["not_before"],
        last_error=row["last_error"],
        message_ids=_message_ids(row["message_ids"]),
    )


def _message_ids(text: str | None) -> tuple[tuple[int, ...], ...]:
    """The parts of a delivery already sent; none for nearly every row a claim reads."""
    if not text or text == "[]":
        return ()
    return tuple(tuple(part) for part in json.loads(text))


class OutboxRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def enqueue(self, delivery: NewDelivery) -> int | None:
        """Add a row; a repeated dedupe key adds nothing and returns None."""
        now = to_text(self.clock.now())
        cursor = await self.conn.execute(
            "INSERT INTO outbox (kind, chat_id, lane, priority, payload, tip_id,"
            " dedupe_key, broadcast_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (
                delivery.kind,
                delivery.chat_id,
                delivery.lane or f"chat:{delivery.chat_id}",
                delivery.priority,
                to_json(delivery.payload),
                delivery.tip_id,
                delivery.dedupe_key,
                delivery.broadcast_id,
                now,
                now,
            ),
        )
        return cursor.returned_id

    async def pending_cards(self, tip_id: int) -> list[OutboxRow]:
        """A tip's cards still waiting to be posted (its first card, or one an officer opened)."""
        async with self.conn.execute(
            "SELECT * FROM outbox WHERE tip_id = ? AND kind = 'tip_card' AND status = 'pending'"
            " ORDER BY id",
            (tip_id,),
        ) as c:
            return [_row(r) for r in await c.fetchall()]

    async def set_payload(self, row_id: int, payload: Payload) -> None:
        await self.conn.execute(
            "UPDATE outbox SET payload = ?, updated_at = ? WHERE id = ?",
            (to_json(payload), to_text(self.clock.now()), row_id),
        )

    async def due(
        self, now: float, limit: int, busy_lanes: set[str], *, claimable_by: str | None = None
    ) -> list[OutboxRow]:
        """Pending rows that may go now: the head of each lane, most urgent first (with
        `claimable_by`, only those that replica may claim: see `claim`)."""
        free = f" AND {CLAIMABLE}" if claimable_by is not None else ""
        async with self.conn.execute(
            f"SELECT * FROM outbox o WHERE o.status = 'pending' AND o.not_before <= ?{free}"
            f" AND {LANE_HEAD} ORDER BY o.priority, o.id LIMIT ?",
            (
                now,
                *(() if claimable_by is None else (now, claimable_by)),
                limit + len(busy_lanes),
            ),
        ) as c:
            found = await c.fetchall()
        # Rows of busy lanes are read to be skipped: only the rows kept are decoded.
        return [_row(r) for r in found if r["lane"] not in busy_lanes][:limit]

    async def claim(
        self, lease: Lease, now: float, limit: int, busy_lanes: set[str], *, skip_chat: int | None
    ) -> list[OutboxRow]:
        """`due`, for one replica of several: the rows are claimed for `lease` (a lane head
        claimed by a live replica is theirs; its lease run out, it is anyone's). Claimed
        rows whose lane is busy here stay claimed. `skip_chat`: a chat left to another replica
        (the officer chat, sent by the leader alone)."""
        skip = " AND o.chat_id <> ?" if skip_chat is not None else ""
        async with self.conn.execute(
            "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id IN ("
            " SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.not_before <= ?"
            f"  AND {CLAIMABLE}{skip} AND {LANE_HEAD}"
            f" ORDER BY o.priority, o.id LIMIT ?{self.conn.dialect.skip_locked})"
            " RETURNING *",
            (
                lease.owner,
                lease.until,
                now,
                now,
                lease.owner,
                *(() if skip_chat is None else (skip_chat,)),
                limit + len(busy_lanes),
            ),
        ) as c:
            found = sorted(await c.fetchall(), key=lambda r: (r["priority"], r["id"]))
        return [_row(r) for r in found if r["lane"] not in busy_lanes][:limit]

    async def renew(self, lease: Lease, row_ids: list[int]) -> None:
        """Extend the lease of rows this replica still means to send."""
        if row_ids:
            await self.conn.execute(
                "UPDATE outbox SET lease_until = ? WHERE claimed_by = ? AND status = 'pending'"
                f" AND id IN ({marks(len(row_ids))})",
                (lease.until, lease.owner, *row_ids),
            )

    async def release(self, owner: str, row_ids: list[int]) -> None:
        """Give back claimed rows this replica will not send (it stops, or holds them)."""
        if row_ids:
            await self.conn.execute(
                "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ?"
                f" AND status = 'pending' AND id IN ({marks(len(row_ids))})",
                (owner, *row_ids),
            )

    async def waiting_cards(
        self, chat_id: int, now: float, busy_lanes: set[str]
    ) -> list[OutboxRow]:
        """Ordinary tip cards due for a chat, oldest first (urgent cards are never held)."""
        async with self.conn.execute(
            "SELECT * FROM outbox o WHERE o.status = 'pending' AND o.kind = 'tip_card'"
            " AND o.chat_id = ? AND o.priority > ? AND o.not_before <= ?"
            f" AND {LANE_HEAD} ORDER BY o.id",
            (chat_id, PRIORITY_URGENT, now),
        ) as c:
            return [row for row in map(_row, await c.fetchall()) if row.lane not in busy_lanes]

    async def next_wakeup(self, now: float) -> float | None:
        """When the next backed-off lane head falls due. Rows waiting behind another row of
        their lane do not count: they go when the head is done, and that wakes the drainer."""
        async with self.conn.execute(
            "SELECT min(o.not_before) FROM outbox o WHERE o.status = 'pending'"
            f" AND o.not_before > ? AND {LANE_HEAD}",
            (now,),
        ) as c:
            row = await c.fetchone()
        return row[0] if row and row[0] is not None else None

    async def pending_in_lane(self, lane: str, kind: str) -> int:
        async with self.conn.execute(
            "SELECT count(*) FROM outbox WHERE lane = ? AND kind = ? AND status = 'pending'",
            (lane, kind),
        ) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def superseded(self, row: OutboxRow) -> bool:
        """Whether a later pending row of the same kind waits in the row's lane (an edit that
        renders current state makes the earlier one pointless)."""
        async with self.conn.execute(
            "SELECT 1 FROM outbox WHERE lane = ? AND kind = ? AND status = 'pending' AND id > ?"
            " LIMIT 1",
            (row.lane, row.kind, row.id),
        ) as c:
            return await c.fetchone() is not None

    async def get(self, row_id: int) -> OutboxRow | None:
        async with self.conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)) as c:
            row = await c.fetchone()
        return _row(row) if row else None

    async def mark_sent(self, row_id: int, message_ids: list[list[int]]) -> bool:
        """False when the row is gone (erased while it was in flight): nothing follows it."""
        cursor = await self.conn.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, message_ids = ?,"
            " last_error = NULL, updated_at = ? WHERE id = ?",
            (json.dumps(message_ids), to_text(self.clock.now()), row_id),
        )
        return cursor.rowcount == 1

    async def mark_sent_many(self, sent: list[tuple[int, list[list[int]]]]) -> None:
        """Mark many rows sent in one statement (a broadcast's group commit). Rows erased while
        in flight are simply not found: use `mark_sent` where something follows a row."""
        now = to_text(self.clock.now())
        await self.conn.executemany(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, message_ids = ?,"
            " last_error = NULL, updated_at = ? WHERE id = ?",
            [(json.dumps(parts), now, row_id) for row_id, parts in sent],
        )

    async def record_progress(self, row_id: int, parts: list[list[int]]) -> None:
        """Remember which parts of a multi-part delivery went out, so a retry skips them."""
        await self.conn.execute(
            "UPDATE outbox SET message_ids = ?, updated_at = ? WHERE id = ?",
            (json.dumps(parts), to_text(self.clock.now()), row_id),
        )

    async def mark_retry(
        self, row_id: int, not_before: float, error: str, count_attempt: bool = True
    ) -> None:
        await self.conn.execute(
            "UPDATE outbox SET attempts = attempts + ?, not_before = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (int(count_attempt), not_before, error, to_text(self.clock.now()), row_id),
        )

    async def mark_final(self, row_id: int, status: str, error: str) -> bool:
        """End a row as 'failed' or 'unreachable', keeping the reason for officers. False when
        the row is gone (erased while it was in flight)."""
        cursor = await self.conn.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (status, error, to_text(self.clock.now()), row_id),
        )
        return cursor.rowcount == 1

    async def counts(self) -> dict[str, int]:
        async with self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status") as c:
            return {row[0]: row[1] for row in await c.fetchall()}

    async def rows(self, kind: str | None = None) -> list[OutboxRow]:
        query, args = "SELECT * FROM outbox", tuple[object, ...]()
        if kind is not None:
            query, args = query + " WHERE kind = ?", (kind,)
        async with self.conn.execute(query + " ORDER BY id", args) as c:
            return [_row(r) for r in await c.fetchall()]
