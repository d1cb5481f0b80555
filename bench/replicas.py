"""Scenario: Porchlight as replicas — N `porchlight run` children in webhook mode behind one
balancer, on one throwaway PostgreSQL, the emulator posting updates as Telegram does.

Why: issue 11 asks what tip routing and a broadcast do with 1 and with 3 replicas. Children
are real processes (tests/telegram/replicas.py), so the figures include the webhook path
(emulator → balancer → PTB's webhook server) and PostgreSQL over a unix socket; the emulator
and this driver share one process and one event loop, the children have their own.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from storage import Store
from tests.conftest import seed_subscribers
from tests.postgres import Server, start_server
from tests.telegram.emulator import BotApiEmulator, EmuMessage
from tests.telegram.replicas import Replicas

from . import tip_routing
from .broadcast import BroadcastResult, _count_429
from .common import BurstResult, CallWatcher, no_gc, text_key

COUNTS = (1, 3)
HEADER = "Announcement from your neighbourhood officers"
ANNOUNCEMENT = "Street party on Saturday: Elm St closed to cars from 2 pm."
STEP_TIMEOUT = 60.0
PACING_OFF = {
    "RATE_LIMIT_PER_SECOND": "0",
    "RATE_LIMIT_GROUP_PER_MINUTE": "0",
    "RATE_LIMIT_PRIVATE_PER_SECOND": "0",
    "RATE_LIMIT_PAID_PER_SECOND": "0",
}
PACING_ON = {  # Telegram's limits, as the bot paces itself by default
    "RATE_LIMIT_PER_SECOND": "30",
    "RATE_LIMIT_GROUP_PER_MINUTE": "20",
    "RATE_LIMIT_PRIVATE_PER_SECOND": "1",
}


@dataclass
class ReplicaRun:
    """One row of the table: what N replicas did with tips and broadcasts."""

    replicas: int
    tips: BurstResult | None = None
    limited: BroadcastResult | None = None
    unlimited: BroadcastResult | None = None
    skipped: str = ""


async def _database(server: Server, numbers: list[int]) -> str:
    numbers.append(len(numbers) + 1)
    name = f"bench_replicas_{numbers[-1]}"
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.url(name)


async def _deployment(
    server: Server,
    numbers: list[int],
    replicas: int,
    env: dict[str, str],
    scenario: Callable[[BotApiEmulator, Replicas, Store], Awaitable[BurstResult]],
) -> BurstResult:
    """A fresh database (migrated, then seeded by the scenario), N children, the scenario."""
    url = await _database(server, numbers)
    store = Store(url)
    await store.open()
    emu = BotApiEmulator()
    emu.clock = time.monotonic  # the bench reads call times against time.monotonic()
    await emu.start()
    officers = emu.add_group("Officers", type="supergroup", members={})
    try:
        with tempfile.TemporaryDirectory(prefix="porchlight-bench-replicas-") as tmp:
            children = Replicas(
                emu, replicas, database=url, officer_chat_id=officers, workdir=Path(tmp), env=env
            )
            children.log_level = "WARNING"
            await children.start(timeout=60)
            try:
                return await scenario(emu, children, store)
            finally:
                await children.stop()
    finally:
        await store.close()
        await emu.stop()


async def _tips(
    emu: BotApiEmulator, children: Replicas, store: Store, residents: int
) -> BurstResult:
    people = [
        tip_routing.Resident(i, emu.add_user(f"Resident{i}", last_name="Bench"))
        for i in range(residents)
    ]
    await tip_routing.drive_to_summary(emu, people)
    await emu.wait_for(emu.all_updates_confirmed, STEP_TIMEOUT)
    result = BurstResult(f"tip routing, {children_label(children)}", sent={})
    watcher = CallWatcher(emu, text_key("sendMessage", tip_routing.MARK, children.officer_chat_id))
    with no_gc():
        for person in people:
            assert person.prompt is not None
            result.sent[person.index] = time.monotonic()
            emu.user_taps(
                person.user, person.prompt.message_id, person.user.id, person.button("Send")
            )
    await watcher.wait(result, STEP_TIMEOUT)
    result.notes.append(result.call_summary())
    result.notes.append(_webhook_note(emu))
    return result


def _with_button(label: str) -> Callable[[EmuMessage], bool]:
    return lambda message: any(text == label for text, _ in message.buttons)


async def _officer_step(
    emu: BotApiEmulator, chat: int, act: Callable[[], object], expect: Callable[[EmuMessage], bool]
) -> EmuMessage:
    """The officer acts, then waits for the bot's next message that ``expect`` accepts."""
    before = max((m.message_id for m in emu.messages(chat, include_deleted=True)), default=0)
    act()

    def offered() -> EmuMessage | None:
        for message in reversed(emu.bot_messages(chat)):
            if message.message_id > before and expect(message):
                return message
        return None

    await emu.wait_for(lambda: offered() is not None, STEP_TIMEOUT, what="the bot's next step")
    found = offered()
    assert found is not None
    return found


def _button(message: EmuMessage, label: str) -> str:
    return next(data for text, data in message.buttons if text == label and data is not None)


async def _broadcast(
    emu: BotApiEmulator, children: Replicas, store: Store, residents: int, limits: bool
) -> BurstResult:
    users = await seed_subscribers(emu, store, residents)
    chat = children.officer_chat_id
    officer = emu.add_user("Sergeant")
    emu.set_member(chat, officer.id, "member")
    await emu.wait_for(emu.all_updates_confirmed, STEP_TIMEOUT)
    await _officer_step(
        emu,
        chat,
        lambda: emu.user_sends(officer, chat, text="/broadcast"),
        lambda message: "New broadcast" in (message.text or ""),
    )
    kinds = await _officer_step(
        emu,
        chat,
        lambda: emu.user_sends(officer, chat, text=ANNOUNCEMENT),
        _with_button("📣 Announcement"),
    )
    preview = await _officer_step(
        emu,
        chat,
        lambda: emu.user_taps(officer, kinds.message_id, chat, _button(kinds, "📣 Announcement")),
        _with_button("Send"),
    )
    emu.enforce_rate_limits = limits
    label = "Telegram limits" if limits else "limits off"
    result = BroadcastResult(f"announcement, {label}, {children_label(children)}", sent={})
    watcher = CallWatcher(emu, _announcement_key)
    start = time.monotonic()
    result.sent = dict.fromkeys((user.id for user in users), start)
    emu.user_taps(officer, preview.message_id, chat, _button(preview, "Send"))
    deadline = start + (residents / 25 + 60 if limits else STEP_TIMEOUT)
    while time.monotonic() < deadline and len(result.received) < len(result.sent):
        watcher.collect(result)
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # late duplicates
    watcher.collect(result)
    if limits:
        result.ceiling = emu.rate_global[0] / emu.rate_global[1]
    result.too_many_requests = _count_429(emu)
    result.notes.append(_webhook_note(emu))
    return result


def _announcement_key(call: object) -> int | None:
    method = getattr(call, "method", "")
    params = getattr(call, "params", {})
    if method != "sendMessage" or HEADER not in str(params.get("text") or ""):
        return None
    return int(params["chat_id"])


def children_label(children: Replicas) -> str:
    count = len(children.ports)
    return f"{count} replica{'s' if count > 1 else ''}"


def _webhook_note(emu: BotApiEmulator) -> str:
    failed = sum(1 for a in emu.webhook_attempts if not a.ok)
    return (
        f"webhook: {len(emu.webhook_attempts)} POSTs, {failed} failed, "
        f"at most {emu.webhook_peak_in_flight} in flight"
    )


async def run(
    residents: int = 200, broadcast: int = 1000, counts: tuple[int, ...] = COUNTS
) -> list[ReplicaRun]:
    """Each count of replicas in turn, each scenario on a fresh database of one server."""
    server = start_server()
    numbers: list[int] = []
    runs = []
    try:
        for count in counts:
            run = ReplicaRun(count)
            runs.append(run)

            async def tips(emu: BotApiEmulator, children: Replicas, store: Store) -> BurstResult:
                return await _tips(emu, children, store, residents)

            async def limited(emu: BotApiEmulator, children: Replicas, store: Store) -> BurstResult:
                return await _broadcast(emu, children, store, broadcast, limits=True)

            async def free(emu: BotApiEmulator, children: Replicas, store: Store) -> BurstResult:
                return await _broadcast(emu, children, store, broadcast, limits=False)

            run.tips = await _deployment(server, numbers, count, PACING_OFF, tips)
            limited_result = await _deployment(server, numbers, count, PACING_ON, limited)
            free_result = await _deployment(server, numbers, count, PACING_OFF, free)
            assert isinstance(limited_result, BroadcastResult)
            assert isinstance(free_result, BroadcastResult)
            run.limited, run.unlimited = limited_result, free_result
    finally:
        server.stop()
    return runs


def _num(value: float, digits: int = 1) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def table(runs: list[ReplicaRun]) -> str:
    head = (
        "| replicas | tips: n | p50 ms | p95 ms | tips/s | lost | dup "
        "| broadcast, limits on: msgs/s | lost | dup | 429s | limits off: msgs/s | lost | dup |"
    )
    rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = []
    for run in runs:
        if run.skipped or run.tips is None or run.limited is None or run.unlimited is None:
            rows.append(f"| {run.replicas} | {run.skipped} |" + " |" * 12)
            continue
        t, lim, free = run.tips, run.limited, run.unlimited
        rows.append(
            f"| {run.replicas} | {len(t.sent)} | {_num(t.percentile(50), 0)} | "
            f"{_num(t.percentile(95), 0)} | {_num(t.throughput)} | {t.lost} | {t.duplicated} | "
            f"{_num(lim.rate)} ({_num(lim.share_of_ceiling * 100, 0)} % of 30/s) | {lim.lost} | "
            f"{lim.duplicated} | {lim.too_many_requests} | {_num(free.rate)} | {free.lost} | "
            f"{free.duplicated} |"
        )
    return "\n".join([head, rule, *rows])


def notes(runs: list[ReplicaRun]) -> list[str]:
    lines = []
    for run in runs:
        if run.skipped:
            lines.append(f"{run.replicas} replicas: {run.skipped}")
        for result in (run.tips, run.limited, run.unlimited):
            if result is not None:
                lines += [f"note ({result.name}): {note}" for note in result.notes]
    return lines


def failed(runs: list[ReplicaRun]) -> bool:
    results = [r for run in runs for r in (run.tips, run.limited, run.unlimited) if r is not None]
    return any(r.lost or r.duplicated for r in results)
