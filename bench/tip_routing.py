"""Scenario 1: N residents file a tip each, then all tap "Send" at once.

Why: the moment that matters is a neighbourhood reacting to one incident; the latency from a
resident's "Send" to the card in the officer chat is what officers experience. The report
steps before "Send" are driven concurrently but not timed.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import translate
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator, EmuMessage, User

from .common import POLL, BurstResult, CallWatcher, no_gc, text_key

CATEGORY = "Suspicious vehicle"
STEP_TIMEOUT = 30.0
MARK = re.compile(r"bench tip (\d{5})\b")


def description(index: int) -> str:
    """A unique, harmless (no emergency words, no HTML) description that names its resident."""
    return f"Grey hatchback idling by the park gate, bench tip {index:05d} of the burst"


@dataclass
class Resident:
    """One simulated resident and where their conversation has got to."""

    index: int
    user: User
    cursor: int = 0  # newest bot message id already consumed in their private chat
    prompt: EmuMessage | None = None  # the bot message whose buttons come next

    def button(self, label: str) -> str:
        """Callback data of the button labelled ``label`` on the current prompt."""
        assert self.prompt is not None
        for text, data in self.prompt.buttons:
            if text == label and data is not None:
                return data
        raise AssertionError(f"resident {self.index}: no {label!r} on {self.prompt!r}")


Expect = Callable[[EmuMessage], bool]


def has_button(label: str) -> Expect:
    return lambda msg: any(text == label for text, _ in msg.buttons)


def _plain_start(message_id: str) -> str:
    """The first words of a catalog message as the emulator stores it (tags removed)."""
    return re.sub(r"<[^>]+>", "", translate("en", message_id))[:24]


async def _step(
    emu: BotApiEmulator, people: list[Resident], act: Callable[[Resident], object], expect: Expect
) -> None:
    """Everyone acts at once, then wait until each one's next prompt arrived (order per resident
    is kept because nobody acts again before their answer is there). A button step edits the
    pressed message into the next prompt, so the current prompt itself may be the answer."""
    for person in people:
        act(person)
    pending = {p.index: p for p in people}
    deadline = time.monotonic() + STEP_TIMEOUT
    while pending:
        for index, person in list(pending.items()):
            for msg in reversed(emu.bot_messages(person.user.id)):
                if msg.message_id < person.cursor:
                    break
                if expect(msg):
                    person.cursor, person.prompt = msg.message_id, msg
                    del pending[index]
                    break
        if not pending:
            return
        if time.monotonic() > deadline:
            stuck = sorted(pending)[:5]
            raise AssertionError(f"{len(pending)} residents stuck (e.g. {stuck})\n{emu.dump()}")
        await asyncio.sleep(POLL * 5)


def _tap(emu: BotApiEmulator, label: str) -> Callable[[Resident], object]:
    def act(p: Resident) -> object:
        assert p.prompt is not None
        return emu.user_taps(p.user, p.prompt.message_id, p.user.id, p.button(label))

    return act


async def drive_to_summary(emu: BotApiEmulator, people: list[Resident]) -> None:
    """/report → category → description → Skip → Skip → Anonymous → summary with "Send"."""
    asks_description = _plain_start("report.ask_description")
    await _step(emu, people, lambda p: emu.user_sends(p.user, text="/report"), has_button(CATEGORY))
    await _step(
        emu,
        people,
        _tap(emu, CATEGORY),
        lambda m: not m.buttons and (m.text or "").startswith(asks_description),
    )
    await _step(
        emu,
        people,
        lambda p: emu.user_sends(p.user, text=description(p.index)),
        has_button("Skip"),
    )
    asks_media = _plain_start("report.ask_media")
    media = has_button("Skip")
    await _step(  # where → media, in the same message
        emu, people, _tap(emu, "Skip"), lambda m: media(m) and (m.text or "").startswith(asks_media)
    )
    await _step(emu, people, _tap(emu, "Skip"), has_button("Anonymous (recommended)"))
    await _step(emu, people, _tap(emu, "Anonymous (recommended)"), has_button("Send"))


async def run(
    residents: int, lost_after: float, database: str | None = None, *, one_at_a_time: bool = False
) -> BurstResult:
    """Start the real app on a fresh database (a SQLite file unless `database` names one, e.g.
    a PostgreSQL URL), prepare every tip, then burst the "Send" taps (or tap them one after
    the other, each after the previous card arrived: a single resident's latency)."""
    emu = BotApiEmulator()
    await emu.start()
    try:
        with tempfile.TemporaryDirectory(prefix="porchlight-bench-") as tmp:
            # The bot's pacing is off here (World's default): this measures the code path. With
            # Telegram's real limit the officer chat takes 20 messages a minute, whatever the code.
            world = World(emu, database or str(Path(tmp) / "porchlight.sqlite3"))
            emu.clock = time.monotonic  # the bench reads call times against time.monotonic()
            await world.start_bot()
            try:
                people = residents_of(emu, residents)
                await drive_to_summary(emu, people)
                await world.settle()  # nothing left over from the preparation when timing starts
                return await tap_send(
                    emu,
                    people,
                    world.officer_chat_id,
                    lost_after,
                    "Porchlight tip routing",
                    one_at_a_time=one_at_a_time,
                )
            finally:
                await world.stop_bot(kill_deliveries=True)
    finally:
        await emu.stop()


def residents_of(emu: BotApiEmulator, count: int) -> list[Resident]:
    return [Resident(i, emu.add_user(f"Resident{i}", last_name="Bench")) for i in range(count)]


async def tap_send(
    emu: BotApiEmulator,
    people: list[Resident],
    officer_chat_id: int,
    lost_after: float,
    name: str,
    *,
    one_at_a_time: bool = False,
) -> BurstResult:
    """Everyone taps "Send" at once (or one after the other); time each tap to its card."""
    result = BurstResult(name, sent={})
    watcher = CallWatcher(emu, text_key("sendMessage", MARK, officer_chat_id))
    taps = [(p, p.button("Send")) for p in people]
    with no_gc():
        for person, data in taps:
            assert person.prompt is not None
            result.sent[person.index] = time.monotonic()
            emu.user_taps(person.user, person.prompt.message_id, person.user.id, data)
            if one_at_a_time:
                await watcher.wait(result, lost_after, linger=0)
    await watcher.wait(result, lost_after)

    spread = (max(result.sent.values()) - min(result.sent.values())) * 1000
    how = "one after the other" if one_at_a_time else f"within {spread:.1f} ms"
    result.notes.append(f"{len(people)} taps enqueued {how}")
    result.notes.append(result.call_summary())
    thanked = sum(1 for p in people if _thanked(emu, p))
    if thanked != len(people):
        result.notes.append(f"only {thanked}/{len(people)} residents were thanked")
    return result


def _thanked(emu: BotApiEmulator, person: Resident) -> bool:
    """The resident's receipt names the tip ("your tip is #12"): the summary, edited."""
    return any("your tip is #" in (m.text or "") for m in emu.bot_messages(person.user.id))
