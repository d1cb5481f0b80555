"""Measurement helpers shared by the scenarios: burst results, percentiles and call watching.

Why: every scenario measures the same thing (time from an update being enqueued to the
emulator receiving the bot's answer), so the bookkeeping lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tests.telegram.emulator import BotApiEmulator, CallRecord

POLL = 0.002  # seconds between checks while waiting: short, so waiting adds little latency


@dataclass
class BurstResult:
    """What one burst produced; times are ``time.monotonic()`` seconds."""

    name: str
    sent: dict[int, float]  # key → when its update was enqueued
    received: dict[int, float] = field(default_factory=dict)  # key → first answer seen
    copies: dict[int, int] = field(default_factory=dict)  # key → answers seen
    calls: Counter[str] = field(default_factory=Counter)  # Bot API calls during the burst
    failed: Counter[str] = field(default_factory=Counter)  # of which answered with an error
    last_call: float = 0.0  # when the last of those calls (polling aside) reached the emulator
    notes: list[str] = field(default_factory=list)

    @property
    def latencies_ms(self) -> list[float]:
        return sorted((self.received[k] - self.sent[k]) * 1000 for k in self.received)

    @property
    def lost(self) -> int:
        return sum(1 for k in self.sent if k not in self.received)

    @property
    def duplicated(self) -> int:
        """Keys answered more than once (each extra copy is a duplicate the user would see)."""
        return sum(1 for count in self.copies.values() if count > 1)

    @property
    def throughput(self) -> float:
        """Answers per second from the first enqueue to the last answer."""
        if not self.received:
            return 0.0
        span = max(self.received.values()) - min(self.sent.values())
        return len(self.received) / span if span > 0 else math.inf

    @property
    def work_calls(self) -> int:
        return sum(n for method, n in self.calls.items() if method != "getUpdates")

    @property
    def call_rate(self) -> float:
        """Bot API calls per second (polling aside): compares work done, whatever the handler."""
        if not self.sent or self.last_call <= min(self.sent.values()):
            return 0.0
        return self.work_calls / (self.last_call - min(self.sent.values()))

    def call_summary(self) -> str:
        """Bot API calls the burst caused, busiest first (getUpdates last: it is polling)."""
        work = {m: n for m, n in self.calls.items() if m != "getUpdates"}
        total = self.work_calls
        per = total / len(self.sent) if self.sent else 0.0
        parts = [f"{m} {n}" for m, n in sorted(work.items(), key=lambda kv: -kv[1])]
        line = f"{total} Bot API calls ({per:.1f} per update): " + ", ".join(parts)
        line += f"; getUpdates {self.calls['getUpdates']}"
        if self.failed:
            line += "; FAILED: " + ", ".join(f"{m} {n}" for m, n in self.failed.items())
        return line

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies in ms (NaN when nothing arrived)."""
        values = self.latencies_ms
        if not values:
            return math.nan
        rank = max(1, math.ceil(p / 100 * len(values)))
        return values[rank - 1]


class CallWatcher:
    """Scans the emulator's call log incrementally and files matching answers under a key.

    Why: the emulator records each call with the monotonic time it started handling it, which
    is the moment the bot's answer "arrived"; scanning only new records keeps polling cheap.
    """

    def __init__(self, emu: BotApiEmulator, key_of: Callable[[CallRecord], int | None]) -> None:
        self.emu = emu
        self.key_of = key_of
        self._next = len(emu.calls)

    def collect(self, result: BurstResult) -> None:
        calls = self.emu.calls
        while self._next < len(calls):
            call = calls[self._next]
            self._next += 1
            result.calls[call.method] += 1
            if call.method != "getUpdates":
                result.last_call = max(result.last_call, call.t)
            if not call.ok:
                result.failed[call.method] += 1
                continue
            key = self.key_of(call)
            if key is None or key not in result.sent:
                continue
            result.copies[key] = result.copies.get(key, 0) + 1
            result.received.setdefault(key, call.t)

    async def wait(self, result: BurstResult, lost_after: float, linger: float = 0.3) -> None:
        """Collect until every key is answered (then ``linger`` to catch duplicates) or until
        ``lost_after`` seconds have passed; what is still missing then counts as lost."""
        deadline = time.monotonic() + lost_after
        while time.monotonic() < deadline:
            self.collect(result)
            if len(result.received) == len(result.sent):
                break
            await asyncio.sleep(POLL)
        await asyncio.sleep(max(0.0, min(deadline, time.monotonic() + linger) - time.monotonic()))
        self.collect(result)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Keep a collection pause out of the burst, so the updates really go in together."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def text_key(
    method: str, pattern: re.Pattern[str], chat_id: int | None = None
) -> Callable[[CallRecord], int | None]:
    """A ``key_of`` for calls of ``method`` (to ``chat_id``) whose text carries ``pattern``."""

    def key_of(call: CallRecord) -> int | None:
        if call.method != method:
            return None
        if chat_id is not None and str(call.chat_id) != str(chat_id):
            return None
        match = pattern.search(str(call.params.get("text") or ""))
        return int(match.group(1)) if match else None

    return key_of
