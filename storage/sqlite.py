"""The SQLite backend: one long-lived connection, its pragmas, and its transactions.

aiosqlite runs the connection on its own thread, and an asyncio lock makes each transaction
(and each read) see a consistent database. Write transactions start with BEGIN IMMEDIATE so they
never fail half-way with "database is locked".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.sql import SQLITE, Connection, Result, returns_rows

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

    @asynccontextmanager
    async def unguarded(self) -> AsyncIterator[Connection]:
        """Reads, and statements that each commit on their own, one at a time."""
        async with self._lock:
            yield self.conn
