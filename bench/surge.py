"""A surge of tips against the officer chat's 20 messages a minute, with Telegram's limits on.

Why: the officer chat is a group, so a burst of tips cannot all arrive as cards at once. We
measure what officers live through: when each tip becomes visible (a full card or a line of a
surge list), how late urgent cards are, how long an officer's command waits, how many
officer-chat messages a tip costs, and that nothing is lost, doubled or refused with 429.
With `forum=True` the officer chat has topics: each card opens its tip's topic first, which
posts a service message that spends the same 20 a minute.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import tips
from bot.tips import Draft
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator

CARD = re.compile(r"^Tip #(\d+) ·", re.MULTILINE)
POLL = 0.05


@dataclass
class SurgeResult:
    tips: int
    over: float
    filed: dict[int, float] = field(default_factory=dict)  # tip id → when filed
    urgent: set[int] = field(default_factory=set)
    visible: dict[int, float] = field(default_factory=dict)  # tip id → first card or list line
    cards: dict[int, int] = field(default_factory=dict)  # tip id → full cards posted
    listed: set[int] = field(default_factory=set)
    officer_answer_s: float | None = None
    officer_messages: int = 0
    too_many_requests: int = 0
    forum: bool = False
    topics: int = 0  # forum topics created (each one a service message in the group)

    @property
    def cleared_s(self) -> float:
        if len(self.visible) < len(self.filed):
            return float("inf")
        return max(self.visible.values()) - min(self.filed.values())

    @property
    def urgent_worst_s(self) -> float:
        waits = [self.visible.get(t, float("inf")) - self.filed[t] for t in self.urgent]
        return max(waits, default=0.0)


def _scan(emu: BotApiEmulator, chat_id: int, result: SurgeResult, now: float) -> None:
    cards: dict[int, int] = {}
    for message in emu.bot_messages(chat_id):
        found = CARD.search(message.text or "")
        if found:
            ref = int(found.group(1))
            cards[ref] = cards.get(ref, 0) + 1
            result.visible.setdefault(ref, now)
        for _, data in message.buttons:
            if data and data.startswith("open:"):
                ref = int(data.removeprefix("open:"))
                result.listed.add(ref)
                result.visible.setdefault(ref, now)
    result.cards = cards


async def _file(world: World, number: int, urgent: bool) -> int:
    user = world.emu.add_user(f"Neighbour{number}")
    async with world.porch.store.transaction() as tx:
        await tx.residents.ensure(user.id, "en")
    words = "Someone has a gun near" if urgent else "Strange noises behind"
    draft = Draft(
        key=f"bench:{user.id}",
        category="person",
        description=f"{words} number {number} of Elm Street",
        urgent=urgent,
    )
    porch = world.porch
    filed = await tips.file_tip(
        porch.store,
        resident_id=user.id,
        language="en",
        draft=draft,
        reporter_name=None,
        officers=porch.officers,
        tips_per_hour=5,
    )
    return filed.tip.id


async def surge(
    count: int = 40, over: float = 60.0, deadline: float = 300.0, *, forum: bool = False
) -> SurgeResult:
    """`count` tips spread over `over` seconds (every 8th urgent); an officer's /help halfway."""
    result = SurgeResult(count, over, forum=forum)
    emu = BotApiEmulator()
    await emu.start()
    try:
        with tempfile.TemporaryDirectory(prefix="porchlight-surge-") as tmp:
            world = World(emu, str(Path(tmp) / "porchlight.sqlite3"), forum=forum)
            emu.clock = time.monotonic  # the bench reads call times against time.monotonic()
            world.overrides["rate_limit_per_second"] = 30
            world.overrides["rate_limit_group_per_minute"] = 20
            await world.start_bot()
            emu.enforce_rate_limits = True
            dana = world.officer("Dana")
            chat = world.officer_chat_id
            start = time.monotonic()
            asked: tuple[int, float] | None = None
            filed = 0
            while time.monotonic() - start < deadline:
                now = time.monotonic()
                while filed < count and now - start >= filed * over / count:
                    urgent = filed % 8 == 7
                    ref = await _file(world, filed, urgent)
                    result.filed[ref] = time.monotonic()
                    if urgent:
                        result.urgent.add(ref)
                    filed += 1
                if asked is None and now - start >= over / 2:
                    message = emu.user_sends(dana.user, chat, text="/help")
                    asked = (message.message_id, time.monotonic())
                if asked is not None and result.officer_answer_s is None:
                    for message in emu.bot_messages(chat):
                        if message.reply_to_message_id == asked[0]:
                            result.officer_answer_s = time.monotonic() - asked[1]
                _scan(emu, chat, result, time.monotonic())
                done = filed == count and len(result.visible) >= count
                if done and result.officer_answer_s is not None:
                    break
                await asyncio.sleep(POLL)
            await world.stop_bot(kill_deliveries=True)
            result.officer_messages = len(emu.bot_messages(chat))
            result.topics = len(emu.chat(chat).topics)
            result.too_many_requests = sum(1 for c in emu.calls if c.error_code == 429)
    finally:
        await emu.stop()
    return result


def table(r: SurgeResult) -> str:
    full = sum(1 for ref in r.filed if r.cards.get(ref))
    doubled = sum(1 for n in r.cards.values() if n > 1)
    answer = f"{r.officer_answer_s:.2f} s" if r.officer_answer_s is not None else "never"
    rows = [
        ("tips filed", f"{len(r.filed)} in {r.over:.0f} s ({len(r.urgent)} urgent)"),
        ("visible to officers", f"{len(r.visible)} ({full} full cards, {len(r.listed)} listed)"),
        ("lost / shown twice", f"{len(r.filed) - len(r.visible)} / {doubled}"),
        ("urgent card, worst wait", f"{r.urgent_worst_s:.1f} s"),
        ("whole surge visible after", f"{r.cleared_s:.1f} s from the first tip"),
        ("officer's /help answered in", answer),
        (
            "officer-chat messages",
            f"{r.officer_messages} ({r.officer_messages / r.tips:.2f} a tip)",
        ),
        ("429 answers", str(r.too_many_requests)),
    ]
    if r.forum:
        rows.insert(-1, ("forum topics created", f"{r.topics} (one service message each)"))
    width = max(len(name) for name, _ in rows)
    lines = ["| what | result |", "|---|---|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)


def verdicts(r: SurgeResult) -> list[str]:
    checks = [
        (
            "every tip visible, none shown twice",
            len(r.visible) == len(r.filed) and all(n == 1 for n in r.cards.values()),
        ),
        ("urgent cards within 30 s", r.urgent_worst_s <= 30),
        ("surge cleared within 3 minutes", r.cleared_s <= 180),
        ("officer answered within 10 s", (r.officer_answer_s or 99) <= 10),
        ("no 429", r.too_many_requests == 0),
    ]
    return [f"{'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks]
