"""Scenario 3: the weekly safety tip to N residents, at Telegram's limits and without them.

Why: a broadcast is the bot's biggest burst of sends. Under Telegram's limits the question is
how close the outbox gets to the 30 messages/s ceiling without 429s, losses or duplicates (and
a paid alert to Telegram's 1,000/s); without limits it is how far the outbox is from a bare PTB
send loop (bench/bare.py) on the same emulator, machine and event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot import broadcasts
from bot.broadcasts import shipped_library
from bot.i18n import translate
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator, CallRecord
from tests.test_broadcasts import MONDAY_18H_UTC, fire_weekly_job, subscribed

from .common import BurstResult, CallWatcher
from .profiling import profiled, report

HEADER = "Safety tip of the week"
ALERT = "Alert from your neighbourhood officers"
ALERT_TEXT = "Police activity on Elm St until 9 pm: please keep clear of the park."
WAIT_POLL = 0.02  # seconds: delivery times come from the emulator's log, not from polling
IDLE_WAIT = 5.0  # seconds to let the outbox go idle after the last delivery (late duplicates)
PAID_RATE = 1000  # Telegram's paid-broadcast limit, messages a second


@dataclass
class BroadcastResult(BurstResult):
    """A burst whose keys are residents' chat ids, all "sent" at the moment of firing."""

    too_many_requests: int = 0  # 429s the emulator answered
    fan_out_s: float = math.nan  # writing the outbox rows (Porchlight only)
    ceiling: float | None = None  # messages/s the emulator allowed, when enforcing
    log_records: Counter[str] = field(default_factory=Counter)  # WARNING+ records, tallied
    sample_text: str = ""  # what a resident received, for the bare loop to send the same
    profile: list[str] = field(default_factory=list)  # bench.profiling's report, when asked

    @property
    def first(self) -> float:
        return min(self.received.values())

    @property
    def last(self) -> float:
        return max(self.received.values())

    @property
    def wall(self) -> float:
        """From firing (or the loop's start) to the last delivery."""
        return self.last - min(self.sent.values()) if self.received else math.nan

    @property
    def window(self) -> float:
        """The steady window: first to last delivery (fan-out and start-up left out)."""
        return self.last - self.first if self.received else math.nan

    @property
    def rate(self) -> float:
        """Deliveries per second over the steady window: n deliveries are n - 1 intervals."""
        if len(self.received) < 2 or self.window <= 0:
            return math.nan
        return (len(self.received) - 1) / self.window

    @property
    def share_of_ceiling(self) -> float:
        return self.rate / self.ceiling if self.ceiling else math.nan


def tip_key(call: CallRecord) -> int | None:
    """A weekly tip delivered to a resident: the key is their chat id."""
    if call.method != "sendMessage" or HEADER not in str(call.params.get("text") or ""):
        return None
    return int(call.chat_id)


def alert_key(call: CallRecord) -> int | None:
    """An officers' alert delivered to a resident (paid when the call says so)."""
    if call.method != "sendMessage" or ALERT not in str(call.params.get("text") or ""):
        return None
    return int(call.chat_id)


class _Tally(logging.Filter):
    """Counts WARNING+ records instead of printing them: a 429 storm logs a traceback per 429
    (PTB) and a warning per row (the outbox), which would bury the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        self.counts[f"{record.levelname} {record.name}: {record.msg}"] += 1
        return False


@contextlib.contextmanager
def _tallied_logs() -> Iterator[Counter[str]]:
    tally = _Tally()
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(tally)
    try:
        yield tally.counts
    finally:
        for handler in handlers:
            handler.removeFilter(tally)


async def _wait(
    watcher: CallWatcher, result: BroadcastResult, deadline: float, world: World
) -> None:
    """Collect until everyone has the tip or the deadline; then let the outbox go idle, so a
    late duplicate (a retried row that had in fact gone out) is still counted."""
    while time.monotonic() < deadline:
        watcher.collect(result)
        if len(result.received) == len(result.sent):
            break
        await asyncio.sleep(WAIT_POLL)
    drainer = world.porch.drainer
    if drainer is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drainer.wait_idle(), IDLE_WAIT)
    watcher.collect(result)


def _count_429(emu: BotApiEmulator) -> int:
    return sum(1 for call in emu.calls if call.error_code == 429)


def _chat_state_check(
    emu: BotApiEmulator, result: BroadcastResult, key: Callable[[CallRecord], int | None]
) -> None:
    """What residents' chats show must match what the call log says (a bench self-check)."""
    header = ALERT if key is alert_key else HEADER
    copies = [
        sum(1 for m in emu.bot_messages(chat_id) if header in (m.text or ""))
        for chat_id in result.sent
    ]
    lost, duplicated = copies.count(0), sum(1 for c in copies if c > 1)
    if (lost, duplicated) != (result.lost, result.duplicated):
        result.notes.append(f"chat state disagrees: lost {lost}, duplicated {duplicated}")


@dataclass(frozen=True)
class Setup:
    """One Porchlight broadcast run: what is sent, how the bot and Telegram are limited."""

    limits: bool = False  # Telegram's flood limits, in the emulator and in the bot's pacing
    paid: bool = False  # an officers' alert with BROADCAST_PAID=true (else the weekly tip)
    backend: str = "aiohttp"  # HTTP_BACKEND
    in_flight: int | None = None  # the drainer's sends in flight (None: the bot's choice)
    rtt: float = 0.0  # seconds the emulator waits before answering (Telegram's round trip)

    @property
    def name(self) -> str:
        what = "paid alert" if self.paid else "weekly tip"
        limits = "Telegram limits" if self.limits else "limits off"
        flight = f", {self.in_flight} in flight" if self.in_flight else ""
        rtt = f", {self.rtt * 1000:.0f} ms round trip" if self.rtt else ""
        return f"Porchlight + {self.backend}, {what}, {limits}{flight}{rtt}"


async def porchlight(
    residents: int, setup: Setup, *, lost_after: float, profile: bool = False
) -> BroadcastResult:
    """The real app on a fresh database: seed subscribers, fire the broadcast, watch."""
    emu = BotApiEmulator()
    await emu.start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="porchlight-bench-") as tmp,
            _tallied_logs() as logs,
        ):
            world = World(emu, str(Path(tmp) / "porchlight.sqlite3"))
            emu.clock = time.monotonic  # the bench reads call times against time.monotonic()
            world.overrides.update(
                http_backend=setup.backend,
                rate_limit_per_second=30 if setup.limits else 0,
                rate_limit_group_per_minute=20 if setup.limits else 0,
                rate_limit_private_per_second=1 if setup.limits else 0,
                broadcast_paid=setup.paid,
                rate_limit_paid_per_second=PAID_RATE if setup.limits else 0,
            )
            await world.start_bot()
            if setup.in_flight and world.porch.drainer is not None:
                world.porch.drainer.concurrency = setup.in_flight
            try:
                result = await _broadcast(emu, world, residents, setup, lost_after, profile)
                if setup.limits:
                    limit = emu.rate_paid if setup.paid else emu.rate_global
                    result.ceiling = limit[0] / limit[1]
                async with world.porch.store.read() as tx:
                    outbox = await tx.outbox.counts()
                if set(outbox) != {"sent"}:
                    result.notes.append(f"outbox rows at the end: {outbox}")
            finally:
                await world.stop_bot(kill_deliveries=True)
        result.log_records = logs
        return result
    finally:
        await emu.stop()


async def _broadcast(
    emu: BotApiEmulator,
    world: World,
    residents: int,
    setup: Setup,
    lost_after: float,
    profile: bool,
) -> BroadcastResult:
    users = await subscribed(world, residents)
    await world.settle()
    emu.enforce_rate_limits = setup.limits
    emu.rate_global = (30, 1.0)
    emu.rate_paid = (PAID_RATE, 1.0)
    emu.latency = setup.rtt
    if not setup.paid:
        world.clock.set(MONDAY_18H_UTC)  # the weekly tip's moment (an alert needs none)

    result = BroadcastResult(setup.name, sent={})
    key = alert_key if setup.paid else tip_key
    watcher = CallWatcher(emu, key)
    with profiled(profile) as profiler:
        start = time.monotonic()
        result.sent = dict.fromkeys((user.id for user in users), start)
        if setup.paid:
            await broadcasts.send_officer_broadcast(
                world.porch.store,
                key="bench:alert",
                kind="alert",
                text=ALERT_TEXT,
                photo_file_id=None,
                officer_id=1,
                bot_username=emu.bot_username,
                paid=True,
            )
        else:
            await fire_weekly_job(world, settle=False)
        result.fan_out_s = time.monotonic() - start
        await _wait(watcher, result, start + lost_after, world)
    if profiler is not None:
        result.profile = report(profiler)

    result.too_many_requests = _count_429(emu)
    _chat_state_check(emu, result, key)
    result.notes.append(_calls(result))
    if setup.paid:
        paid = sum(
            1 for c in emu.calls if key(c) is not None and c.params.get("allow_paid_broadcast")
        )
        result.notes.append(f"{paid} of the alerts were sent with allow_paid_broadcast")
    sample = next((c for c in emu.calls if key(c) is not None and c.ok), None)
    result.sample_text = str(sample.params.get("text")) if sample else ""
    return result


def _calls(result: BroadcastResult) -> str:
    """The Bot API calls the scenario made (polling aside), failures by error code."""
    work = {m: n for m, n in result.calls.items() if m != "getUpdates"}
    line = ", ".join(f"{m} {n}" for m, n in sorted(work.items(), key=lambda kv: -kv[1]))
    per = result.work_calls / len(result.sent)
    failed = sum(result.failed.values())
    return f"Bot API calls: {line} ({per:.2f} per resident, {failed} failed)"


def weekly_text() -> str:
    """The first weekly tip as the bot words it: a fallback when Porchlight sent nothing."""
    tip = shipped_library()[0]
    header = translate("en", "safety.weekly_header")
    title, body = html.escape(tip.title_en, quote=False), html.escape(tip.body_en, quote=False)
    return f"{header}\n<b>{title}</b>\n{body}"


RATE_TARGET = 0.97  # of the ceiling, under Telegram's limits
BARE_TARGET = 0.85  # of the faster bare loop, limits off


def _num(value: float, digits: int = 1) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def _ok(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def table(limited: list[BroadcastResult], free: list[BroadcastResult]) -> str:
    """One table: runs against Telegram's limits (share of the ceiling, 429s), then runs with
    limits off read against the fastest bare loop among them."""
    bares = [r for r in free if r.name.startswith("bare")]
    fastest = max((r.rate for r in bares), default=math.nan)
    head = (
        "| scenario | n | delivered | fan-out ms | steady window s | msgs/s (steady) "
        "| % of ceiling | × fastest bare | lost | duplicated | 429s |"
    )
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = []
    for r in [*limited, *free]:
        share = (
            f"{_num(r.share_of_ceiling * 100)} % of {_num(r.ceiling, 0)}/s" if r.ceiling else "—"
        )
        versus = "—" if r.ceiling else f"{_num(r.rate / fastest, 2)}×"
        rows.append(
            f"| {r.name} | {len(r.sent)} | {len(r.received)} | {_num(r.fan_out_s * 1000, 0)} | "
            f"{_num(r.window, 2)} | {_num(r.rate)} | {share} | {versus} | "
            f"{r.lost} | {r.duplicated} | {r.too_many_requests} |"
        )
    return "\n".join([head, rule, *rows])


def notes(results: list[BroadcastResult]) -> list[str]:
    lines = []
    for result in results:
        lines += [f"note ({result.name}): {note}" for note in result.notes]
        lines += [
            f"note ({result.name}): logged {n}× {record}"
            for record, n in result.log_records.most_common()
        ]
    return lines


def limited_verdicts(result: BroadcastResult) -> list[str]:
    share = result.share_of_ceiling
    return [
        f"- {result.name}: ≥ {RATE_TARGET:.0%} of the ceiling: {_ok(share >= RATE_TARGET)} "
        f"({_num(share * 100)} %, {_num(result.rate)} msgs/s)",
        f"- nothing lost or duplicated: {_ok(result.lost == result.duplicated == 0)} "
        f"(lost {result.lost}, duplicated {result.duplicated})",
        f"- no 429s: {_ok(result.too_many_requests == 0)} ({result.too_many_requests})",
    ]


def unlimited_verdicts(porch: BroadcastResult, bares: list[BroadcastResult]) -> list[str]:
    fastest = max(bares, key=lambda r: r.rate)
    ratio = porch.rate / fastest.rate
    return [
        f"- limits off, ≥ {BARE_TARGET}× the fastest bare loop: {_ok(ratio >= BARE_TARGET)} "
        f"({ratio:.2f}× {fastest.name}: {_num(fastest.rate)} msgs/s)",
        f"- nothing lost or duplicated: {_ok(porch.lost == porch.duplicated == 0)} "
        f"(lost {porch.lost}, duplicated {porch.duplicated})",
    ]
