"""The SQLite connection, its pragmas, transactions and the migration runner.

One long-lived connection serves the whole process: aiosqlite runs it on its own thread, and an
asyncio lock makes each transaction (and each read) see a consistent database. Write
transactions start with BEGIN IMMEDIATE so they never fail half-way with "database is locked".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.broadcasts import BroadcastRepo, GroupRepo, LibraryRepo
from storage.clock import Clock, SystemClock, to_text
from storage.desk_tools import BlockRepo, CannedRepo
from storage.escalation import EscalationRepo, OverviewRepo
from storage.events import EventRepo
from storage.forum_topics import ForumTopicRepo
from storage.inbox import InboxRepo
from storage.outbox import OutboxRepo
from storage.persistence_repo import PersistenceRepo
from storage.privacy import PrivacyRepo
from storage.residents import ResidentRepo
from storage.stats import StatsRepo
from storage.tips import TipRepo

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class Tx:
    """The repositories, bound to one connection inside one transaction (or read)."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
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


async def _applied_versions(conn: aiosqlite.Connection) -> set[int]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def pending_migrations(conn: aiosqlite.Connection) -> list[str]:
    applied = await _applied_versions(conn)
    return [name for version, name, _ in migration_files() if version not in applied]


async def apply_migrations(conn: aiosqlite.Connection, until: int | None = None) -> list[str]:
    """Apply every migration not applied yet (up to version `until`: the migration tests build
    a database of an earlier version), each in its own transaction. Returns their names."""
    applied = await _applied_versions(conn)
    done = []
    for version, name, sql in migration_files():
        if version in applied or (until is not None and version > until):
            continue
        # executescript commits first; wrap the script so a failure leaves nothing half-applied.
        await conn.executescript(
            "BEGIN IMMEDIATE;\n"
            + sql
            + f"\nINSERT INTO schema_migrations VALUES ({version}, '{name}', datetime('now'));"
            + "\nCOMMIT;"
        )
        log.info("applied migration %s", name)
        done.append(name)
    return done


async def connect(path: str) -> aiosqlite.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Store:
    """The process's access to the database. `open()` is idempotent and migrates."""

    def __init__(self, path: str, clock: Clock | None = None) -> None:
        self.path = path
        self.clock: Clock = clock or SystemClock()
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._listeners: list[asyncio.Event] = []

    async def open(self) -> None:
        async with self._open_lock:
            if self._conn is not None:
                return
            conn = await connect(self.path)
            await apply_migrations(conn)
            self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("Store.open() has not been called")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn, self.clock)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        for event in self._listeners:
            event.set()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Tx]:
        """Statements that each commit on their own: one round trip to SQLite's thread instead
        of three, for a write that is a single statement (the update inbox). Commit listeners
        are not woken: nothing here is for the outbox."""
        async with self._lock:
            yield Tx(self.conn, self.clock)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads that never see another coroutine's uncommitted writes."""
        async with self._lock:
            yield Tx(self.conn, self.clock)

    def on_commit(self, event: asyncio.Event) -> None:
        """Set `event` after every commit (the outbox drainer waits on it)."""
        self._listeners.append(event)
