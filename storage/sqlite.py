"""The SQLite backend: one long-lived connection, its pragmas, and its transactions.

aiosqlite runs the connection on its own thread, and an asyncio lock makes each transaction
(and each read) see a consistent database. Write transactions start with BEGIN IMMEDIATE so they
never fail half-way with "database is locked".

Each statement awaited from the event loop is a round trip to that thread (80-90 µs of CPU and
two thread switches; the statement itself costs 1-9 µs). `run()` takes the other road for the
hot paths: the whole transaction, its BEGIN and COMMIT included, goes to the thread as one call
and its statements run there directly (`OnThread`), one round trip instead of one per statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.sql import SQLITE, Connection, Result, returns_rows

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


class SqliteConnection(Connection):
    dialect = SQLITE

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw
        self.written: set[str] = set()

    async def _execute(self, sql: str, args: tuple[object, ...]) -> Result:
        if returns_rows(sql):
            rows = list(await self.raw.execute_fetchall(sql, args))
            return Result(rows, len(rows))
        cursor = await self.raw.execute(sql, args)
        return Result((), cursor.rowcount)

    async def _executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self.raw.executemany(sql, rows)

    async def script(self, sql: str) -> None:
        await self.raw.executescript(sql)

    async def close(self) -> None:
        await self.raw.close()


class OnThread(Connection):
    """The same connection seen from aiosqlite's own thread, inside `SqliteBackend.run`:
    statements run at once, so a body awaiting only them never suspends."""

    dialect = SQLITE

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.written: set[str] = set()

    async def _execute(self, sql: str, args: tuple[object, ...]) -> Result:
        cursor = self.raw.execute(sql, args)
        if returns_rows(sql):
            rows = cursor.fetchall()
            return Result(rows, len(rows))
        return Result((), cursor.rowcount)

    async def _executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.raw.executemany(sql, rows)

    async def script(self, sql: str) -> None:
        self.raw.executescript(sql)

    async def close(self) -> None:
        raise RuntimeError("the Store's connection is closed by the Store")


class AwaitedElsewhere(RuntimeError):
    """A body given to `run()` awaited something that is not one of its statements."""


def finish(body: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits are `OnThread` statements) to its end,
    without an event loop: this is what lets a transaction's body run on aiosqlite's thread."""
    try:
        body.send(None)
    except StopIteration as done:
        return done.value
    body.close()
    raise AwaitedElsewhere(
        "a storage body may await only its own statements (it runs on the database's thread)"
    )


def _in_one_go(
    body: Callable[[Connection], Coroutine[Any, Any, T]], write: bool, raw: sqlite3.Connection
) -> tuple[T, frozenset[str]]:
    """On aiosqlite's thread: BEGIN, the body's statements, COMMIT (ROLLBACK when it raised)."""
    conn = OnThread(raw)
    if write:
        raw.execute("BEGIN IMMEDIATE")
    try:
        value = finish(body(conn))
        if write:
            raw.execute("COMMIT")
    except BaseException:
        if write and raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return value, frozenset(conn.written)


async def connect(path: str) -> SqliteConnection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    raw = await aiosqlite.connect(path, isolation_level=None)
    raw.row_factory = aiosqlite.Row
    await raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await raw.execute("PRAGMA journal_mode = WAL")
    await raw.execute("PRAGMA synchronous = NORMAL")
    await raw.execute("PRAGMA foreign_keys = ON")
    return SqliteConnection(raw)


class SqliteBackend:
    """One connection for the whole process; one transaction (or read) at a time."""

    dialect = SQLITE

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: SqliteConnection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> SqliteConnection:
        return await connect(self.path)

    def adopt(self, conn: Connection) -> None:
        assert isinstance(conn, SqliteConnection)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> SqliteConnection:
        if self._conn is None:
            raise RuntimeError("Store.open() has not been called")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            conn = self.conn
            await conn.raw.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.raw.execute("ROLLBACK")
                raise
            await conn.raw.execute("COMMIT")

    async def run(
        self, body: Callable[[Connection], Coroutine[Any, Any, T]], *, write: bool
    ) -> tuple[T, frozenset[str]]:
        """`body` in one round trip to aiosqlite's thread (a write transaction, or reads):
        its value and the tables it wrote. aiosqlite has no public call for "run this on your
        thread"; `_execute` is the queue every one of its own calls goes through, the same
        since its first releases (pyproject pins the range; tests/test_one_hop.py checks it)."""
        async with self._lock:
            raw = self.conn.raw
            result: tuple[T, frozenset[str]] = await raw._execute(
                partial(_in_one_go, body, write, raw._conn)
            )
            return result

    @asynccontextmanager
    async def unguarded(self) -> AsyncIterator[Connection]:
        """Reads, and statements that each commit on their own, one at a time."""
        async with self._lock:
            yield self.conn
