"""Reading the database from outside the bot: a read-only connection, and a consistent copy
made with SQLite's online backup API (`porchlight backup`).

The copy is made in one backup step, which is one read transaction: the copy is the database
as of one commit, and in WAL mode a reader never holds up the bot's writer. Pages pumped in
small steps would not help here: SQLite restarts a backup whose source another connection
changed between steps, so under a steady stream of tips a stepped copy may never finish.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_S = 5.0


class DatabaseMissing(Exception):
    """There is no database file where DATABASE_PATH says."""


class DatabaseBusy(Exception):
    """The database stayed locked longer than we wait (a recovery or another tool's lock)."""


@dataclass(frozen=True)
class Snapshot:
    """What a database file holds, as a backup reports it."""

    size: int  # bytes
    tips: int
    schema_version: int | None  # None: never migrated
    integrity: str  # "ok", or SQLite's first complaint (one line)


def open_readonly(path: str | Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that can neither write nor create: a missing file is DatabaseMissing, not a
    new empty database. It sees every commit, those still in the bot's WAL file included."""
    file = Path(path)
    if not file.is_file():
        raise DatabaseMissing(str(path))
    conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    conn.execute("PRAGMA query_only = ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The newest migration applied (None for a database no Porchlight has migrated)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if found is None:
        return None
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def copy_database(source: str | Path, target: str | Path, timeout: float = BUSY_TIMEOUT_S) -> None:
    """Copy `source` into the new file `target`, as of one commit. The copy is one
    self-contained file (rollback journal, no -wal or -shm beside it); the bot turns WAL back
    on when it opens it."""
    src = open_readonly(source, timeout)
    try:
        dst = sqlite3.connect(target)
        try:
            deadline = time.monotonic() + timeout

            def give_up_when_late(status: int, remaining: int, total: int) -> None:
                # Called after each step; with one step, only a busy or locked source repeats.
                if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and (
                    time.monotonic() > deadline
                ):
                    raise DatabaseBusy(f"still locked after {timeout:.0f} s")

            src.backup(dst, pages=-1, progress=give_up_when_late, sleep=0.05)
        finally:
            dst.close()
    finally:
        src.close()
    copy = sqlite3.connect(target)
    try:
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()


def inspect(path: str | Path) -> Snapshot:
    """Check a database file through and through (`PRAGMA integrity_check`) and count its tips."""
    conn = open_readonly(path)
    try:
        problems = [
            line
            for row in conn.execute("PRAGMA integrity_check(20)").fetchall()
            for line in str(row[0]).splitlines()
            if not line.startswith("***")  # "*** in database main ***": a heading
        ]
        version = schema_version(conn)
        has_tips = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tips'"
        ).fetchone()
        tips = conn.execute("SELECT count(*) FROM tips").fetchone()[0] if has_tips else 0
    finally:
        conn.close()
    return Snapshot(
        size=Path(path).stat().st_size,
        tips=int(tips),
        schema_version=version,
        integrity="ok" if problems == ["ok"] else _first(problems),
    )


def _first(problems: list[str]) -> str:
    """One line for a deployer: the first problem SQLite found, and whether there are more."""
    first = problems[0] if problems else "no answer"
    return first if len(problems) <= 1 else f"{first}, and more"
