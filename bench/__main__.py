"""``python -m bench [--residents 200] [--broadcast 3000]``: run every scenario once and print
one table, every figure beside its reference and goal (``--details``: each scenario's own).

Why: one command, one readable answer to "does tip routing keep up with a burst, does the
weekly broadcast run at Telegram's ceiling, and how far is each from what PTB itself can do
on this machine?".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import logging
import math
import os
import platform
import resource
import sys
import time
import warnings
from dataclasses import dataclass

import asyncpg
import telegram
from telegram.warnings import PTBUserWarning

from tests.postgres import start_server

from . import (
    bare,
    bare_aiogram,
    broadcast,
    echo,
    replicas,
    router,
    scale,
    stats,
    summary,
    surge,
    tip_routing,
)
from .common import BurstResult

ECHO_CONCURRENCY = 64
BARE_HTTPX_TASKS = 8  # more only queue in httpcore's pool (issue 12)
BARE_AIOHTTP_TASKS = 32


def _quiet() -> None:
    """Only warnings and errors: PTB and httpx log every request at INFO/DEBUG."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore", "telegram", "aiohttp", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The report conversation is per chat and user on purpose (as in pyproject's pytest config).
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def table(results: list[BurstResult]) -> str:
    head = (
        "| scenario | n | p50 ms | p95 ms | max ms | throughput /s | lost | duplicated "
        "| API calls/update | API calls/s |"
    )
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = [
        f"| {r.name} | {len(r.sent)} | {_ms(r.percentile(50))} | {_ms(r.percentile(95))} | "
        f"{_ms(r.percentile(100))} | {r.throughput:.1f} | {r.lost} | {r.duplicated} | "
        f"{r.work_calls / len(r.sent):.1f} | {r.call_rate:.0f} |"
        for r in results
    ]
    return "\n".join([head, rule, *rows])


def _rss() -> str:
    """The process's peak RSS (a high-water mark: it covers every part run so far)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return f"{peak:.0f} MiB"


def _progress(what: str) -> None:
    """A line on stderr, so a long run shows where it is without touching the report."""
    print(f"bench: {what}…", file=sys.stderr, flush=True)


@dataclass
class Tips:
    runs: list[tuple[str, BurstResult, BurstResult]]  # (label, Porchlight, bare router)
    echoes: list[BurstResult]
    rss: str


@dataclass
class Broadcasts:
    limited: broadcast.BroadcastResult
    unlimited: list[broadcast.BroadcastResult]  # aiohttp first, then httpx
    bares: list[broadcast.BroadcastResult]
    paid: broadcast.BroadcastResult
    sweep: list[broadcast.BroadcastResult]
    profiled: broadcast.BroadcastResult | None
    rss_limited: str
    rss_unlimited: str


ONE_AT_A_TIME = 10  # taps, each after the previous card: one resident's latency


async def run_tips(residents: int, lost_after: float, *, details: bool) -> Tips:
    """Porchlight's Send → card against the bare PTB router, 1 (one at a time), 60 and N."""
    results: list[tuple[str, BurstResult, BurstResult]] = []
    for count in sorted({1, 60, residents}):
        label = (
            f"tip routing, one resident at a time ({ONE_AT_A_TIME} taps)"
            if count == 1
            else f"tip routing, {count} residents tapping Send at once"
        )
        _progress(label)
        n, single = (ONE_AT_A_TIME, True) if count == 1 else (count, False)
        porch = await tip_routing.run(n, lost_after, one_at_a_time=single)
        reference = await router.run(n, lost_after, one_at_a_time=single)
        results.append((label, porch, reference))
    echoes = []
    if details:
        echoes = [
            await echo.run(residents, None, lost_after),
            await echo.run(residents, ECHO_CONCURRENCY, lost_after),
        ]
    return Tips(results, echoes, _rss())


async def run_tips_postgresql(residents: int, lost_after: float) -> list[tuple[str, BurstResult]]:
    """The same Send taps on a throwaway PostgreSQL (unix socket), as bench/backends.py does."""
    server = start_server()
    found = []
    try:
        for number, count in enumerate(sorted({1, 60, residents})):
            name = f"bench_{number}"
            admin = await asyncpg.connect(server.url())
            await admin.execute(f"CREATE DATABASE {name}")
            await admin.close()
            n, single = (ONE_AT_A_TIME, True) if count == 1 else (count, False)
            label = (
                f"the same on PostgreSQL, one at a time ({n} taps)"
                if single
                else f"the same on PostgreSQL, {n} at once"
            )
            _progress(label)
            found.append(
                (
                    label,
                    await tip_routing.run(n, lost_after, server.url(name), one_at_a_time=single),
                )
            )
    finally:
        server.stop()
    return found


async def run_broadcasts(args: argparse.Namespace) -> Broadcasts:
    residents, lost_after = args.broadcast, args.broadcast_timeout
    setup = broadcast.Setup
    weekly = args.limited_broadcast
    _progress(f"weekly broadcast to {weekly} residents under Telegram's limits (~{weekly // 29} s)")
    limited = await broadcast.porchlight(weekly, setup(limits=True), lost_after=lost_after)
    rss_limited = _rss()
    _progress(f"broadcasts to {residents} residents, limits off (aiohttp, httpx, bare loops)")
    unlimited = [
        await broadcast.porchlight(residents, setup(), lost_after=lost_after),
        await broadcast.porchlight(residents, setup(backend="httpx"), lost_after=lost_after),
    ]
    text = unlimited[0].sample_text or broadcast.weekly_text()
    bares = [
        await bare.bare(residents, BARE_HTTPX_TASKS, text, "httpx"),
        await bare.bare(residents, BARE_AIOHTTP_TASKS, text, "aiohttp"),
    ]
    if bare_aiogram.available():
        bares.append(await bare_aiogram.bare(residents, BARE_AIOHTTP_TASKS, text))
    else:
        print("bench: aiogram is not installed (pip install -e '.[bench]')", file=sys.stderr)
    rss_unlimited = _rss()
    _progress(f"a paid alert to {residents} residents, Telegram's 1,000/s enforced")
    paid = await broadcast.porchlight(
        residents, setup(limits=True, paid=True), lost_after=lost_after
    )
    sweep = []
    rtt = args.round_trip_ms / 1000
    for in_flight in args.in_flight:
        _progress(f"limits off, {in_flight} sends in flight")
        sweep.append(
            await broadcast.porchlight(
                residents, setup(in_flight=in_flight, rtt=rtt), lost_after=lost_after
            )
        )
    profiled = None
    if args.profile:  # a run of its own: cProfile slows what it watches
        _progress("the broadcast with limits off once more, under cProfile")
        profiled = await broadcast.porchlight(
            residents, setup(), lost_after=lost_after, profile=True
        )
    return Broadcasts(limited, unlimited, bares, paid, sweep, profiled, rss_limited, rss_unlimited)


def print_tips(tips: Tips) -> None:
    print("## Tip routing\n")
    results = [r for _, porch, ref in tips.runs for r in (porch, ref)]
    print(table([*results, *tips.echoes]))
    print()
    for result in [*results, *tips.echoes]:
        for note in result.notes:
            print(f"note ({result.name}, {len(result.sent)}): {note}")
    print(f"\nPeak RSS after tip routing: {tips.rss}")


def print_broadcasts(b: Broadcasts) -> None:
    n = len(b.limited.sent)
    print(f"## Broadcasts to {n} residents\n")
    print(
        "msgs/s is measured over the steady window, from the first to the last delivery as the "
        "emulator logged them (fan-out and start-up left out): (delivered - 1) / window. "
        "Telegram limits: the emulator answers 429 over 30/s overall (1,000/s for paid "
        "broadcasts) and 3 messages in 3 s per private chat; the bot paces itself at "
        "RATE_LIMIT_PER_SECOND=30 and RATE_LIMIT_PAID_PER_SECOND=1000. Limits off: neither.\n"
    )
    free = [*b.unlimited, *b.bares, *b.sweep]
    print(broadcast.table([b.limited, b.paid], free))
    print()
    print("\n".join(broadcast.notes([b.limited, b.paid, *free])))
    print()
    print("\n".join(broadcast.limited_verdicts(b.limited)))
    print("\n".join(broadcast.limited_verdicts(b.paid)))
    print("\n".join(broadcast.unlimited_verdicts(b.unlimited[0], b.bares)))
    print(f"\nPeak RSS: {b.rss_limited} after the limited run, {b.rss_unlimited} after limits off")
    if b.profiled is not None:
        print(f"\n### Where the time goes: {b.profiled.name}, under cProfile\n")
        print(f"({b.profiled.rate:.0f} msgs/s while profiled.)\n")
        print("\n".join(b.profiled.profile))


async def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    res = summary.Results()
    tips = None
    if not args.skip_tips:
        tips = await run_tips(args.residents, args.lost_after, details=args.details)
        res.tips = list(tips.runs)
        if not args.skip_postgresql:
            pg = await run_tips_postgresql(args.residents, args.lost_after)
            res.tips += [(label, result, None) for label, result in pg]
    casts = None
    if not args.skip_broadcast:
        casts = await run_broadcasts(args)
        res.limited, res.paid = casts.limited, casts.paid
        res.unlimited, res.unlimited_httpx = casts.unlimited
        by_name = {r.name.split(",")[0]: r for r in casts.bares}
        res.bare_httpx = by_name.get("bare PTB + httpx")
        res.bare_aiohttp = by_name.get("bare PTB + aiohttp")
        res.bare_aiogram = by_name.get("bare aiogram 3")
    if not args.skip_stats:
        _progress(
            f"/stats, then the bot as a process (start-up, /mytips, RSS) on "
            f"{args.stats_residents:,} residents, {args.stats_tips:,} tips and "
            f"{args.stats_deliveries:,} delivery rows (seeding takes a few seconds)"
        )

        async def as_process(database: str) -> None:
            res.scale = await scale.run(database)

        res.stats = await stats.run(
            args.stats_residents, args.stats_tips, args.stats_deliveries, then=as_process
        )
    replica_runs = None
    if not args.skip_replicas:
        _progress(
            f"replicas in webhook mode on PostgreSQL: {args.replica_residents} tips, broadcasts "
            f"to {args.replica_broadcast} residents (with {', '.join(map(str, replicas.COUNTS))})"
        )
        replica_runs = await replicas.run(args.replica_residents, args.replica_broadcast)
    if not args.skip_surge:
        _progress("a surge of 40 tips against the officer chat's 20 a minute (about 70 s)")
        res.surges.append(await surge.surge())
        _progress("the same surge in a forum officer chat, a topic per tip (about 70 s)")
        res.surges.append(await surge.surge(forum=True))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nPorchlight benchmark — {now}")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"python-telegram-bot {telegram.__version__}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}, load {os.getloadavg()[0]:.2f}; "
        "emulator on 127.0.0.1 in the same process and event loop; SQLite unless a row says "
        "otherwise; the bot's pacing off except under Telegram's limits"
    )
    if importlib.util.find_spec("sniffio") is None:
        # httpcore retries the failed import on every lock it makes (encode/httpcore#1103).
        print("sniffio is not installed: httpcore re-tries importing it on every request")
    print()
    print(summary.table(res))
    failed = any(porch.lost for _, porch, _ in res.tips)
    if casts is not None:
        runs = [casts.limited, casts.paid, *casts.unlimited, *casts.sweep]
        failed |= any(r.lost or r.duplicated for r in runs)
    failed |= any(len(r.visible) < len(r.filed) for r in res.surges)
    if replica_runs is not None:
        print("\n## Replicas: webhook mode behind a balancer, one PostgreSQL\n")
        print(
            "Each replica is a `porchlight run` child; the emulator posts updates through the "
            "balancer (max_connections 40). Tips: p50/p95 from Send to the card. Broadcast: an "
            "officers' announcement, msgs/s over the steady window.\n"
        )
        print(replicas.table(replica_runs))
        print()
        print("\n".join(replicas.notes(replica_runs)))
        failed |= replicas.failed(replica_runs)
    if res.scale is not None and res.scale.notes:
        print("\n".join(f"note (bot process): {note}" for note in res.scale.notes))
        failed = True
    if args.details:
        print_details(tips, casts, res)
    print(
        f"\nPeak RSS of the bench process: {_rss()}; bench took {time.monotonic() - started:.0f} s"
    )
    return 1 if failed else 0


def print_details(tips: Tips | None, casts: Broadcasts | None, res: summary.Results) -> None:
    """Each scenario's own tables and notes (`--details`)."""
    print()
    if tips is not None:
        print_tips(tips)
        print()
    if casts is not None:
        print_broadcasts(casts)
    for flood in res.surges:
        print("\n## A surge of tips (20 a minute in the officer chat)\n")
        print(surge.table(flood))
        print("\n".join(surge.verdicts(flood)))
    if res.stats is not None:
        print("\n## /stats on a big deployment\n")
        print(stats.table(res.stats))
        print("\n".join(stats.verdicts(res.stats)))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--residents", type=int, default=200, help="residents (and echo users) in the burst"
    )
    parser.add_argument(
        "--lost-after",
        type=float,
        default=30.0,
        help="seconds to wait for an answer before counting it lost (default 30)",
    )
    parser.add_argument(
        "--broadcast",
        type=int,
        default=3000,
        help="residents subscribed to the weekly broadcast (default 3000)",
    )
    parser.add_argument(
        "--broadcast-timeout",
        type=float,
        default=200.0,
        help="seconds to wait for every resident's weekly tip (default 200)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the broadcast with limits off (cProfile) and print where the time goes",
    )
    parser.add_argument(
        "--in-flight",
        type=lambda text: [int(n) for n in text.split(",") if n.strip()],
        default=[],
        help="also run the broadcast with limits off at these sends in flight, e.g. 8,16,32,64",
    )
    parser.add_argument(
        "--round-trip-ms",
        type=float,
        default=0.0,
        help="the emulator answers this late in the --in-flight runs (Telegram's round trip)",
    )
    parser.add_argument(
        "--limited-broadcast",
        type=int,
        default=1500,
        help="residents of the weekly tip under Telegram's 30/s (default 1500, ~52 s)",
    )
    parser.add_argument(
        "--details", action="store_true", help="also print each scenario's own tables"
    )
    parser.add_argument("--skip-postgresql", action="store_true", help="tip routing on SQLite only")
    parser.add_argument("--skip-tips", action="store_true", help="skip tip routing")
    parser.add_argument("--skip-broadcast", action="store_true", help="skip the broadcast")
    parser.add_argument("--skip-surge", action="store_true", help="skip the surge of tips")
    parser.add_argument("--skip-stats", action="store_true", help="skip /stats on a big history")
    parser.add_argument(
        "--skip-replicas", action="store_true", help="skip the replicas (webhook, PostgreSQL)"
    )
    parser.add_argument(
        "--replica-residents", type=int, default=200, help="tips filed at once (default 200)"
    )
    parser.add_argument(
        "--replica-broadcast", type=int, default=1000, help="broadcast recipients (default 1000)"
    )
    parser.add_argument("--stats-residents", type=int, default=100_000, help="default 100000")
    parser.add_argument("--stats-tips", type=int, default=20_000, help="default 20000")
    parser.add_argument(
        "--stats-deliveries", type=int, default=1_000_000, help="delivery rows (default 1000000)"
    )
    args = parser.parse_args()
    if args.residents < 1:
        parser.error("--residents must be at least 1")
    if args.broadcast < 2:
        parser.error("--broadcast must be at least 2 (a rate needs two deliveries)")
    if args.stats_residents < 1 or args.stats_deliveries < 10:
        parser.error("--stats-residents must be at least 1 and --stats-deliveries at least 10")
    if args.replica_residents < 1 or args.replica_broadcast < 2:
        parser.error("--replica-residents must be at least 1 and --replica-broadcast at least 2")
    skipped = (args.skip_tips, args.skip_broadcast, args.skip_surge, args.skip_stats)
    if all(skipped) and args.skip_replicas:
        parser.error("nothing to run: every scenario skipped")
    _quiet()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
