"""The update inbox: Telegram updates kept from their arrival until they were handled.

Payloads are the Bot API's JSON as plain dicts; turning them back into Telegram objects is the
bot's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import Clock, to_text
from storage.sql import Connection, marks

# What replicas LISTEN to (PostgreSQL): an update handled (a chat's next turn may be due).
INBOX_CHANNEL = "porchlight_inbox"


@dataclass(frozen=True)
class Lease:
    """A replica's claim on a row: `owner` (REPLICA_ID) until `until` (epoch seconds)."""

    owner: str
    until: float


@dataclass(frozen=True)
class InboxEntry:
    update_id: int
    payload: dict[str, Any]


class InboxRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def add(
        self,
        update_id: int,
        payload: dict[str, Any],
        chat_id: int | None = None,
        lease: Lease | None = None,
    ) -> bool:
        """Keep an update; False if this id is already here (pending or handled). `lease`:
        the replica that handles it, until when (several replicas)."""
        cursor = await self.conn.execute(
            "INSERT INTO inbox (update_id, payload, received_at, chat_id, claimed_by,"
            " lease_until) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                update_id,
                json.dumps(payload),
                to_text(self.clock.now()),
                chat_id,
                lease.owner if lease else None,
                lease.until if lease else None,
            ),
        )
        return cursor.rowcount == 1

    async def add_received(self, updates: list[tuple[int, str]]) -> set[int]:
        """Keep updates received together, each its JSON text as Telegram sent it: the ids
        that were new (the others are here already, pending or handled)."""
        received_at, new = to_text(self.clock.now()), set()
        for update_id, text in updates:
            cursor = await self.conn.execute(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (update_id, text, received_at),
            )
            if cursor.rowcount == 1:
                new.add(update_id)
        return new

    async def earlier_pending(self, chat_id: int, update_id: int) -> bool:
        """Whether an earlier update of the chat is still to be handled (its turn first)."""
        async with self.conn.execute(
            "SELECT 1 FROM inbox WHERE chat_id = ? AND update_id < ? AND handled_at IS NULL"
            " LIMIT 1",
            (chat_id, update_id),
        ) as c:
            return await c.fetchone() is not None

    async def renew(self, lease: Lease) -> int:
        """Extend the lease of every update this replica holds and has not handled."""
        cursor = await self.conn.execute(
            "UPDATE inbox SET lease_until = ? WHERE claimed_by = ? AND handled_at IS NULL",
            (lease.until, lease.owner),
        )
        return cursor.rowcount

    async def take_over(
        self, lease: Lease, now: float, *, own: bool = False, limit: int = 500
    ) -> list[InboxEntry]:
        """Claim updates whose replica died (their lease ran out), never this replica's own
        in hand — with `own` (at start), also its own from before a restart and any without a
        lease (stored by a version before leases) — oldest first."""
        if own:
            which, args = "(lease_until < ? OR claimed_by = ? OR claimed_by IS NULL)", (now,)
        else:
            which, args = "lease_until < ? AND claimed_by <> ?", (now,)
        async with self.conn.execute(
            "UPDATE inbox SET claimed_by = ?, lease_until = ? WHERE update_id IN ("
            f" SELECT update_id FROM inbox WHERE handled_at IS NULL AND {which}"
            f" ORDER BY update_id LIMIT ?{self.conn.dialect.skip_locked})"
            " RETURNING update_id, payload",
            (lease.owner, lease.until, *args, lease.owner, limit),
        ) as c:
            rows = await c.fetchall()
        entries = [InboxEntry(r["update_id"], json.loads(r["payload"])) for r in rows]
        return sorted(entries, key=lambda entry: entry.update_id)

    async def mark_handled(self, update_ids: list[int]) -> None:
        """Forget the payloads and chats, keep the ids (see `forget_handled`); tell other
        replicas waiting for these chats' turns."""
        await self.conn.execute(
            "UPDATE inbox SET payload = '', chat_id = NULL, claimed_by = NULL, handled_at = ?"
            f" WHERE update_id IN ({marks(len(update_ids))})",
            (to_text(self.clock.now()), *update_ids),
        )
        await self.conn.notify(INBOX_CHANNEL, "")

    async def pending(self) -> list[InboxEntry]:
        """Updates not handled yet, in the order they arrived."""
        async with self.conn.execute(
            "SELECT update_id, payload FROM inbox WHERE handled_at IS NULL"
            " ORDER BY received_at, update_id"
        ) as c:
            rows = await c.fetchall()
        return [InboxEntry(r["update_id"], json.loads(r["payload"])) for r in rows]

    async def forget_handled(self, before: datetime) -> int:
        """Drop handled ids older than `before`: Telegram no longer delivers them again."""
        cursor = await self.conn.execute(
            "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (to_text(before),)
        )
        return cursor.rowcount
