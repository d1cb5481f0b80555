"""Tips for a department's records (`porchlight export`), read from a connection of its own, in
one read-only snapshot, on either backend.

The query names every column it reads: a column added to `tips` later (a resident's identity,
say) never reaches an export by accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from storage.clock import from_text, to_text
from storage.models import TipRecord
from storage.postgres import connect as connect_postgres
from storage.postgres import is_postgres_url
from storage.snapshot import BUSY_TIMEOUT_S, DatabaseMissing
from storage.sql import Connection
from storage.sqlite import SqliteConnection

_QUERY = """
SELECT t.id, t.created_at, t.category, t.urgent, t.status, t.acknowledged_at,
       t.first_answer_at, t.resolved_at, t.rating, t.place, t.latitude, t.longitude,
       t.description, coalesce(m.n, 0), coalesce(f.n, 0)
FROM tips t
LEFT JOIN (SELECT tip_id, count(*) AS n FROM tip_media GROUP BY tip_id) m ON m.tip_id = t.id
LEFT JOIN (
    -- one pass over tip_messages (it has no index by tip), not one per tip
    SELECT tip_id, count(*) AS n FROM tip_messages WHERE author = 'resident' GROUP BY tip_id
) f ON f.tip_id = t.id
WHERE t.created_at >= ? {until}
ORDER BY t.created_at, t.id
"""

_HAS_MIGRATIONS = {
    "sqlite": "SELECT count(*) FROM sqlite_master"
    " WHERE type = 'table' AND name = 'schema_migrations'",
    "postgresql": "SELECT count(*) FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
}


async def _open_readonly(location: str) -> Connection:
    """PostgreSQL: a connection of its own. SQLite: one that can neither write nor create (a
    missing file is DatabaseMissing, not a new empty database)."""
    if is_postgres_url(location):
        return await connect_postgres(location)
    raw = await aiosqlite.connect(
        _readonly_uri(location), uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None
    )
    await raw.execute("PRAGMA query_only = ON")
    return SqliteConnection(raw)


def _readonly_uri(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise DatabaseMissing(path)
    return f"{file.resolve().as_uri()}?mode=ro"


@asynccontextmanager
async def reading(location: str) -> AsyncIterator[Connection]:
    """One read-only transaction on a connection of our own: every query sees the database as
    of one commit while the bot (or several replicas) keep writing. Nothing is ever written."""
    conn = await _open_readonly(location)
    try:
        await conn.execute(conn.dialect.begin_read)
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()


async def schema_version(conn: Connection) -> int | None:
    """The newest migration applied (None for a database no Porchlight has migrated)."""
    async with conn.execute(_HAS_MIGRATIONS[conn.dialect.name]) as cursor:
        found = await cursor.fetchone()
    if found is None or not found[0]:
        return None
    async with conn.execute("SELECT max(version) FROM schema_migrations") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else None


async def tip_records(
    conn: Connection, since: datetime, until: datetime | None = None
) -> list[TipRecord]:
    """Tips filed from `since` up to (not including) `until`, oldest first."""
    # Stored times are UTC ISO text of one shape, so text comparison is time comparison.
    args: list[object] = [to_text(since)]
    bound = ""
    if until is not None:
        bound = "AND t.created_at < ?"
        args.append(to_text(until))
    async with conn.execute(_QUERY.format(until=bound), args) as cursor:
        rows = await cursor.fetchall()
    return [
        TipRecord(
            id=row[0],
            created_at=from_text(row[1]),
            category=row[2],
            urgent=bool(row[3]),
            status=row[4],
            acknowledged_at=_when(row[5]),
            first_answer_at=_when(row[6]),
            resolved_at=_when(row[7]),
            rating=row[8],
            place=row[9],
            latitude=row[10],
            longitude=row[11],
            description=row[12],
            media=int(row[13]),
            follow_ups=int(row[14]),
        )
        for row in rows
    ]


def _when(value: str | None) -> datetime | None:
    return from_text(value) if value else None
