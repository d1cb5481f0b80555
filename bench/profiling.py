"""Where a scenario's time goes: cProfile on the event loop's thread, summed by package.

Why: "faster" needs to know what to make faster. The emulator shares the process and the loop
(its share is Telegram's, not ours), and SQLite runs on aiosqlite's own thread, which cProfile
does not see: the table is the main thread's CPU, the one that limits a broadcast.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parents[1]) + "/"

# Which part of the process a source file belongs to, checked in this order.
_PARTS = (
    ("/tests/telegram/", "the emulator (Telegram's side)"),
    ("/bot/", "Porchlight bot/"),
    ("/storage/", "Porchlight storage/ (the loop's side of aiosqlite)"),
    ("/aiosqlite/", "aiosqlite (the loop's side)"),
    ("/telegram/", "python-telegram-bot"),
    ("/aiohttp/", "aiohttp"),
    ("/multidict/", "aiohttp"),
    ("/yarl/", "aiohttp"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpx"),
    ("/anyio/", "httpx"),
    ("/h11/", "httpx"),
    ("/asyncio/", "asyncio (event loop, tasks)"),
    ("/json/", "json"),
    ("/logging/", "logging"),
)


def _part(filename: str, function: str) -> str:
    for marker, part in _PARTS:
        if marker in filename:
            return part
    if filename == "~":  # a C function: name it by what it is
        if "select" in function or "epoll" in function:
            return "waiting in epoll (idle)"
        if "socket" in function or "recv" in function or "send" in function:
            return "sockets"
        return "C built-ins"
    return "other Python"


@contextlib.contextmanager
def profiled(enabled: bool) -> Iterator[cProfile.Profile | None]:
    if not enabled:
        yield None
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield profile
    finally:
        profile.disable()


def report(profile: cProfile.Profile, top: int = 15) -> list[str]:
    """Self time by part of the process, then the busiest functions (self time)."""
    stats: Any = pstats.Stats(profile)
    by_part: Counter[str] = Counter()
    functions = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        by_part[_part(filename, name)] += own
        functions.append((own, calls, cumulative, f"{_short(filename)}:{line} {name}"))
    total = sum(by_part.values()) or 1.0
    busy = total - by_part["waiting in epoll (idle)"]
    lines = [
        f"Main-thread time {total:.2f} s, of which busy {busy:.2f} s. Self time by part "
        "(share of busy time):",
        "",
        "| part | self s | % of busy |",
        "|---|---:|---:|",
    ]
    for part, seconds in by_part.most_common():
        share = "—" if part.startswith("waiting") else f"{seconds / busy * 100:.1f} %"
        lines.append(f"| {part} | {seconds:.2f} | {share} |")
    lines += ["", f"Top {top} functions by self time:", ""]
    lines += ["| self s | calls | cumulative s | function |", "|---:|---:|---:|---|"]
    for own, calls, cumulative, where in sorted(functions, reverse=True)[:top]:
        lines.append(f"| {own:.3f} | {calls} | {cumulative:.2f} | {where} |")
    return lines


def _short(filename: str) -> str:
    if filename.startswith(ROOT):
        return filename[len(ROOT) :]
    for marker in ("site-packages/", "/lib/python3."):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
