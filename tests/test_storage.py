"""Storage on its own: migrations, idempotent filing, the outbox's lanes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from storage import Store
from storage.db import connect, migration_files, pending_migrations
from storage.outbox import PRIORITY_BULK, PRIORITY_URGENT, NewDelivery
from storage.payload import Payload
from storage.sql import written_tables
from storage.tips import NewTip
from tests.postgres import Server

EMPTY = Payload(contents=())


@pytest.mark.sqlite_only(reason="SQLite's file, tables and WAL mode")
async def test_every_migration_applies_to_an_empty_database(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "empty.sqlite3"))
    await store.open()
    async with store.read() as tx:
        assert await pending_migrations(tx.conn) == []
    await store.close()
    with sqlite3.connect(tmp_path / "empty.sqlite3") as raw:
        versions = [row[0] for row in raw.execute("SELECT version FROM schema_migrations")]
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == [version for version, _, _ in migration_files()]
    assert {"residents", "tips", "outbox", "thread_messages", "tip_messages"} <= tables
    assert mode == "wal"


async def test_every_migration_applies_to_an_empty_postgresql_database(
    postgres_server: Server | None,
) -> None:
    """Not the suite's template: a database made empty here, migrated by the bot's Store."""
    if postgres_server is None:
        pytest.skip("PostgreSQL only (run with --backend=postgresql)")
    admin = await asyncpg.connect(postgres_server.url())
    await admin.execute("CREATE DATABASE empty_for_migrations")
    try:
        store = Store(postgres_server.url("empty_for_migrations"))
        await store.open()
        async with store.autocommit() as tx:
            assert await pending_migrations(tx.conn) == []
            async with tx.conn.execute("SELECT version FROM schema_migrations ORDER BY 1") as c:
                versions = [row[0] for row in await c.fetchall()]
            async with tx.conn.execute(
                "SELECT table_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name IN ('id', 'user_id', 'chat_id')"
            ) as c:
                key_types = {(row[0], row[1]) for row in await c.fetchall()}
        await store.close()
    finally:
        await admin.execute("DROP DATABASE empty_for_migrations WITH (FORCE)")
        await admin.close()
    assert versions == [version for version, _, _ in migration_files()]
    assert {("tips", "bigint"), ("residents", "bigint"), ("outbox", "bigint")} <= key_types
    assert {data_type for _, data_type in key_types} == {"bigint"}, "Telegram ids need 64 bits"


async def test_reopening_applies_nothing_twice(database: str) -> None:
    for _ in range(2):
        store = Store(database)
        await store.open()
        await store.close()
    conn = await connect(database)
    assert await pending_migrations(conn) == []
    await conn.close()


@pytest.mark.sqlite_only(reason="SQLite's foreign_keys pragma")
async def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    conn = await connect(str(tmp_path / "keys.sqlite3"))
    async with conn.execute("PRAGMA foreign_keys") as cursor:
        row = await cursor.fetchone()
    assert row is not None and row[0] == 1
    await conn.close()


async def test_a_tip_is_stored_once_per_source_key(database: str) -> None:
    store = Store(database)
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


async def test_outbox_sends_a_lane_in_order_and_urgent_first(database: str) -> None:
    store = Store(database)
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


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        ("INSERT INTO outbox (kind) VALUES (?) ON CONFLICT DO NOTHING RETURNING id", {"outbox"}),
        ("insert or ignore into Residents (user_id) values (?)", {"residents"}),
        (
            "INSERT INTO ptb_persistence (kind, key, data) VALUES (?, ?, ?)"
            " ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data",
            {"ptb_persistence"},
        ),
        ("UPDATE outbox SET status = 'sent' WHERE id = ?", {"outbox"}),
        ("DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o)", {"outbox"}),
        ("WITH old AS (SELECT id FROM tips) DELETE FROM tip_media WHERE 1", {"tip_media"}),
        ("SELECT * FROM outbox WHERE status = 'pending'", set()),
    ],
)
def test_a_statement_names_the_tables_it_writes(sql: str, tables: set[str]) -> None:
    assert written_tables(sql) == tables


async def test_a_commit_wakes_only_listeners_of_the_tables_it_wrote(database: str) -> None:
    """The drainer hears of outbox writes only; the alarm service of everything but a
    conversation's state; a transaction that wrote nothing wakes nobody."""
    store = Store(database)
    await store.open()
    outbox, alarms = asyncio.Event(), asyncio.Event()
    store.on_commit(outbox, tables={"outbox"})
    store.on_commit(alarms, ignored={"ptb_persistence"})
    async with store.transaction() as tx:
        await tx.persistence.save("conversation:report", "[1, 1]", "{}")
    async with store.transaction() as tx:
        await tx.outbox.pending_in_lane("chat:1", "x")
    assert not outbox.is_set() and not alarms.is_set()
    async with store.transaction() as tx:
        await tx.residents.ensure(1, "en")
    assert alarms.is_set() and not outbox.is_set()
    alarms.clear()
    async with store.transaction() as tx:
        await tx.outbox.enqueue(NewDelivery("x", 1, EMPTY))
    assert outbox.is_set() and alarms.is_set()
    outbox.clear()
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.outbox.enqueue(NewDelivery("x", 1, EMPTY))
            raise RuntimeError("rolled back")
    assert not outbox.is_set()  # nothing was committed
    await store.close()


async def test_a_group_commit_marks_many_rows_sent_in_one_statement(database: str) -> None:
    store = Store(database)
    await store.open()
    async with store.transaction() as tx:
        ids = [await tx.outbox.enqueue(NewDelivery("x", chat, EMPTY)) for chat in (1, 2, 3)]
    first, second, third = (row_id for row_id in ids if row_id is not None)
    async with store.transaction() as tx:
        await tx.outbox.mark_sent_many([(first, [[11]]), (third, [[13, 14]]), (999, [[1]])])
    async with store.read() as tx:
        rows = {row.id: row for row in await tx.outbox.rows()}
    assert (rows[first].status, rows[first].message_ids, rows[first].attempts) == (
        "sent",
        ((11,),),
        1,
    )
    assert (rows[third].status, rows[third].message_ids) == ("sent", ((13, 14),))
    assert rows[second].status == "pending" and 999 not in rows
    await store.close()
