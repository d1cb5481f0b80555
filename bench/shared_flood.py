"""Replicas sharing Telegram's limits on PostgreSQL (`make bench-flood`): what they reach.

Why: with SHARED_FLOOD_LIMITS every message is booked in the database. The questions are
whether 1 and 3 replicas together still reach Telegram's 30 a second (and never pass it), what
one booking costs, and whether booking per message would cap a paid broadcast at 1,000 a second
shared by 3 (so a booking covers a block of messages there).

A throwaway PostgreSQL is started as the tests start theirs (tests/postgres.py: a unix socket
of this machine, no network between the bot and the database: add your network's round trip
per booking). Every replica runs in this one process and event loop, against the emulator with
Telegram's limits enforced (429 with retry_after).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

import asyncpg

from bot.budget import SendOptions, TelegramBudget
from bot.shared_budget import SharedFloodBudget, SharedPace
from storage import Store
from tests.postgres import Server, start_server
from tests.telegram.emulator import BotApiEmulator
from tests.test_shared_budget import replicas, residents

from .__main__ import _quiet

FREE_MESSAGES = 300  # 10 s at 30 a second
PAID_MESSAGES = 3000  # 3 s at 1,000 a second
BOOKINGS = 2000
ANSWERS = 10
BULK = SendOptions(priority=20)


@dataclass
class Row:
    scenario: str
    messages: int
    rate: float
    too_many: int
    bookings: int
    rebooked: int


async def fresh_database(server: Server, names: list[str]) -> str:
    name = f"flood_{len(names) + 1}"
    names.append(name)
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = server.url(name)
    store = Store(url)
    await store.open()  # migrated once, before the replicas start
    await store.close()
    return url


async def broadcast(
    url: str, count: int, replica_count: int, *, paid: bool = False, block: int | None = None
) -> Row:
    emu = BotApiEmulator()
    await emu.start()
    try:
        emu.enforce_rate_limits = True
        people = residents(emu, count)
        async with replicas(emu, url, replica_count) as bots:
            paces: list[SharedPace] = []
            for bot in bots:
                budget = bot.rate_limiter
                assert isinstance(budget, TelegramBudget)
                shared = budget.shared
                assert isinstance(shared, SharedFloodBudget)
                pace = shared.paid if paid else shared.free
                assert pace is not None
                if block is not None:
                    pace.block = block
                paces.append(pace)
            started = time.monotonic()
            await asyncio.gather(
                *(
                    bots[n % replica_count].send_message(
                        chat, "Safety tip", allow_paid_broadcast=paid, rate_limit_args=BULK
                    )
                    for n, chat in enumerate(people)
                )
            )
            elapsed = time.monotonic() - started
        sent = [c.t for c in emu.calls if c.method == "sendMessage" and c.ok]
        rate = (len(sent) - 1) / (max(sent) - min(sent)) if len(sent) > 1 else 0.0
        kind = "paid" if paid else "free"
        blocks = "" if block is None else f", block {block}"
        return Row(
            f"{replica_count} replica{'s' if replica_count > 1 else ''}, {kind}{blocks}"
            f" ({elapsed:.1f} s)",
            len(sent),
            rate,
            sum(1 for c in emu.calls if c.error_code == 429),
            sum(p.bookings for p in paces),
            sum(p.rebooked for p in paces),
        )
    finally:
        await emu.stop()


async def answer_latency(url: str) -> list[float]:
    """Milliseconds from an officer's answer on replica B to its delivery, while replica A
    drains a broadcast: one answer every half second, each to another resident."""
    emu = BotApiEmulator()
    await emu.start()
    try:
        emu.enforce_rate_limits = True
        people = residents(emu, FREE_MESSAGES)
        asking = residents(emu, ANSWERS)  # one answer each: a private chat's own second aside
        latencies: list[float] = []
        async with replicas(emu, url, 2) as (a, b):
            drain = [
                asyncio.create_task(a.send_message(chat, "Safety tip", rate_limit_args=BULK))
                for chat in people
            ]
            await asyncio.sleep(1.0)
            for n in range(ANSWERS):
                started = time.monotonic()
                await b.send_message(asking[n], f"Officer reply #{n}")
                latencies.append((time.monotonic() - started) * 1000)
                await asyncio.sleep(0.5)
            for task in drain:
                task.cancel()
            await asyncio.gather(*drain, return_exceptions=True)
        return latencies
    finally:
        await emu.stop()


async def booking_cost(url: str, concurrent: int) -> list[float]:
    """Milliseconds per booking: `concurrent` stores booking one pace as fast as they can."""
    stores = [Store(url) for _ in range(concurrent)]
    for store in stores:
        await store.open()
        async with store.autocommit() as tx:
            await tx.flood.add_pace("bench")
    times: list[float] = []

    async def book(store: Store) -> None:
        for _ in range(BOOKINGS // concurrent):
            started = time.perf_counter()
            async with store.autocommit() as tx:
                await tx.flood.book_pace("bench", 0.0001, None)
            times.append((time.perf_counter() - started) * 1000)

    try:
        await asyncio.gather(*(book(store) for store in stores))
    finally:
        for store in stores:
            await store.close()
    return times


async def main() -> None:
    _quiet()
    server = start_server()
    names: list[str] = []
    rows: list[Row] = []
    costs: list[tuple[int, list[float]]] = []
    try:
        for replica_count in (1, 3):
            url = await fresh_database(server, names)
            rows.append(await broadcast(url, FREE_MESSAGES, replica_count))
        for block in (1, None):
            url = await fresh_database(server, names)
            rows.append(await broadcast(url, PAID_MESSAGES, 3, paid=True, block=block))
        url = await fresh_database(server, names)
        answers = await answer_latency(url)
        url = await fresh_database(server, names)
        for concurrent in (1, 3):
            costs.append((concurrent, await booking_cost(url, concurrent)))
    finally:
        server.stop()
    print("| scenario | messages | messages/s | 429s | bookings | booked again |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.scenario} | {row.messages} | {row.rate:.1f} | {row.too_many}"
            f" | {row.bookings} | {row.rebooked} |"
        )
    print()
    print(
        f"An officer's answer on replica B while replica A broadcasts: median"
        f" {statistics.median(answers):.0f} ms, max {max(answers):.0f} ms ({ANSWERS} answers)"
    )
    print()
    print("| bookings at once | ms per booking: median | p95 | bookings/s |")
    print("|---:|---:|---:|---:|")
    for concurrent, times in costs:
        p95 = statistics.quantiles(times, n=20)[-1]
        per_second = concurrent * 1000 / statistics.mean(times)
        print(f"| {concurrent} | {statistics.median(times):.2f} | {p95:.2f} | {per_second:.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
