"""Storage on its own: migrations, idempotent filing, the outbox's lanes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage import Store
from storage.db import connect, migration_files, pending_migrations
from storage.outbox import PRIORITY_BULK, PRIORITY_URGENT, NewDelivery
from storage.payload import Payload
from storage.tips import NewTip

EMPTY = Payload(contents=())


async def test_every_migration_applies_to_an_empty_database(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "empty.sqlite3"))
    await store.open()
    assert await pending_migrations(store.conn) == []
    await store.close()
    with sqlite3.connect(tmp_path / "empty.sqlite3") as raw:
        versions = [row[0] for row in raw.execute("SELECT version FROM schema_migrations")]
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == [version for version, _, _ in migration_files()]
    assert {"residents", "tips", "outbox", "thread_messages", "tip_messages"} <= tables
    assert mode == "wal"


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = str(tmp_path / "again.sqlite3")
    for _ in range(2):
        store = Store(path)
        await store.open()
        await store.close()
    conn = await connect(path)
    assert await pending_migrations(conn) == []
    async with conn.execute("PRAGMA foreign_keys") as cursor:
        assert (await cursor.fetchone())[0] == 1
    await conn.close()


async def test_a_tip_is_stored_once_per_source_key(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "tips.sqlite3"))
    await store.open()
    new = NewTip(
        source_key="report:1:5", resident_id=1, category="other", description="x", language="en"
    )
    async with store.transaction() as tx:
        await tx.residents.ensure(1, "en")
        first, created = await tx.tips.insert(new)
        again, created_again = await tx.tips.insert(new)
    assert created and not created_again and first.id == again.id
    await store.close()


async def test_outbox_sends_a_lane_in_order_and_urgent_first(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "outbox.sqlite3"))
    await store.open()
    async with store.transaction() as tx:
        a1 = await tx.outbox.enqueue(NewDelivery("x", 1, EMPTY, lane="a", priority=PRIORITY_BULK))
        a2 = await tx.outbox.enqueue(NewDelivery("x", 1, EMPTY, lane="a", priority=PRIORITY_URGENT))
        b1 = await tx.outbox.enqueue(NewDelivery("x", 2, EMPTY, lane="b", priority=PRIORITY_URGENT))
        dup = await tx.outbox.enqueue(NewDelivery("x", 2, EMPTY, lane="b", dedupe_key="k"))
        dup2 = await tx.outbox.enqueue(NewDelivery("x", 2, EMPTY, lane="b", dedupe_key="k"))
    async with store.read() as tx:
        due = await tx.outbox.due(now=1e12, limit=10, busy_lanes=set())
        busy = await tx.outbox.due(now=1e12, limit=10, busy_lanes={"b"})
    # a2 is urgent but waits behind a1 in its lane; b's head goes first.
    assert [row.id for row in due] == [b1, a1]
    assert [row.id for row in busy] == [a1]
    assert a2 is not None and dup is not None and dup2 is None
    await store.close()
