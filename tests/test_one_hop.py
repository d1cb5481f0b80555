"""A transaction in one round trip (`Store.run`): on SQLite the whole body runs on aiosqlite's
thread; whatever the backend, it commits whole or not at all, and wakes who reads what it wrote."""

from __future__ import annotations

import asyncio

import aiosqlite
import pytest

from storage import Store, Tx
from storage.sqlite import AwaitedElsewhere

pytestmark = pytest.mark.timeout(20)


async def count(tx: Tx) -> int:
    async with tx.conn.execute("SELECT n FROM counters WHERE id = 1") as rows:
        row = await rows.fetchone()
    assert row is not None
    return int(row[0])


async def bump(tx: Tx) -> int:
    await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
    return await count(tx)


async def test_a_body_commits_whole_and_wakes_who_reads_what_it_wrote(store: Store) -> None:
    counters, outbox = asyncio.Event(), asyncio.Event()
    store.on_commit(counters, tables=["counters"])
    store.on_commit(outbox, tables=["outbox"])

    assert await store.run(bump) == 1

    assert await store.run_read(count) == 1
    assert counters.is_set()
    assert not outbox.is_set()  # nothing was written there: the drainer sleeps on


async def test_a_body_that_raises_leaves_nothing_and_the_caller_hears_why(store: Store) -> None:
    async def bump_then_refuse(tx: Tx) -> None:
        await bump(tx)
        raise LookupError("the resident is blocked")

    with pytest.raises(LookupError, match="blocked"):
        await store.run(bump_then_refuse)

    assert await store.run_read(count) == 0
    assert await store.run(bump) == 1  # the connection is usable: nothing was left open


async def test_bodies_and_statement_by_statement_transactions_never_interleave(
    store: Store,
) -> None:
    async def one_by_one() -> None:
        async with store.transaction() as tx:
            await count(tx)
            await asyncio.sleep(0)  # another writer gets the loop here, never the connection
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = 1")

    await asyncio.gather(*(store.run(bump) for _ in range(40)), *(one_by_one() for _ in range(40)))

    assert await store.run_read(count) == 80


async def test_on_sqlite_a_body_may_await_nothing_but_its_statements(
    store: Store, database: str
) -> None:
    if database.startswith("postgresql://"):
        pytest.skip("PostgreSQL runs a body on the event loop: it may await anything")

    async def bump_then_wait(tx: Tx) -> None:
        await bump(tx)
        await asyncio.sleep(0)  # e.g. a Bot API call: it must come after the commit

    with pytest.raises(AwaitedElsewhere):
        await store.run(bump_then_wait)

    assert await store.run_read(count) == 0  # rolled back


async def test_on_sqlite_a_body_is_one_round_trip_to_the_database_thread(
    store: Store, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.startswith("postgresql://"):
        pytest.skip("the round trips counted are aiosqlite's")
    trips = 0
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        nonlocal trips
        trips += 1
        return await queue(self, fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

    async def five_statements(tx: Tx) -> int:
        for _ in range(4):
            await bump(tx)
        return await count(tx)

    assert await store.run(five_statements) == 4
    assert trips == 1  # BEGIN, nine statements and COMMIT: one call on aiosqlite's thread
