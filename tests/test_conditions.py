"""Telegram's real weather: 502s and slow answers, fast tappers over the per-chat limit, a
broadcast arriving mid-report, a surge of tips against the officer chat's 20 a minute, a 👍 that
never works. No conversation may die, and officers are answered before queued cards."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot import tips
from bot.tips import Draft
from storage.outbox import OutboxRepo
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator, EmuMessage, User
from tests.test_broadcasts import MONDAY_18H_UTC, fire_weekly_job, subscribed, tips_received

REPORT = [  # (what the resident does, what they wait to see before the next step)
    ("/report", "button:cat:vehicle"),
    ("tap:cat:vehicle", "Describe what you saw"),
    ("White van, no plates, engine running on Elm St", "button:where:skip"),
    ("tap:where:skip", "button:media:done"),
    ("tap:media:done", "button:anon:yes"),
    ("tap:anon:yes", "button:send:yes"),
    ("tap:send:yes", "your tip is"),
]


def _shows(emu: BotApiEmulator, user: User, expected: str, after: int) -> Callable[[], bool]:
    """A new or edited bot message with the expected button (a button step edits the pressed
    message into the next prompt), or with the words."""

    def seen() -> bool:
        for message in emu.bot_messages(user.id):
            fresh = message.message_id > after or message.edited
            if expected.startswith("button:"):
                data = expected.removeprefix("button:")
                if fresh and any(d == data for _, d in message.buttons):
                    return True
            elif (message.message_id > after or message.edited) and expected in (
                message.text or ""
            ):
                return True
        return False

    return seen


def _newest(emu: BotApiEmulator, user: User, data: str) -> EmuMessage:
    for message in reversed(emu.bot_messages(user.id)):
        if any(button == data for _, button in message.buttons):
            return message
    raise AssertionError(f"{user.first_name} sees no button {data}")


async def patient_resident_files_a_tip(emu: BotApiEmulator, user: User) -> None:
    """A person who, when the bot seems silent, writes "hello?" — as people do."""
    for action, expected in REPORT:
        last = max((m.message_id for m in emu.bot_messages(user.id)), default=0)
        if action.startswith("tap:"):
            data = action.removeprefix("tap:")
            emu.user_taps(user, _newest(emu, user, data).message_id, user.id, data)
        else:
            emu.user_sends(user, text=action)
        for _ in range(4):
            try:
                await emu.wait_for(_shows(emu, user, expected, last), timeout=6)
                break
            except (AssertionError, TimeoutError):
                emu.user_sends(user, text="hello?")
        else:
            raise AssertionError(f"{user.first_name} never saw {expected!r}\n{emu.dump()}")


async def test_twelve_residents_file_tips_through_502s_and_slow_answers(world: World) -> None:
    emu = world.emu
    residents = [emu.add_user(f"Neighbour{n}") for n in range(12)]
    emu.fault_rate = 0.2
    emu.latency_jitter = 0.05
    await asyncio.gather(*(patient_resident_files_a_tip(emu, user) for user in residents))
    await emu.wait_for(
        lambda: sum("White van" in (m.text or "") for m in world.officer_chat.bot_messages()) >= 12,
        timeout=20,
    )
    emu.fault_rate = 0
    await world.settle()
    assert sum(1 for c in emu.calls if c.error_code == 502) > 20, "the weather was real"
    for user in residents:
        receipts = [m for m in emu.bot_messages(user.id) if "your tip is" in (m.text or "")]
        assert len(receipts) == 1, f"{user.first_name} got {len(receipts)} receipts"
    cards = [m for m in world.officer_chat.bot_messages() if "White van" in (m.text or "")]
    assert len(cards) == 12, "every tip has exactly one card"


async def test_a_fast_tapper_over_the_per_chat_limit_finishes_a_tip(world: World) -> None:
    emu = world.emu
    emu.enforce_rate_limits = True
    emu.rate_private = (2, 1.0)  # Telegram tolerates short bursts, then answers 429
    alice = emu.add_user("Alice")
    await patient_resident_files_a_tip(emu, alice)
    await world.settle()
    limited = [c for c in emu.calls if c.error_code == 429 and c.chat_id == alice.id]
    assert limited, "Alice did tap faster than Telegram allows"
    assert any("your tip is" in (m.text or "") for m in emu.bot_messages(alice.id))
    assert not any("something went wrong" in (m.text or "") for m in emu.bot_messages(alice.id))
    assert any("White van" in (m.text or "") for m in world.officer_chat.bot_messages())


async def test_a_tip_filed_while_a_broadcast_reaches_the_same_resident(world: World) -> None:
    world.overrides["rate_limit_per_second"] = 30
    await world.restart_bot()
    emu = world.emu
    emu.enforce_rate_limits = True
    emu.rate_private = (2, 1.0)
    residents = await subscribed(world, 40)
    alice = residents[0]
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world, settle=False)
    await patient_resident_files_a_tip(emu, alice)
    await world.settle()
    assert len(tips_received(world, alice)) == 1
    assert [len(tips_received(world, user)) for user in residents] == [1] * 40
    assert any("your tip is" in (m.text or "") for m in emu.bot_messages(alice.id))


async def test_a_resident_tapping_through_a_report_while_the_weekly_tip_reaches_her_draws_no_429(
    world: World,
) -> None:
    """Telegram's limits as they are (30 a second, 3 messages in 3 s to one chat) and the bot's
    own pacing on: answers to Alice are spaced, not refused."""
    world.overrides.update(rate_limit_per_second=30, rate_limit_private_per_second=1)
    await world.restart_bot()
    emu = world.emu
    emu.enforce_rate_limits = True
    residents = await subscribed(world, 40)
    alice = residents[0]
    world.clock.set(MONDAY_18H_UTC)
    async with fast_forward(world):
        await fire_weekly_job(world, settle=False)
        await patient_resident_files_a_tip(emu, alice)
        await world.settle()
    assert [call for call in emu.calls if call.error_code == 429] == []
    assert [len(tips_received(world, user)) for user in residents] == [1] * 40
    assert any("your tip is" in (m.text or "") for m in emu.bot_messages(alice.id))
    said = [m.text for m in emu.chat(alice.id).messages.values() if m.from_id == alice.id]
    assert "hello?" not in said, "every answer came before Alice lost patience"


@contextlib.asynccontextmanager
async def fast_forward(world: World, factor: float = 10.0) -> AsyncIterator[None]:
    """Time runs `factor` times faster for the bot and Telegram alike (paced sends included)."""

    async def run() -> None:
        while True:
            await asyncio.sleep(0.02)
            await world.advance(0.02 * (factor - 1))

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_prompt_telegram_keeps_refusing_is_repeated_at_the_next_message(
    world: World,
) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    world.emu.fail_next(
        "sendMessage", chat_id=alice.id, error_code=502, description="Bad Gateway", times=4
    )
    await alice.taps("Suspicious vehicle")
    assert "Describe what you saw" not in alice.last_message().text  # lost, for now
    await alice.says("hello?")
    assert "Describe what you saw" in alice.last_message().text
    await alice.says("A man trying car doors")
    assert "Where was it?" in alice.last_message().text
    await alice.sends_report_anonymously()
    card = await world.officer_chat.next_message()
    assert "A man trying car doors" in (card.text or "")
    assert "hello?" not in (card.text or "")


async def test_a_failing_reaction_never_holds_up_the_residents_next_message(
    world: World,
) -> None:
    """A Bot API server without reactions: the 👍 fails, the follow-up still goes at once."""
    from tests.test_tip_line import file_tip

    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    world.emu.fail_next("setMessageReaction", error_code=502, description="Bad Gateway", times=50)
    await dana.replies_to(card, "Thanks, a patrol is on its way")
    await alice.replies_to(alice.last_message(), "It just drove off towards Oak St")
    followups = [
        m for m in world.officer_chat.bot_messages() if "drove off towards Oak St" in (m.text or "")
    ]
    assert len(followups) == 1
    await world.advance(2)  # the reaction's one retry, a second later
    await world.settle()
    async with world.porch.store.read() as tx:
        receipts = await tx.outbox.rows("receipt")
    assert [(r.status, r.attempts) for r in receipts] == [("failed", 2)]


async def test_a_backed_off_reply_is_retried_on_time_not_at_the_next_tick(world: World) -> None:
    from tests.test_tip_line import file_tip

    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    world.emu.fail_next(
        "sendMessage", chat_id=alice.id, error_code=502, description="Bad Gateway", times=4
    )
    world.emu.user_sends(
        dana.user, world.officer_chat_id, text="First answer", reply_to=card.message_id
    )
    world.emu.user_sends(
        dana.user, world.officer_chat_id, text="Second answer", reply_to=card.message_id
    )
    # The first reply backs off for a second (the outbox's own schedule); the second waits
    # behind it in the resident's lane. Both arrive within seconds, in order: the drainer's own
    # timer brings the backed-off row, nothing else needs to happen meanwhile.
    await world.emu.wait_for(
        lambda: sum("answer" in (m.text or "") for m in world.emu.bot_messages(alice.id)) == 2,
        timeout=3,
    )
    texts = [m.text or "" for m in world.emu.bot_messages(alice.id) if "answer" in (m.text or "")]
    assert "First answer" in texts[0] and "Second answer" in texts[1]


async def seeded_tips(world: World, count: int, *, urgent: bool = False) -> list[int]:
    """Tips filed by as many residents within a few seconds (through bot.tips, as Send does)."""
    refs = []
    for number in range(count):
        user = world.emu.add_user(f"Surge{len(world.emu.users)}")
        text = ("Someone has a gun, " if urgent else "") + f"strange noise at number {number}"
        async with world.porch.store.transaction() as tx:
            await tx.residents.ensure(user.id, "en")
        draft = Draft(key=f"surge:{user.id}", category="hazard", description=text, urgent=urgent)
        filed = await tips.file_tip(
            world.porch.store,
            resident_id=user.id,
            language="en",
            draft=draft,
            reporter_name=None,
            officers=world.porch.officers,
            tips_per_hour=5,
        )
        refs.append(filed.tip.id)
    return refs


async def test_a_surge_of_tips_the_officer_chat_still_answers_officers_first(
    world: World,
) -> None:
    world.overrides["rate_limit_group_per_minute"] = 20  # the bot paces the officer chat
    await world.restart_bot()
    emu = world.emu
    emu.enforce_rate_limits = True  # and Telegram enforces 20 a minute too
    dana = world.officer("Dana")
    ordinary = await seeded_tips(world, 40)
    (urgent,) = await seeded_tips(world, 1, urgent=True)
    await world.settle()
    officers = world.officer_chat
    cards = [m for m in officers.bot_messages() if "strange noise" in (m.text or "")]
    assert 10 <= len(cards) < 40, "the first cards went in full, the rest wait for room"
    assert any(f"Tip #{urgent}" in (m.text or "") for m in cards), "urgent is never held back"
    asked = await dana.says("/help")
    answer = officers.last_message()
    assert answer.reply_to_message_id == asked.message_id, "answered before queued cards"
    # A minute later there is room again: everything still waiting comes as one list. (Tips
    # filed while the first cards went out may already have been listed, when more waited
    # than fitted at that moment: each tip is shown once, as a card or as a list's line.)
    await world.advance(61)
    await world.settle()
    listing = officers.last_message()
    assert "new tips are waiting" in (listing.text or "")
    lists = [
        m.text or "" for m in officers.bot_messages() if "new tips are waiting" in (m.text or "")
    ]
    assert len(lists) <= 2
    shown = " ".join(m.text or "" for m in cards)
    waiting = [ref for ref in ordinary if f"Tip #{ref} " not in shown]
    assert waiting, "some tips waited for room"
    assert [sum(text.count(f"#{ref} · ") for text in lists) for ref in waiting] == [1] * len(
        waiting
    ), "every tip that waited is listed, once"
    # An officer opens one: its full card comes at once, ahead of anything queued.
    opened = waiting[0]
    await dana.taps(f"Open #{opened}")
    card = officers.last_message()
    assert f"Tip #{opened}" in (card.text or "") and "strange noise" in (card.text or "")
    await dana.replies_to(card, "On our way")
    assert not [c for c in emu.calls if c.error_code == 429], "never over Telegram's limits"
    assert len(officers.bot_messages()) <= 20 + 20, "officer-chat messages stay within budget"


async def test_a_flood_of_junk_changes_nothing_and_people_are_still_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Forged presses with huge and odd numbers, chatter in a community group, strange text:
    refused or ignored without asking Telegram, and a new resident's /start is answered."""
    emu = world.emu
    group = emu.add_group("Elm Street", type="supergroup", members={})
    emu.set_bot_member(group, "administrator")  # sees every message there
    forged = [
        "bs:send:999999999999999999999999",
        "evc:yes:²",
        "open:99999999999999999999999999",
        "grp:ok:-99999999999999999999",
        "ev:going:٣",
        "rate:1:5",
        "cat:vehicle",
        "x" * 64,
    ]
    for number in range(40):
        user = emu.add_user(f"Prankster{number}", last_name="\u202e\u200dnull")
        emu.user_sends(user, text="/start")
        emu.user_sends(user, text="/cancelevent 99999999999999999999999")
        emu.user_sends(user, text="/tip ²")
        emu.user_sends(user, group, text="just chatting about the weather " * 3)
        for data in forged:
            emu.user_taps(user, None, user.id, data)
    await world.settle()
    newcomer = world.resident("Newcomer")
    await newcomer.says("/start")
    assert "Welcome" in (newcomer.inbox[0].text or "")
    assert emu.calls_to("getChatMember") == [], "no membership look-ups for strangers"
    assert not [c for c in emu.calls if c.method == "sendMessage" and c.chat_id == group]
    assert not emu.unanswered_callback_queries()
    async with world.porch.store.read() as tx:
        assert await tx.outbox.rows("tip_card") == []
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [], [r.getMessage() for r in errors]


async def test_a_busy_officer_chat_never_delays_a_residents_answer(world: World) -> None:
    """Officers send more commands than the chat's 20 a minute allows: their answers queue
    (in order), and a resident's /help in the meantime is answered at once."""
    world.overrides["rate_limit_group_per_minute"] = 20
    await world.restart_bot()
    emu = world.emu
    emu.enforce_rate_limits = True
    dana = world.officer("Dana")
    asked = [emu.user_sends(dana.user, world.officer_chat_id, text="/help") for _ in range(24)]
    await emu.wait_for(lambda: len(world.officer_chat.bot_messages()) >= 20, timeout=5)
    alice = emu.add_user("Alice")
    emu.user_sends(alice, text="/help")
    await emu.wait_for(lambda: bool(emu.bot_messages(alice.id)), timeout=5)
    assert len(world.officer_chat.bot_messages()) < 24, "officers' answers were still queued"
    await world.advance(61)  # a minute later the chat has room for the rest
    await world.settle()
    answers = [m.reply_to_message_id for m in world.officer_chat.bot_messages()]
    assert answers == [m.message_id for m in asked], "every officer answered, in order"
    assert not [c for c in emu.calls if c.error_code == 429]


async def test_an_officers_lost_prompt_is_repeated_and_the_broadcast_goes_on(
    world: World,
) -> None:
    dana = world.officer("Dana")
    world.emu.fail_next(
        "sendMessage",
        chat_id=world.officer_chat_id,
        error_code=502,
        description="Bad Gateway",
        times=4,
    )
    await dana.says("/broadcast")
    assert not world.officer_chat.bot_messages(), "the prompt was lost, for now"
    await dana.says("hello?")
    prompt = world.officer_chat.last_message()
    assert prompt.reply_to_message_id is not None
    await dana.replies_to(prompt, "Water main burst on Elm St: avoid the area")
    assert "Alert" in " ".join(label for label, _ in world.officer_chat.last_message().buttons)


async def test_a_database_that_refuses_a_claim_once_delays_the_card_but_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The outbox's claim meets a locked (or lost) database once: the drainer says so and
    looks again, and the resident's tip still reaches the officers, once."""
    refusals = 0
    due, claim = OutboxRepo.due, OutboxRepo.claim

    def refuse_once(real: Any) -> Any:
        async def read(self: OutboxRepo, *args: Any, **kwargs: Any) -> Any:
            nonlocal refusals
            if refusals == 0:
                refusals += 1
                raise sqlite3.OperationalError("database is locked")
            return await real(self, *args, **kwargs)

        return read

    drainer = world.porch.drainer
    assert drainer is not None
    drainer.claim_retry = 0.05  # the story's time, not the second a real bot waits
    monkeypatch.setattr(OutboxRepo, "due", refuse_once(due))
    monkeypatch.setattr(OutboxRepo, "claim", refuse_once(claim))
    alice = world.emu.add_user("Alice")
    await patient_resident_files_a_tip(world.emu, alice)
    await world.settle()

    assert refusals == 1
    assert "outbox claim failed" in caplog.text
    cards = [m for m in world.officer_chat.bot_messages() if "White van" in (m.text or "")]
    assert len(cards) == 1
    assert any("your tip is" in (m.text or "") for m in world.emu.bot_messages(alice.id))
