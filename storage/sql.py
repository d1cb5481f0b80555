"""One connection interface over both backends, so the repositories are written once.

Repositories write SQL with `?` placeholders and call `conn.execute(sql, args)`, which is both
awaitable (`result.rowcount`) and an async context manager (`async with ... as c:
await c.fetchall()`), as aiosqlite's was. A statement that returns rows (SELECT, WITH, or
anything with RETURNING) is fetched whole; any other reports how many rows it changed.
Where the two SQL dialects cannot agree, `conn.dialect` holds the one spelling per backend.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any, Protocol


class Row(Protocol):
    """A result row, read by column name or position (sqlite3.Row and asyncpg.Record both)."""

    def __getitem__(self, key: Any, /) -> Any: ...


@dataclass(frozen=True)
class Result:
    """What a statement gave back: its rows (when it returns any) and the rows it changed."""

    rows: Sequence[Row]
    rowcount: int

    async def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Row]:
        return list(self.rows)

    @property
    def returned_id(self) -> int | None:
        """The id an `INSERT … RETURNING id` gave back; None when it inserted nothing."""
        return int(self.rows[0][0]) if self.rows else None


class Pending:
    """A statement on its way: `await` it, or `async with` it (nothing to close afterwards)."""

    def __init__(self, run: Callable[[], Awaitable[Result]]) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, Result]:
        return self._go().__await__()

    async def _go(self) -> Result:
        return await self._run()

    async def __aenter__(self) -> Result:
        return await self._run()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None


@dataclass(frozen=True)
class Dialect:
    """The few spellings the backends do not share. Add a hook here only when no portable
    form exists (see storage/__init__.py for the rules)."""

    name: str  # "sqlite" or "postgresql"
    begin_write: str  # how a migration's transaction starts
    begin_read: str  # one snapshot, no writes (`porchlight export` from outside the bot)

    def id_list(self, column: str) -> str:
        """An aggregate joining integer ids with commas ("3,5,8"), order unspecified."""
        if self.name == "postgresql":
            return f"string_agg(CAST({column} AS TEXT), ',')"
        return f"group_concat({column})"

    def seconds_between(self, later: str, earlier: str) -> str:
        """Seconds from one ISO-8601 text column to another, to the millisecond, never below 0."""
        if self.name == "postgresql":
            span = f"CAST({later} AS timestamptz) - CAST({earlier} AS timestamptz)"
            return f"greatest(0, round(CAST(extract(epoch FROM {span}) AS numeric), 3))"
        return f"max(0, round((julianday({later}) - julianday({earlier})) * 86400.0, 3))"

    @property
    def skip_locked(self) -> str:
        """A claim's lock that other replicas skip instead of waiting for (PostgreSQL; SQLite
        has one writer and no row locks: nothing to skip)."""
        return " FOR UPDATE SKIP LOCKED" if self.name == "postgresql" else ""

    @property
    def outer_first_join(self) -> str:
        """A join that keeps its left table the outer loop (SQLite plans CROSS JOIN so;
        PostgreSQL's planner needs no such hint and has no CROSS JOIN … ON)."""
        return "CROSS JOIN" if self.name == "sqlite" else "JOIN"


SQLITE = Dialect(name="sqlite", begin_write="BEGIN IMMEDIATE", begin_read="BEGIN")
POSTGRESQL = Dialect(
    name="postgresql",
    begin_write="BEGIN",
    begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
)


class Connection(ABC):
    """A connection (inside a transaction, or autocommitting) as the repositories see it.

    `written` names the tables its statements wrote since the Store last cleared it: a commit
    wakes only the services that read those tables (the outbox drainer, storage/db.py)."""

    dialect: Dialect
    written: set[str]

    def execute(self, sql: str, args: Iterable[object] = ()) -> Pending:
        values = tuple(args)
        self._note_writes(sql)
        return Pending(lambda: self._execute(sql, values))

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._note_writes(sql)
        await self._executemany(sql, rows)

    def _note_writes(self, sql: str) -> None:
        tables = written_tables(sql)
        if tables:
            self.written.update(tables)

    @abstractmethod
    async def _execute(self, sql: str, args: tuple[object, ...]) -> Result: ...

    @abstractmethod
    async def _executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    @abstractmethod
    async def script(self, sql: str) -> None:
        """Several statements without parameters (migrations), as written."""

    @abstractmethod
    async def close(self) -> None: ...

    async def notify(self, channel: str, payload: str) -> None:
        """Tell the other replicas, when this transaction commits, that `channel` changed
        (PostgreSQL's NOTIFY; one process on SQLite has nobody to tell)."""
        return None


_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|PRAGMA)\b|\bRETURNING\b", re.IGNORECASE)


# The table after INSERT [OR …] INTO, REPLACE INTO, UPDATE [OR …] and DELETE FROM, anywhere in a
# statement (a WITH may come first). "DO UPDATE SET" of an upsert names no table: skipped.
_WRITES = re.compile(
    r"\b(?:(?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+(?!SET\b)(\w+)",
    re.IGNORECASE,
)


@lru_cache(maxsize=1024)
def written_tables(sql: str) -> frozenset[str]:
    """The tables a statement writes, lower-cased (`UPDATE outbox SET …` → {"outbox"})."""
    return frozenset(name.lower() for name in _WRITES.findall(sql))


@lru_cache(maxsize=1024)
def returns_rows(sql: str) -> bool:
    return _RETURNS_ROWS.search(sql) is not None


def marks(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values; `NULL` for none (IN () is not SQL
    PostgreSQL accepts, and IN (NULL) matches nothing)."""
    return ", ".join("?" for _ in range(count)) if count else "NULL"


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …`, leaving quoted text and comments alone."""
    out: list[str] = []
    number = 0
    i, end = 0, len(sql)
    while i < end:
        char = sql[i]
        if char in "'\"":
            close = sql.find(char, i + 1)
            while close != -1 and sql.startswith(char * 2, close):  # '' inside a literal
                close = sql.find(char, close + 2)
            stop = end if close == -1 else close + 1
            out.append(sql[i:stop])
            i = stop
        elif sql.startswith("--", i):
            stop = sql.find("\n", i)
            stop = end if stop == -1 else stop
            out.append(sql[i:stop])
            i = stop
        elif char == "?":
            number += 1
            out.append(f"${number}")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)
