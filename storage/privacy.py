"""Erasure and retention: cutting the link between a person and what Porchlight keeps.

`detach` leaves tips on record without their resident; `forget_resident` removes what exists
only because of a person (their registration, answers, sessions, deliveries to them);
`forget_delivered` keeps the delivery log short. bot/erasure.py and bot/retention.py decide when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.clock import Clock, to_text
from storage.sql import Connection, marks


@dataclass(frozen=True)
class Holdings:
    """What Porchlight keeps about one person, counted for the /deleteme question."""

    registered: bool
    tips: int
    answers: int  # event answers (RSVPs)


class PrivacyRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def _count(self, query: str, args: tuple[object, ...]) -> int:
        async with self.conn.execute(query, args) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def holdings(self, user_id: int) -> Holdings:
        return Holdings(
            registered=await self._count(
                "SELECT count(*) FROM residents WHERE user_id = ?", (user_id,)
            )
            > 0,
            tips=await self._count("SELECT count(*) FROM tips WHERE resident_id = ?", (user_id,)),
            answers=await self._count("SELECT count(*) FROM rsvps WHERE user_id = ?", (user_id,)),
        )

    async def tips_of(self, resident_id: int) -> list[int]:
        async with self.conn.execute(
            "SELECT id FROM tips WHERE resident_id = ? ORDER BY id", (resident_id,)
        ) as c:
            return [row[0] for row in await c.fetchall()]

    async def detach(self, tip_ids: list[int], reason: str) -> None:
        """The tips stay on record without their resident: no id, no shared name, no source key
        naming the chat, no follow-up saying which chat it came from (its text stays), and no
        reply mapping in a private chat (so nothing there leads back to the tip)."""
        ids = marks(len(tip_ids))
        await self.conn.execute(
            "UPDATE tips SET resident_id = NULL, reporter_name = NULL, detached = ?,"
            f" source_key = 'detached:' || id WHERE id IN ({ids})",
            (reason, *tip_ids),
        )
        await self.conn.execute(
            "UPDATE tip_messages SET source_chat_id = NULL, source_message_id = NULL"
            f" WHERE author = 'resident' AND tip_id IN ({ids})",
            tip_ids,
        )
        # Private chats have positive ids; the officer chat's mapping stays (officers may still
        # reply to the card, and are told why it goes nowhere).
        await self.conn.execute(
            f"DELETE FROM thread_messages WHERE chat_id > 0 AND tip_id IN ({ids})", tip_ids
        )

    async def forget_deliveries_of_tips(self, tip_ids: list[int]) -> None:
        """Delivered or failed rows about these tips (the card as it was sent, with a shared
        name in it): a delivery log, not the record, which is the tip itself."""
        await self.conn.execute(
            f"DELETE FROM outbox WHERE status != 'pending' AND tip_id IN ({marks(len(tip_ids))})",
            tip_ids,
        )

    async def forget_resident(self, user_id: int) -> None:
        """Everything that exists only because of this person: their registration and
        subscriptions, event answers, session and conversation steps, and every delivery to
        their chat, pending ones included (so none goes out after this)."""
        await self.conn.execute("DELETE FROM rsvps WHERE user_id = ?", (user_id,))
        await self.conn.execute("DELETE FROM residents WHERE user_id = ?", (user_id,))
        await self.conn.execute(
            "DELETE FROM ptb_persistence WHERE kind = 'user_data' AND key = ?", (str(user_id),)
        )
        # A conversation's key is a JSON list of chat and user ids: read in Python, as the
        # backends' JSON functions differ.
        async with self.conn.execute(
            "SELECT kind, key FROM ptb_persistence WHERE kind LIKE 'conversation:%'"
        ) as c:
            steps = [(row[0], row[1]) for row in await c.fetchall()]
        for kind, key in steps:
            if user_id in json.loads(key):
                await self.conn.execute(
                    "DELETE FROM ptb_persistence WHERE kind = ? AND key = ?", (kind, key)
                )
        await self.conn.execute("DELETE FROM outbox WHERE chat_id = ?", (user_id,))

    async def forget_group_adder(self, labels: list[str]) -> None:
        """A community group the person added keeps no "added by" naming them, and its
        delivered approval card goes from the log (a card still waiting is posted as written)."""
        async with self.conn.execute(
            f"SELECT chat_id FROM community_groups WHERE added_by_name IN ({marks(len(labels))})",
            labels,
        ) as c:
            groups = [row[0] for row in await c.fetchall()]
        for chat_id in groups:
            await self.conn.execute(
                "UPDATE community_groups SET added_by_name = NULL WHERE chat_id = ?", (chat_id,)
            )
            await self.conn.execute(
                "DELETE FROM outbox WHERE kind = 'group_card' AND status != 'pending'"
                " AND payload LIKE ?",
                (f'%"grp:ok:{chat_id}"%',),
            )

    # Retention ------------------------------------------------------------------------------

    async def closed_before(self, before: datetime, limit: int) -> list[int]:
        """Tips still linked (not detached) that were resolved, or marked spam, before
        `before`. A spam tip's time is when it was marked (the audit log; its filing when the log
        has none)."""
        cutoff = to_text(before)
        async with self.conn.execute(
            "SELECT id FROM tips WHERE detached IS NULL AND ("
            " (status = 'resolved' AND resolved_at < ?) OR (status = 'spam' AND coalesce("
            "   (SELECT max(a.created_at) FROM audit_log a"
            "    WHERE a.tip_id = tips.id AND a.action = 'tip.spam'), created_at) < ?))"
            " ORDER BY id LIMIT ?",
            (cutoff, cutoff, limit),
        ) as c:
            return [row[0] for row in await c.fetchall()]

    async def any_delivered(self, before: datetime) -> bool:
        """Whether `forget_delivered` has anything to delete."""
        async with self.conn.execute(
            "SELECT 1 FROM outbox o WHERE o.status != 'pending' AND o.updated_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM broadcasts b WHERE b.id = o.broadcast_id"
            "   AND b.report_message_id IS NOT NULL AND b.finished_at IS NULL) LIMIT 1",
            (to_text(before),),
        ) as c:
            return await c.fetchone() is not None

    async def forget_delivered(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` finished outbox rows (sent, failed, unreachable) last touched
        before `before`; never a pending one, nor one a live delivery report still counts."""
        cursor = await self.conn.execute(
            "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o"
            " WHERE o.status != 'pending' AND o.updated_at < ? AND NOT EXISTS ("
            "   SELECT 1 FROM broadcasts b WHERE b.id = o.broadcast_id"
            "   AND b.report_message_id IS NOT NULL AND b.finished_at IS NULL)"
            " ORDER BY o.id LIMIT ?)",
            (to_text(before), limit),
        )
        return cursor.rowcount
