"""The same tip routing on SQLite and on PostgreSQL (`make bench-backends`).

A throwaway PostgreSQL server is started as the tests start theirs (tests/postgres.py), on a
unix socket of this machine: the figures compare the code paths, without a network between
the bot and a managed database (add your network's round trip per statement there).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Awaitable, Callable

import asyncpg

from tests.postgres import start_server

from . import tip_routing
from .__main__ import _quiet

SINGLE_RUNS = 10
BURST = 50


async def _measure(database: Callable[[], Awaitable[str | None]]) -> tuple[list[float], str]:
    singles: list[float] = []
    for _ in range(SINGLE_RUNS):
        result = await tip_routing.run(1, lost_after=10.0, database=await database())
        singles.extend(result.latencies_ms)
    burst = await tip_routing.run(BURST, lost_after=30.0, database=await database())
    summary = (
        f"p50 {burst.percentile(50):.0f} ms, p95 {burst.percentile(95):.0f} ms,"
        f" {burst.throughput:.1f} tips/s, lost {burst.lost}, duplicated {burst.duplicated}"
    )
    return singles, summary


async def main() -> None:
    _quiet()
    rows = []

    async def sqlite() -> str | None:
        return None

    singles, burst = await _measure(sqlite)
    rows.append(("SQLite (file, WAL)", singles, burst))
    server = start_server()
    try:
        numbers = iter(range(1, 1000))

        async def postgres() -> str:
            name = f"bench_{next(numbers)}"
            admin = await asyncpg.connect(server.url())
            await admin.execute(f"CREATE DATABASE {name}")
            await admin.close()
            return server.url(name)

        singles, burst = await _measure(postgres)
        rows.append(("PostgreSQL (unix socket)", singles, burst))
    finally:
        server.stop()
    print(f"| backend | one tip, Send → card (median of {SINGLE_RUNS}) | {BURST} at once |")
    print("|---|---:|---|")
    for name, single, summary in rows:
        print(f"| {name} | {statistics.median(single):.0f} ms | {summary} |")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
