"""Replicas writing side by side: a transaction PostgreSQL picks as a deadlock's victim is run
again, whole, and both writers' work lands once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from storage import Store, Tx
from storage.conflicts import ATTEMPTS, rerun_on_conflict

pytestmark = pytest.mark.timeout(20)


async def counts(store: Store) -> list[tuple[int, int]]:
    async with (
        store.read() as tx,
        tx.conn.execute("SELECT id, n FROM counters ORDER BY id") as rows,
    ):
        return [(row[0], row[1]) for row in await rows.fetchall()]


async def test_two_transactions_locking_two_rows_in_opposite_orders_both_land(
    store: Store, database: str
) -> None:
    if not database.startswith("postgresql://"):
        pytest.skip("PostgreSQL only: SQLite runs one write transaction at a time")
    locked = {1: asyncio.Event(), 2: asyncio.Event()}
    attempts = {1: 0, 2: 0}

    def bump_both(first: int, second: int) -> Callable[[Tx], Awaitable[int]]:
        async def body(tx: Tx) -> int:
            attempts[first] += 1
            # The server's default is 1 s; the story needs no more than a moment.
            await tx.conn.execute("SET LOCAL deadlock_timeout = '20ms'")
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (first,))
            locked[first].set()
            await locked[second].wait()  # each holds one row and asks for the other's
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (second,))
            return first

        return body

    done = await asyncio.gather(store.run(bump_both(1, 2)), store.run(bump_both(2, 1)))
    assert sorted(done) == [1, 2]  # neither caller saw the deadlock
    assert sorted(attempts.values()) == [1, 2]  # the victim ran once more, the winner once
    assert await counts(store) == [(1, 2), (2, 2)]  # the rolled-back attempt left nothing


async def test_without_a_retry_one_of_them_fails_with_a_deadlock(
    store: Store, database: str
) -> None:
    """The same two transactions through the plain `transaction()`: PostgreSQL really does
    pick a victim (what the retry above absorbs)."""
    if not database.startswith("postgresql://"):
        pytest.skip("PostgreSQL only: SQLite runs one write transaction at a time")
    locked = {1: asyncio.Event(), 2: asyncio.Event()}

    async def bump_both(first: int, second: int) -> None:
        async with store.transaction() as tx:
            await tx.conn.execute("SET LOCAL deadlock_timeout = '20ms'")
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (first,))
            locked[first].set()
            await locked[second].wait()
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (second,))

    results = await asyncio.gather(bump_both(1, 2), bump_both(2, 1), return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], asyncpg.DeadlockDetectedError)
    assert await counts(store) == [(1, 1), (2, 1)]  # the winner's work only


async def test_a_transaction_that_keeps_losing_gives_up_and_others_are_never_rerun(
    store: Store,
) -> None:
    calls = 0

    @rerun_on_conflict
    async def always_the_victim() -> None:
        nonlocal calls
        calls += 1
        async with store.transaction() as tx:
            await tx.conn.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
            raise asyncpg.DeadlockDetectedError("deadlock detected")

    with pytest.raises(asyncpg.DeadlockDetectedError):
        await always_the_victim()
    assert calls == ATTEMPTS
    assert await counts(store) == [(1, 0), (2, 0)]  # every attempt was rolled back

    async def broken(tx: Tx) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a mistake, not a conflict")

    calls = 0
    with pytest.raises(ValueError):
        await store.run(broken)
    assert calls == 1


def test_the_bot_functions_that_lock_several_rows_are_the_ones_rerun() -> None:
    """Each is one write transaction and nothing else (its sends are outbox rows), so running
    it again whole is safe; the story above shows what the re-run does."""
    from bot import desk, erasure, merge

    for function in (desk.press, merge.merge, merge.unmerge, erasure.erase):
        assert hasattr(function, "__wrapped__"), function.__qualname__
