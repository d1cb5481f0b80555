"""The safety-advice library, broadcasts and community groups.

The library holds *advice* (what the weekly broadcast sends); "tip" always means a
resident's tip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.clock import Clock, from_text, to_text
from storage.models import Advice, Broadcast, CommunityGroup
from storage.sql import Connection, Row


@dataclass(frozen=True)
class NewAdvice:
    key: str
    topic: str
    title_en: str
    body_en: str
    title_es: str
    body_es: str
    added_by: int | None = None


def _advice(row: Row) -> Advice:
    return Advice(
        id=row["id"],
        key=row["key"],
        topic=row["topic"],
        position=row["position"],
        titles={"en": row["title_en"], "es": row["title_es"]},
        bodies={"en": row["body_en"], "es": row["body_es"]},
        active=bool(row["active"]),
        broadcast_count=row["broadcast_count"],
    )


def _broadcast(row: Row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        advice_id=row["advice_id"],
        recipients=row["recipients"],
        report_message_id=row["report_message_id"],
        created_at=from_text(row["created_at"]),
        text=row["text"],
        photo_file_id=row["photo_file_id"],
        finished=row["finished_at"] is not None,
    )


def _group(row: Row) -> CommunityGroup:
    return CommunityGroup(
        chat_id=row["chat_id"],
        title=row["title"],
        status=row["status"],
        added_by_name=row["added_by_name"],
        language=row["language"],
    )


class LibraryRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def add(self, new: NewAdvice) -> bool:
        """Add a tip at the end of the rotation, once per key. True when it was new."""
        cursor = await self.conn.execute(
            "INSERT INTO advice (key, topic, position, title_en, body_en,"
            " title_es, body_es, added_by, created_at)"
            " VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM advice),"
            " ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                new.key,
                new.topic,
                new.title_en,
                new.body_en,
                new.title_es,
                new.body_es,
                new.added_by,
                to_text(self.clock.now()),
            ),
        )
        return cursor.rowcount == 1

    async def get(self, advice_id: int) -> Advice | None:
        async with self.conn.execute("SELECT * FROM advice WHERE id = ?", (advice_id,)) as c:
            row = await c.fetchone()
        return _advice(row) if row else None

    async def list(self, *, topic: str | None = None, active_only: bool = True) -> list[Advice]:
        query = "SELECT * FROM advice WHERE 1 = 1"
        args: list[object] = []
        if topic is not None:
            query += " AND topic = ?"
            args.append(topic)
        if active_only:
            query += " AND active = 1"
        async with self.conn.execute(query + " ORDER BY position", args) as c:
            return [_advice(row) for row in await c.fetchall()]

    async def set_active(self, advice_id: int, active: bool) -> bool:
        cursor = await self.conn.execute(
            "UPDATE advice SET active = ? WHERE id = ?", (int(active), advice_id)
        )
        return cursor.rowcount == 1

    async def next_in_rotation(self) -> Advice | None:
        """The active tip broadcast the fewest times, earliest in the library first: no tip
        repeats before every active tip has gone out once."""
        async with self.conn.execute(
            "SELECT * FROM advice WHERE active = 1 ORDER BY broadcast_count, position LIMIT 1"
        ) as c:
            row = await c.fetchone()
        return _advice(row) if row else None

    async def first_loaded_at(self) -> datetime | None:
        """When the shipped library was first loaded: the first start of this deployment."""
        async with self.conn.execute(
            "SELECT min(created_at) FROM advice WHERE added_by IS NULL"
        ) as c:
            row = await c.fetchone()
        return from_text(row[0]) if row and row[0] else None

    async def mark_broadcast(self, advice_id: int) -> None:
        await self.conn.execute(
            "UPDATE advice SET broadcast_count = broadcast_count + 1,"
            " last_broadcast_at = ? WHERE id = ?",
            (to_text(self.clock.now()), advice_id),
        )


class BroadcastRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def create(
        self,
        key: str,
        kind: str,
        *,
        advice_id: int | None = None,
        created_by: int | None = None,
        text: str | None = None,
        photo_file_id: str | None = None,
    ) -> Broadcast | None:
        """A new broadcast, or None when one with this key exists (the run already happened)."""
        cursor = await self.conn.execute(
            "INSERT INTO broadcasts (key, kind, advice_id, created_by, text,"
            " photo_file_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, kind, advice_id, created_by, text, photo_file_id, to_text(self.clock.now())),
        )
        if cursor.rowcount != 1:
            return None
        return await self.get_by_key(key)

    async def get_by_key(self, key: str) -> Broadcast | None:
        async with self.conn.execute("SELECT * FROM broadcasts WHERE key = ?", (key,)) as c:
            row = await c.fetchone()
        return _broadcast(row) if row else None

    async def get(self, broadcast_id: int) -> Broadcast | None:
        async with self.conn.execute("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)) as c:
            row = await c.fetchone()
        return _broadcast(row) if row else None

    async def set_recipients(self, broadcast_id: int, count: int) -> None:
        await self.conn.execute(
            "UPDATE broadcasts SET recipients = ? WHERE id = ?", (count, broadcast_id)
        )

    async def set_report(self, broadcast_id: int, message_id: int) -> None:
        await self.conn.execute(
            "UPDATE broadcasts SET report_message_id = ? WHERE id = ?", (message_id, broadcast_id)
        )

    async def finish(self, broadcast_id: int) -> None:
        await self.conn.execute(
            "UPDATE broadcasts SET finished_at = ? WHERE id = ?",
            (to_text(self.clock.now()), broadcast_id),
        )

    async def open_reports(self) -> list[Broadcast]:
        """Broadcasts whose live delivery report in the officer chat is still being updated."""
        async with self.conn.execute(
            "SELECT * FROM broadcasts WHERE report_message_id IS NOT NULL"
            " AND finished_at IS NULL ORDER BY id"
        ) as c:
            return [_broadcast(row) for row in await c.fetchall()]

    async def progress(self, broadcast_id: int) -> dict[str, int]:
        """Delivery rows of a broadcast by status: pending, sent, failed, unreachable."""
        async with self.conn.execute(
            "SELECT status, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        ) as c:
            return {row[0]: row[1] for row in await c.fetchall()}


class GroupRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def upsert(
        self, chat_id: int, title: str, status: str, *, added_by_name: str | None, language: str
    ) -> None:
        now = to_text(self.clock.now())
        await self.conn.execute(
            "INSERT INTO community_groups (chat_id, title, status, added_by_name, language,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title,"
            " status = excluded.status, added_by_name = excluded.added_by_name,"
            " updated_at = excluded.updated_at",
            (chat_id, title, status, added_by_name, language, now, now),
        )

    async def get(self, chat_id: int) -> CommunityGroup | None:
        async with self.conn.execute(
            "SELECT * FROM community_groups WHERE chat_id = ?", (chat_id,)
        ) as c:
            row = await c.fetchone()
        return _group(row) if row else None

    async def set_status(self, chat_id: int, status: str) -> bool:
        cursor = await self.conn.execute(
            "UPDATE community_groups SET status = ?, updated_at = ? WHERE chat_id = ?",
            (status, to_text(self.clock.now()), chat_id),
        )
        return cursor.rowcount == 1

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group upgraded to a supergroup keeps its approval under its new id."""
        await self.conn.execute(
            "UPDATE community_groups SET chat_id = ?, updated_at = ? WHERE chat_id = ?",
            (new_chat_id, to_text(self.clock.now()), old_chat_id),
        )
        await self.conn.execute(
            "UPDATE outbox SET chat_id = ?, lane = ? WHERE chat_id = ? AND status = 'pending'",
            (new_chat_id, f"chat:{new_chat_id}", old_chat_id),
        )

    async def approved(self) -> list[CommunityGroup]:
        async with self.conn.execute(
            "SELECT * FROM community_groups WHERE status = 'approved' ORDER BY chat_id"
        ) as c:
            return [_group(row) for row in await c.fetchall()]
