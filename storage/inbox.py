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


@dataclass(frozen=True)
class InboxEntry:
    update_id: int
    payload: dict[str, Any]


class InboxRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def add(self, update_id: int, payload: dict[str, Any]) -> bool:
        """Keep an update; False if this id is already here (pending or handled)."""
        cursor = await self.conn.execute(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (update_id, json.dumps(payload), to_text(self.clock.now())),
        )
        return cursor.rowcount == 1

    async def mark_handled(self, update_ids: list[int]) -> None:
        """Forget the payloads, keep the ids (see `forget_handled`). One statement."""
        await self.conn.execute(
            "UPDATE inbox SET payload = '', handled_at = ?"
            f" WHERE update_id IN ({marks(len(update_ids))})",
            (to_text(self.clock.now()), *update_ids),
        )

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
