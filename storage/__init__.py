"""Persistence for Porchlight: SQLite (the default) or PostgreSQL (DATABASE_URL), behind one set
of repositories and one set of migrations.

Nothing in this package knows about Telegram objects; it stores and returns dataclasses.
The bottom layer of handlers → bot → storage: only bot/ opens transactions here (handlers/ may
not import this package, see ruff's TID251 in pyproject.toml).

Portable SQL — every repository statement runs on both backends (`make test` runs the suite on
each). The rules:
- Placeholders are `?` (storage/sql.py numbers them for PostgreSQL). Pass Python values of the
  column's type: asyncpg refuses a str for a BIGINT or an int for TEXT. An IN list is
  `IN ({marks(len(values))})` with the values spread into the arguments (no json_each).
- Types in migrations: INTEGER (BIGINT on PostgreSQL: Telegram ids exceed 32 bits), TEXT,
  REAL; `id INTEGER PRIMARY KEY` numbers itself on both. Booleans are INTEGER 0/1, times are
  UTC ISO text (storage/clock.py to_text), compared as text. Write types in upper case.
- No INSERT OR IGNORE / OR REPLACE: `INSERT … ON CONFLICT DO NOTHING` (its rowcount says whether
  it inserted) and `ON CONFLICT (key) DO UPDATE SET col = excluded.col` (qualify the table's own
  columns in its WHERE). No lastrowid: `INSERT … RETURNING id` and `result.returned_id`.
- coalesce, not ifnull; every non-aggregated column in GROUP BY (a primary key covers its
  table); HAVING repeats the aggregate, not its alias; `||` for text; greatest() and scalar
  max(a, b) do not exist on the other side: compute in Python.
- avg() is a Decimal on PostgreSQL: convert with float(). count() is an int on both.
- Time comes from the injected clock as a parameter, never now()/datetime('now') in SQL. The
  one exception is storage/flood.py (PostgreSQL only): replicas book Telegram's limits on the
  database's own clock, so that their machines' clocks never matter.
- What cannot be shared is a method of `conn.dialect` (storage/sql.py: id_list, …): add one
  there, with both spellings, rather than branching in a repository. Week bucketing: compute
  week keys in Python from the stored text (or add a dialect hook).
- Concurrency: on PostgreSQL transactions run side by side at READ COMMITTED. A write that must
  happen once is a conditional UPDATE (`… WHERE status = ?`, check rowcount) or an insert into a
  unique key with ON CONFLICT DO NOTHING — never a read followed by a write.
"""

from storage.db import DATABASE_ERRORS, Store, Tx, apply_migrations, pending_migrations

__all__ = ["DATABASE_ERRORS", "Store", "Tx", "apply_migrations", "pending_migrations"]
