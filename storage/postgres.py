"""The PostgreSQL backend: a pool of asyncpg connections, one per transaction.

Transactions run at READ COMMITTED side by side. What must happen once relies on what the
repositories already do: conditional UPDATEs (`… WHERE status = ?`: of two transactions the
second waits for the first's row lock, re-reads the row and changes nothing) and unique keys
with `ON CONFLICT DO NOTHING` (the second insert waits for the first to commit, then inserts
nothing). Reads run in a REPEATABLE READ, read-only transaction: one snapshot, as SQLite's reads.

The migrations are SQLite's files; `ddl()` turns their few SQLite-isms into PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

import asyncpg

from storage.sql import POSTGRESQL, Connection, Result, numbered, returns_rows

DEFAULT_POOL_SIZE = 10  # DATABASE_POOL_SIZE (bot/config.py)
# Several processes starting at once migrate one at a time (an arbitrary, fixed lock key).
MIGRATION_LOCK = 7_302_164_771
LEADER_LOCK = 7_302_164_772  # held by the scheduler leader among replicas (bot/replicas.py)


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _rowcount(status: str) -> int:
    """asyncpg's command tag ("UPDATE 3", "INSERT 0 1", "DELETE 2") → the rows changed."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PostgresConnection(Connection):
    dialect = POSTGRESQL

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw
        self._notified: set[str] = set()
        self.written: set[str] = set()

    async def _execute(self, sql: str, args: tuple[object, ...]) -> Result:
        query = numbered(sql)
        if returns_rows(sql):
            rows = await self.raw.fetch(query, *args)
            return Result(rows, len(rows))
        return Result((), _rowcount(await self.raw.execute(query, *args)))

    async def _executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        batch = list(rows)
        if batch:
            await self.raw.executemany(numbered(sql), batch)

    async def script(self, sql: str) -> None:
        await self.raw.execute(sql)

    async def notify(self, channel: str, payload: str) -> None:
        if channel not in self._notified:  # once per transaction is enough
            self._notified.add(channel)
            await self.raw.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def close(self) -> None:
        await self.raw.close()


# Named in pg_stat_activity: `porchlight check` counts the replicas' connections by it.
SERVER_SETTINGS = {"application_name": "porchlight"}


async def connect(url: str) -> PostgresConnection:
    return PostgresConnection(await asyncpg.connect(url, server_settings=SERVER_SETTINGS))


class PostgresBackend:
    """A pool: transactions of different chats (and the outbox drainer) run side by side."""

    dialect = POSTGRESQL

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def connect(self) -> PostgresConnection:
        return await connect(self.url)

    async def start_pool(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=self.pool_size, server_settings=SERVER_SETTINGS
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("Store.open() has not been called")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as raw, raw.transaction():
            yield PostgresConnection(raw)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with (
            self.pool.acquire() as raw,
            raw.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield PostgresConnection(raw)

    @asynccontextmanager
    async def unguarded(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as raw:
            yield PostgresConnection(raw)


class ControlConnection:
    """A replica's own connection, outside the pool: it LISTENs for the other replicas' news
    and holds the scheduler leader's advisory lock. The lock lives as long as the connection:
    a replica killed with -9 loses it as soon as the server sees the socket closed, so
    another replica can lead a moment later."""

    def __init__(self, url: str, on_notify: Callable[[str, str], None]) -> None:
        self.url = url
        self.on_notify = on_notify
        self._raw: asyncpg.Connection | None = None

    async def open(self, channels: Iterable[str]) -> None:
        self._raw = await asyncpg.connect(self.url, server_settings=SERVER_SETTINGS)
        for channel in channels:
            await self._raw.add_listener(channel, self._heard)

    def _heard(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.on_notify(channel, payload)

    async def try_lead(self) -> bool:
        """Take the leader's lock if nobody holds it (a no-op for its holder)."""
        return bool(await self.raw.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))

    async def alive(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether the connection (and so the lock and the listening) still holds."""
        if self._raw is None or self._raw.is_closed():
            return False
        try:
            await self._raw.fetchval("SELECT 1", timeout=timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            return False
        return True

    @property
    def raw(self) -> asyncpg.Connection:
        if self._raw is None:
            raise RuntimeError("ControlConnection.open() has not been called")
        return self._raw

    async def close(self) -> None:
        """Close (the lock goes with it); a connection already broken is simply dropped."""
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                await raw.close(timeout=2)
            except Exception:
                raw.terminate()


# Migrations ---------------------------------------------------------------------------------

_DDL = (
    # A word only PostgreSQL reads (`CREATE /* postgresql: UNLOGGED */ TABLE`): SQLite skips it.
    (re.compile(r"/\* postgresql: ([A-Z ]+) \*/"), r"\1"),
    # An `id` key numbers itself (SQLite's rowid alias); other integer keys are given.
    (
        re.compile(r"\bid INTEGER PRIMARY KEY\b"),
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),  # Telegram ids exceed 32 bits
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\s+AUTOINCREMENT\b"), ""),
    (
        re.compile(r"datetime\('now'\)"),
        """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
    ),
)

# Rows copied with their ids (a table rebuilt, as 0015 does) leave the identity behind them.
RESET_IDENTITIES = """
DO $$DECLARE col record; BEGIN
  FOR col IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L),'
                   ' coalesce((SELECT max(%I) FROM %I), 0) + 1, false)',
                   col.table_name, col.column_name, col.column_name, col.table_name);
  END LOOP;
END$$;
"""


def ddl(sql: str) -> str:
    """A migration written for SQLite, in PostgreSQL's words (types are upper case in the
    files; comments and names in lower case are left alone)."""
    for pattern, replacement in _DDL:
        sql = pattern.sub(replacement, sql)
    return sql
