"""The Store (one database, SQLite or PostgreSQL), its transactions, and the migration runner.

`Store(location)` picks the backend: a `postgresql://` URL is PostgreSQL (storage/postgres.py),
anything else a SQLite file (storage/sqlite.py). The repositories see only the connection
interface of storage/sql.py, whichever it is.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from storage import postgres
from storage.broadcasts import BroadcastRepo, GroupRepo, LibraryRepo
from storage.clock import Clock, SystemClock, to_text
from storage.conflicts import rerun
from storage.desk_tools import BlockRepo, CannedRepo
from storage.escalation import EscalationRepo, OverviewRepo
from storage.events import EventRepo
from storage.flood import FloodRepo
from storage.forum_topics import ForumTopicRepo
from storage.inbox import InboxRepo
from storage.outbox import OutboxRepo
from storage.persistence_repo import PersistenceRepo
from storage.postgres import ControlConnection, PostgresBackend, is_postgres_url
from storage.privacy import PrivacyRepo
from storage.residents import ResidentRepo
from storage.sql import POSTGRESQL, Connection
from storage.sqlite import SqliteBackend
from storage.stats import StatsRepo
from storage.tips import TipRepo

log = logging.getLogger(__name__)

T = TypeVar("T")

Backend = SqliteBackend | PostgresBackend

# What replicas LISTEN to (PostgreSQL): another replica committed a write (the outbox may have
# rows, an alarm may be due sooner); the payload is the committing replica's name.
COMMIT_CHANNEL = "porchlight_commit"

# What a database that is down, locked or gone raises, whichever the backend.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


class Tx:
    """The repositories, bound to one connection inside one transaction (or read)."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.residents = ResidentRepo(conn, clock)
        self.tips = TipRepo(conn, clock)
        self.outbox = OutboxRepo(conn, clock)
        self.persistence = PersistenceRepo(conn)
        self.library = LibraryRepo(conn, clock)
        self.broadcasts = BroadcastRepo(conn, clock)
        self.groups = GroupRepo(conn, clock)
        self.events = EventRepo(conn, clock)
        self.inbox = InboxRepo(conn, clock)
        self.blocks = BlockRepo(conn, clock)
        self.canned = CannedRepo(conn, clock)
        self.escalations = EscalationRepo(conn, clock)
        self.overview = OverviewRepo(conn, clock)
        self.privacy = PrivacyRepo(conn, clock)
        self.forum_topics = ForumTopicRepo(conn, clock)
        self.stats = StatsRepo(conn, clock)
        self.flood = FloodRepo(conn)

    async def audit(
        self, action: str, *, actor_id: int | None, tip_id: int | None, detail: str = ""
    ) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (actor_id, action, tip_id, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (actor_id, action, tip_id, detail, to_text(self.clock.now())),
        )


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in storage/migrations, in order."""
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _in_dialect(conn: Connection, sql: str) -> str:
    return postgres.ddl(sql) if conn.dialect is POSTGRESQL else sql


async def _applied_versions(conn: Connection) -> set[int]:
    await conn.script(
        _in_dialect(
            conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def pending_migrations(conn: Connection) -> list[str]:
    applied = await _applied_versions(conn)
    return [name for version, name, _ in migration_files() if version not in applied]


async def unknown_migrations(conn: Connection) -> list[int]:
    """Versions applied to the database that this installation has no file for: a newer
    Porchlight migrated it (a rolling upgrade's old replicas see this)."""
    known = {version for version, _, _ in migration_files()}
    return sorted(await _applied_versions(conn) - known)


async def apply_migrations(conn: Connection, until: int | None = None) -> list[str]:
    """Apply every migration not applied yet (up to version `until`: the migration tests build
    a database of an earlier version), each in its own transaction. Returns their names.
    On PostgreSQL an advisory lock makes processes starting together migrate one at a time."""
    on_postgres = conn.dialect is POSTGRESQL
    if on_postgres:
        await conn.execute("SELECT pg_advisory_lock(?)", (postgres.MIGRATION_LOCK,))
    try:
        applied = await _applied_versions(conn)
        done = []
        for version, name, sql in migration_files():
            if version in applied or (until is not None and version > until):
                continue
            stamp = to_text(SystemClock().now())
            # One script, one transaction: a failure leaves nothing half-applied. (SQLite's
            # executescript commits first, hence the explicit BEGIN.)
            script = (
                f"{conn.dialect.begin_write};\n{_in_dialect(conn, sql)}\n"
                f"INSERT INTO schema_migrations VALUES ({version}, '{name}', '{stamp}');\n"
                + (postgres.RESET_IDENTITIES if on_postgres else "")
                + "COMMIT;"
            )
            try:
                await conn.script(script)
            except BaseException:
                await _roll_back(conn)
                raise
            log.info("applied migration %s", name)
            done.append(name)
        return done
    finally:
        if on_postgres:
            await conn.execute("SELECT pg_advisory_unlock(?)", (postgres.MIGRATION_LOCK,))


async def _roll_back(conn: Connection) -> None:
    try:
        await conn.script("ROLLBACK")
    except Exception:  # nothing was open: the script failed before its BEGIN
        log.debug("no transaction to roll back", exc_info=True)


def backend_for(location: str, pool_size: int = postgres.DEFAULT_POOL_SIZE) -> Backend:
    if is_postgres_url(location):
        return PostgresBackend(location, pool_size)
    return SqliteBackend(location)


class Store:
    """The process's access to the database. `open()` is idempotent and migrates.

    `location` is a SQLite file path or a `postgresql://` URL (DATABASE_URL); `pool_size` is
    PostgreSQL's most connections at once (DATABASE_POOL_SIZE; SQLite has one)."""

    def __init__(
        self,
        location: str,
        clock: Clock | None = None,
        *,
        pool_size: int = postgres.DEFAULT_POOL_SIZE,
    ) -> None:
        self.location = location
        self.clock: Clock = clock or SystemClock()
        self.backend: Backend = backend_for(location, pool_size)
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._listeners: list[tuple[asyncio.Event, frozenset[str] | None, frozenset[str]]] = []
        # Several replicas: every write transaction tells the others it committed (bot/replicas).
        self.announce_as: str | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes may use this database at once (PostgreSQL)."""
        return isinstance(self.backend, PostgresBackend)

    def control(self, on_notify: Callable[[str, str], None]) -> ControlConnection:
        """A replica's own connection for news and leadership (PostgreSQL only)."""
        if not isinstance(self.backend, PostgresBackend):
            raise RuntimeError("only PostgreSQL is shared by replicas")
        return ControlConnection(self.backend.url, on_notify)

    def changed_elsewhere(self, written: frozenset[str]) -> None:
        """Another replica committed writes to `written`: wake what waits for them, as a
        commit here does."""
        self._tell(written)

    def _tell(self, written: frozenset[str]) -> None:
        for event, tables, ignored in self._listeners:
            news = written - ignored
            if news and (tables is None or tables & news):
                event.set()

    @property
    def dialect_name(self) -> str:
        return self.backend.dialect.name

    async def open(self) -> None:
        async with self._open_lock:
            if self._opened:
                return
            conn = await self.backend.connect()
            try:
                await apply_migrations(conn)
            except BaseException:
                await conn.close()
                raise
            if isinstance(self.backend, PostgresBackend):
                await conn.close()
                await self.backend.start_pool()
            else:
                self.backend.adopt(conn)
            self._opened = True

    async def close(self) -> None:
        await self.backend.close()
        self._opened = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self.backend.transaction() as conn:
            conn.written.clear()
            yield Tx(conn, self.clock)
            written = frozenset(conn.written)
            if self.announce_as is not None and written:  # tell the other replicas what
                await conn.notify(COMMIT_CHANNEL, f"{self.announce_as} {','.join(sorted(written))}")
        self._tell(written)

    async def run(self, body: Callable[[Tx], Coroutine[Any, Any, T]]) -> T:
        """`body` as one write transaction, for the hot paths. `body` must do nothing but its
        statements (awaiting anything else is an error): on SQLite it runs whole on aiosqlite's
        thread, one round trip instead of one per statement (storage/sqlite.py); on PostgreSQL
        it is run again in a fresh transaction when the server rolled it back to break a
        deadlock (storage/conflicts.py), so a rolled-back attempt must leave no trace."""
        if isinstance(self.backend, SqliteBackend):
            clock = self.clock
            value, written = await self.backend.run(lambda conn: body(Tx(conn, clock)), write=True)
            self._tell(written)
            return value

        async def attempt() -> T:
            async with self.transaction() as tx:
                return await body(tx)

        named = getattr(body, "func", body)  # a functools.partial names its function
        return await rerun(attempt, getattr(named, "__qualname__", "a transaction"))

    async def run_read(self, body: Callable[[Tx], Coroutine[Any, Any, T]]) -> T:
        """`body` as reads that see one state of the database, in one round trip on SQLite
        (see `run`; the same rule: nothing but its statements)."""
        if isinstance(self.backend, SqliteBackend):
            clock = self.clock
            value, _ = await self.backend.run(lambda conn: body(Tx(conn, clock)), write=False)
            return value
        async with self.read() as tx:
            return await body(tx)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Tx]:
        """Statements that each commit on their own: one round trip instead of three, for a
        write that is a single statement (the update inbox). Commit listeners are not woken:
        nothing here is for the outbox."""
        async with self.backend.unguarded() as conn:
            yield Tx(conn, self.clock)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads that never see another coroutine's uncommitted writes."""
        if isinstance(self.backend, PostgresBackend):
            async with self.backend.read() as conn:
                yield Tx(conn, self.clock)
        else:
            async with self.backend.unguarded() as conn:
                yield Tx(conn, self.clock)

    def on_commit(
        self,
        event: asyncio.Event,
        tables: Iterable[str] | None = None,
        ignored: Iterable[str] = (),
    ) -> None:
        """Set `event` after a commit that wrote something (a commit that only read is no
        news): any table, or only one of `tables` (the outbox drainer), and never for a commit
        that wrote only `ignored` tables (the alarm service and a conversation's state)."""
        wanted = None if tables is None else frozenset(tables)
        self._listeners.append((event, wanted, frozenset(ignored)))


async def connect(location: str) -> Connection:
    """A connection of its own (for `porchlight migrate` and `check`), not the Store's."""
    return await backend_for(location).connect()
