"""``python -m bench.retention [--tips 20000] [--rows 200000]``: the daily retention run over a
year's backlog, and one erasure.

Why: SQLite has one writer. Retention detaches tips and deletes delivery rows in batches so that
a large backlog never holds the writer for long; this prints how long the whole run takes and
how long its longest transaction held the writer (everything else waits that long at most).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import erasure
from bot.config import load_settings
from bot.retention import run_retention
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.clock import to_text
from storage.sql import Connection

NOW = datetime(2027, 11, 26, 12, 0, tzinfo=UTC)
OFFICERS = -1001


class FixedClock:
    def now(self) -> datetime:
        return NOW


class TimedStore(Store):
    """A store that remembers how long each write transaction held the writer."""

    holds: list[float]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with super().transaction() as tx:
            start = time.perf_counter()
            yield tx
        self.holds.append(time.perf_counter() - start)


async def seed(store: Store, tips: int, rows: int) -> None:
    old = to_text(NOW - timedelta(days=400))
    async with Store.transaction(store) as tx:  # not timed: TimedStore measures the bot's
        await _seed(tx.conn, old, tips, rows)


async def _seed(conn: Connection, old: str, tips: int, rows: int) -> None:
    await conn.executemany(
        "INSERT INTO residents (user_id, language, created_at, updated_at) VALUES (?, 'en', ?, ?)",
        [(1_000_000 + n, old, old) for n in range(tips // 4)],
    )
    await conn.executemany(
        "INSERT INTO tips (id, resident_id, source_key, category, description, language,"
        " status, resolved_at, created_at, anonymous, reporter_name)"
        " VALUES (?, ?, ?, 'other', 'A broken fence', 'en', 'resolved', ?, ?, 0, 'Alice')",
        [(n, 1_000_000 + n % (tips // 4), f"report:{n}", old, old) for n in range(1, tips + 1)],
    )
    await conn.executemany(
        "INSERT INTO tip_messages (tip_id, author, kind, text, source_chat_id,"
        " source_message_id, created_at) VALUES (?, 'resident', 'text', 'more', ?, ?, ?)",
        [(n, 1_000_000 + n % (tips // 4), n, old) for n in range(1, tips + 1)],
    )
    await conn.executemany(
        "INSERT INTO thread_messages (chat_id, message_id, tip_id, role) VALUES (?, ?, ?, ?)",
        [(1_000_000 + n % (tips // 4), n, n, "receipt") for n in range(1, tips + 1)],
    )
    await conn.executemany(
        "INSERT INTO outbox (kind, chat_id, lane, priority, payload, status, created_at,"
        " updated_at) VALUES ('relay', ?, 'x', 20, '{\"contents\": []}', 'sent', ?, ?)",
        [(1_000_000 + n % 1000, old, old) for n in range(rows)],
    )


async def main(tips: int, rows: int) -> None:
    settings = load_settings(_env_file=None, bot_token="123456:BENCHtoken", officer_chat_id=-1)
    with tempfile.TemporaryDirectory() as folder:
        store = TimedStore(str(Path(folder) / "bench.sqlite3"), FixedClock())
        store.holds = []
        await store.open()
        await seed(store, tips, rows)
        start = time.perf_counter()
        done = await run_retention(store, settings)
        total = time.perf_counter() - start
        assert done is not None
        longest = max(store.holds)
        print("| what | n | total s | longest writer hold ms | transactions |")
        print("|---|---:|---:|---:|---:|")
        print(
            f"| retention: tips detached + delivery rows deleted | {done.tips_detached} + "
            f"{done.rows_deleted} | {total:.2f} | {longest * 1000:.1f} | {len(store.holds)} |"
        )
        # One resident with 50 tips (seeded again, linked), erased in one transaction.
        async with Store.transaction(store) as tx:
            await tx.conn.execute(
                "UPDATE tips SET resident_id = 1000001, detached = NULL WHERE id <= 50"
            )
        store.holds = []
        officers = OfficerChat(OFFICERS, "en", settings.zone)
        start = time.perf_counter()
        kept = await erasure.erase(
            store, officers, user_id=1_000_001, labels=["@alice"], key=b"bench"
        )
        total = time.perf_counter() - start
        print(
            f"| erasure of a resident with {kept} tips | 1 | {total:.3f} | "
            f"{max(store.holds) * 1000:.1f} | {len(store.holds)} |"
        )
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(main(args.tips, args.rows))
