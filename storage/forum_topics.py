"""A tip's forum topic: its creation claimed once, its thread id, and what was last set on it.

Every change is conditional on the state read before it, so a creation is asked of Telegram at
most once per topic (a claim that finds 'creating' means an earlier attempt's answer was lost),
and of two deliveries that find the same topic deleted, one clears it.
"""

from __future__ import annotations

from storage.clock import Clock
from storage.sql import Connection

CREATING, OPEN, CLOSED, UNKNOWN = "creating", "open", "closed", "unknown"


class ForumTopicRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def claim(self, tip_id: int) -> bool:
        """Mark a creation as asked (before asking); False when the tip has or had one."""
        cursor = await self.conn.execute(
            "UPDATE tips SET topic_state = ? WHERE id = ? AND topic_id IS NULL"
            " AND topic_state IS NULL",
            (CREATING, tip_id),
        )
        return cursor.rowcount == 1

    async def created(self, tip_id: int, thread: int, name: str) -> None:
        await self.conn.execute(
            "UPDATE tips SET topic_id = ?, topic_state = ?, topic_name = ? WHERE id = ?",
            (thread, OPEN, name, tip_id),
        )

    async def not_created(self, tip_id: int) -> None:
        """Telegram answered that it did not create it: the next attempt may ask again."""
        await self.conn.execute(
            "UPDATE tips SET topic_state = NULL WHERE id = ? AND topic_state = ?",
            (tip_id, CREATING),
        )

    async def uncertain(self, tip_id: int) -> None:
        """No answer: it may exist. It is never asked again (the tip stays in General)."""
        await self.conn.execute(
            "UPDATE tips SET topic_state = ? WHERE id = ? AND topic_state = ?",
            (UNKNOWN, tip_id, CREATING),
        )

    async def set_look(self, tip_id: int, thread: int, name: str, closed: bool) -> None:
        """What the bot last set on the topic (its name, closed or open)."""
        await self.conn.execute(
            "UPDATE tips SET topic_name = ?, topic_state = ? WHERE id = ? AND topic_id = ?",
            (name, CLOSED if closed else OPEN, tip_id, thread),
        )

    async def lost(self, tip_id: int, thread: int) -> bool:
        """The topic was deleted: forget it (once) so that a new one may be created."""
        cursor = await self.conn.execute(
            "UPDATE tips SET topic_id = NULL, topic_state = NULL, topic_name = NULL"
            " WHERE id = ? AND topic_id = ?",
            (tip_id, thread),
        )
        return cursor.rowcount == 1
