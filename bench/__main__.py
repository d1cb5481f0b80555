"""``python -m bench [--residents 200]``: run every scenario once and print a table + verdicts.

Why: one command, one readable answer to "does tip routing keep up with a burst, and how far
is it from what PTB itself can do on this machine?".
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
import sys
import time
import warnings

import telegram
from telegram.warnings import PTBUserWarning

from . import echo, tip_routing
from .common import BurstResult

P95_TARGET_MS = 50.0
THROUGHPUT_TARGET = 0.5  # of the echo bot's
ECHO_CONCURRENCY = 64


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


def _ratio(porch: BurstResult, echo_result: BurstResult) -> float:
    return porch.throughput / echo_result.throughput if echo_result.throughput else math.nan


def verdicts(porch: BurstResult, echoes: list[BurstResult]) -> list[str]:
    """One line per target; the echo ceiling is the faster of the echo modes."""
    ceiling = max(echoes, key=lambda r: r.throughput)
    ratios = ", ".join(f"{_ratio(porch, e):.2f}× {e.name}" for e in echoes)
    ratio = _ratio(porch, ceiling)
    p95 = porch.percentile(95)
    ok = {True: "PASS", False: "FAIL"}
    return [
        f"Throughput ratio (Porchlight / echo): {ratios}",
        f"- p95 < {P95_TARGET_MS:.0f} ms: {ok[p95 < P95_TARGET_MS]} (p95 {_ms(p95)} ms)",
        f"- throughput ≥ {THROUGHPUT_TARGET}× echo: {ok[ratio >= THROUGHPUT_TARGET]} "
        f"({ratio:.2f}× the ceiling, {ceiling.name}: {ceiling.throughput:.1f}/s)",
        f"- nothing lost: {ok[porch.lost == 0 and porch.duplicated == 0]} "
        f"(lost {porch.lost}, duplicated {porch.duplicated})",
    ]


async def run(residents: int, lost_after: float) -> int:
    started = time.monotonic()
    porch = await tip_routing.run(residents, lost_after)
    echoes = [
        await echo.run(residents, None, lost_after),
        await echo.run(residents, ECHO_CONCURRENCY, lost_after),
    ]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nPorchlight benchmark — {now}")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"python-telegram-bot {telegram.__version__}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}; emulator on 127.0.0.1, one event loop"
    )
    if importlib.util.find_spec("sniffio") is None:
        # httpcore retries the failed import on every lock it makes: roughly 20 % of all CPU
        # here (encode/httpcore#1103); every scenario pays it, Porchlight a little more.
        print("sniffio is not installed: httpcore re-tries importing it on every request")
    print()
    print(table([porch, *echoes]))
    print()
    for result in [porch, *echoes]:
        for note in result.notes:
            print(f"note ({result.name}): {note}")
    print()
    print("\n".join(verdicts(porch, echoes)))
    print(f"\n(bench took {time.monotonic() - started:.1f} s)")
    return 0 if porch.lost == 0 else 1


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
    args = parser.parse_args()
    if args.residents < 1:
        parser.error("--residents must be at least 1")
    _quiet()
    return asyncio.run(run(args.residents, args.lost_after))


if __name__ == "__main__":
    sys.exit(main())
