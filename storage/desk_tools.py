"""Blocks (residents who may not reach officers) and canned replies (officers' templates)."""

from __future__ import annotations

from storage.clock import Clock, from_text, to_text
from storage.models import Block, Canned
from storage.sql import Connection, Row


def _block(row: Row) -> Block:
    return Block(
        resident_id=row["resident_id"],
        tip_id=row["tip_id"],
        reason=row["reason"],
        officer_id=row["officer_id"],
        created_at=from_text(row["created_at"]),
    )


def _canned(row: Row) -> Canned:
    texts = {"en": row["text_en"]}
    if row["text_es"]:
        texts["es"] = row["text_es"]
    return Canned(name=row["name"], texts=texts)


class BlockRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def get(self, resident_id: int) -> Block | None:
        async with self.conn.execute(
            "SELECT * FROM blocks WHERE resident_id = ?", (resident_id,)
        ) as c:
            row = await c.fetchone()
        return _block(row) if row else None

    async def add(
        self, resident_id: int, *, tip_id: int, reason: str | None, officer_id: int
    ) -> bool:
        """Block the resident; False when they already were."""
        cursor = await self.conn.execute(
            "INSERT INTO blocks (resident_id, tip_id, reason, officer_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (resident_id, tip_id, reason, officer_id, to_text(self.clock.now())),
        )
        return cursor.rowcount == 1

    async def remove(self, resident_id: int) -> bool:
        """Lift the block; False when there was none."""
        cursor = await self.conn.execute("DELETE FROM blocks WHERE resident_id = ?", (resident_id,))
        return cursor.rowcount == 1

    # A block that outlives the resident's erasure: keyed by a hash of their id (bot/blocks.py).

    async def hold(self, resident_id: int, resident_hash: str) -> bool:
        """Move the resident's block (if any) to its hash; False when they were not blocked."""
        cursor = await self.conn.execute(
            "INSERT INTO erased_blocks (resident_hash, tip_id, reason, officer_id,"
            " created_at) SELECT ?, tip_id, reason, officer_id, created_at FROM blocks"
            " WHERE resident_id = ? ON CONFLICT (resident_hash) DO UPDATE SET"
            " tip_id = excluded.tip_id, reason = excluded.reason,"
            " officer_id = excluded.officer_id, created_at = excluded.created_at",
            (resident_hash, resident_id),
        )
        await self.conn.execute("DELETE FROM blocks WHERE resident_id = ?", (resident_id,))
        return cursor.rowcount == 1

    async def restore(self, resident_hash: str, resident_id: int) -> bool:
        """The same account came back: its held block applies to its new registration."""
        cursor = await self.conn.execute(
            "INSERT INTO blocks (resident_id, tip_id, reason, officer_id, created_at)"
            " SELECT ?, tip_id, reason, officer_id, created_at FROM erased_blocks"
            " WHERE resident_hash = ? ON CONFLICT DO NOTHING",
            (resident_id, resident_hash),
        )
        await self.conn.execute(
            "DELETE FROM erased_blocks WHERE resident_hash = ?", (resident_hash,)
        )
        return cursor.rowcount == 1

    async def lift_by_tip(self, tip_id: int) -> bool:
        """Lift the block made from `tip_id`, held or restored to a returning account (whose
        new registration the erased tip no longer names); False when there is none."""
        held = await self.conn.execute("DELETE FROM erased_blocks WHERE tip_id = ?", (tip_id,))
        restored = await self.conn.execute("DELETE FROM blocks WHERE tip_id = ?", (tip_id,))
        return held.rowcount + restored.rowcount > 0


class CannedRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    async def get(self, name: str) -> Canned | None:
        async with self.conn.execute("SELECT * FROM canned_replies WHERE name = ?", (name,)) as c:
            row = await c.fetchone()
        return _canned(row) if row else None

    async def all(self) -> list[Canned]:
        async with self.conn.execute("SELECT * FROM canned_replies ORDER BY name") as c:
            return [_canned(row) for row in await c.fetchall()]

    async def put(self, name: str, text_en: str, text_es: str | None, officer_id: int) -> bool:
        """Add or replace a template. Returns True when it is new."""
        existed = await self.get(name) is not None
        now = to_text(self.clock.now())
        await self.conn.execute(
            "INSERT INTO canned_replies (name, text_en, text_es, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET text_en = excluded.text_en,"
            " text_es = excluded.text_es, updated_at = excluded.updated_at",
            (name, text_en, text_es, officer_id, now, now),
        )
        return not existed

    async def remove(self, name: str) -> bool:
        cursor = await self.conn.execute("DELETE FROM canned_replies WHERE name = ?", (name,))
        return cursor.rowcount == 1
