"""Replicas share Telegram's limits (bot/shared_budget.py): three processes, one PostgreSQL.

Each replica is what `porchlight run` builds for the Bot API: a PTB bot whose every call passes
its own TelegramBudget, here sharing the one database through a Store of its own, as three
processes would. The emulator enforces Telegram's limits (30 a second, 20 a minute per group,
429 with retry_after), so a budget that lets too much go is answered 429 as Telegram would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot import shared_budget
from bot.budget import SendOptions, TelegramBudget
from bot.config import ConfigError, load_settings
from bot.flood_windows import PEOPLE, URGENT
from bot.http import make_request
from bot.shared_budget import SharedFloodBudget, SharedPace
from storage import Store
from storage.postgres import ddl
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator
from tests.test_tip_line import file_tip

CARDS = SendOptions(priority=20)  # an ordinary tip's card, or a broadcast: the outbox's work
URGENT_CARD = SendOptions(priority=URGENT)
BOT_TOKEN = "123456:ABCDEFGHIJKLMNOP"

Replica = ExtBot[SendOptions]


@pytest.fixture
def postgres(database: str) -> str:
    if not database.startswith("postgresql://"):
        pytest.skip("replicas share their limits through PostgreSQL (--backend=postgresql)")
    return database


@contextlib.asynccontextmanager
async def replicas(
    emu: BotApiEmulator,
    database: str,
    count: int = 3,
    *,
    shared: bool = True,
    clocks: list[Callable[[], float]] | None = None,
) -> AsyncIterator[list[Replica]]:
    """`count` bots with Telegram's limits on, each with its own budget and store."""
    stores = [Store(database) for _ in range(count)]
    bots: list[Replica] = []
    for index, store in enumerate(stores):
        await store.open()
        budget = TelegramBudget(
            30,
            20,
            private_per_second=1,
            paid_per_second=1000,
            clock=clocks[index] if clocks else time.monotonic,
            shared=SharedFloodBudget(store, 30, 20, paid_per_second=1000) if shared else None,
        )
        bot: Replica = ExtBot(
            emu.token,
            base_url=emu.base_url,
            base_file_url=emu.base_file_url,
            request=make_request("aiohttp", pool_size=64),
            rate_limiter=budget,
        )
        await bot.initialize()
        bots.append(bot)
    try:
        yield bots
    finally:
        for bot in bots:
            await bot.shutdown()
        for store in stores:
            await store.close()


def residents(emu: BotApiEmulator, count: int) -> list[int]:
    people = [emu.add_user(f"Resident {n}") for n in range(count)]
    for person in people:
        emu.user_starts(person)
    return [person.id for person in people]


def too_many_requests(emu: BotApiEmulator) -> int:
    return sum(1 for call in emu.calls if call.error_code == 429)


async def pending(tasks: list[asyncio.Task[Any]]) -> int:
    """How many of `tasks` are still waiting (after letting the loop run a little)."""
    await asyncio.sleep(0.3)
    return sum(1 for task in tasks if not task.done())


async def cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- the overall pace ---------------------------------------------------------------------------


async def test_a_broadcast_split_across_three_replicas_stays_inside_30_a_second(
    emulator: BotApiEmulator, postgres: str
) -> None:
    """One replica's clock is an hour ahead: bookings are on the database's clock."""
    emulator.enforce_rate_limits = True
    people = residents(emulator, 45)
    skewed = [time.monotonic, time.monotonic, lambda: time.monotonic() + 3600]
    async with replicas(emulator, postgres, clocks=skewed) as bots:
        await asyncio.gather(
            *(
                bots[n % 3].send_message(chat, "Safety tip of the week", rate_limit_args=CARDS)
                for n, chat in enumerate(people)
            )
        )
    assert [len(emulator.bot_messages(chat)) for chat in people] == [1] * 45
    assert too_many_requests(emulator) == 0


async def test_without_sharing_three_replicas_send_three_times_too_fast(
    emulator: BotApiEmulator, postgres: str
) -> None:
    """The story above with each replica pacing itself alone: Telegram answers 429."""
    emulator.enforce_rate_limits = True
    people = residents(emulator, 45)
    async with replicas(emulator, postgres, shared=False) as bots:
        sends = [
            bots[n % 3].send_message(chat, "Safety tip of the week", rate_limit_args=CARDS)
            for n, chat in enumerate(people)
        ]
        await asyncio.gather(*sends, return_exceptions=True)
    assert too_many_requests(emulator) > 0


async def test_an_answer_on_one_replica_goes_before_another_replicas_broadcast(
    emulator: BotApiEmulator, postgres: str
) -> None:
    emulator.enforce_rate_limits = True
    people = residents(emulator, 60)
    alice = residents(emulator, 1)[0]
    async with replicas(emulator, postgres, count=2) as (a, b):
        broadcast = [
            asyncio.create_task(a.send_message(chat, "Weekly tip", rate_limit_args=CARDS))
            for chat in people
        ]
        await emulator.wait_for(lambda: delivered(emulator, people) >= 10, timeout=10)
        before = delivered(emulator, people)
        await b.send_message(alice, "Officer reply on tip #42: we are on our way")
        behind = delivered(emulator, people) - before
        assert await pending(broadcast) > 30, "the broadcast goes on after the answer"
        await cancel(broadcast)
    assert behind <= 12, f"the answer waited behind {behind} broadcast messages"
    assert too_many_requests(emulator) == 0


def delivered(emu: BotApiEmulator, chats: list[int]) -> int:
    return sum(len(emu.bot_messages(chat)) for chat in chats)


async def test_paid_broadcasts_share_their_own_pace_and_leave_the_free_one_alone(
    emulator: BotApiEmulator, postgres: str
) -> None:
    emulator.enforce_rate_limits = True
    emulator.rate_paid = (100, 1.0)  # Telegram's rule at 1,000 a second, scaled down
    people = residents(emulator, 150)
    async with replicas(emulator, postgres) as bots:
        for bot in bots:  # the replicas pace paid sends at 100 a second, as Telegram counts them
            assert isinstance(bot.rate_limiter, TelegramBudget)
            shared = bot.rate_limiter.shared
            assert isinstance(shared, SharedFloodBudget)
            shared.paid = SharedPace(shared.store, "paid", 100)
        await asyncio.gather(
            *(
                bots[n % 3].send_message(
                    chat, "Alert", allow_paid_broadcast=True, rate_limit_args=CARDS
                )
                for n, chat in enumerate(people)
            )
        )
        await bots[0].send_message(people[0], "An answer at the free pace")
        async with bots[0].rate_limiter.shared.store.read() as tx:  # type: ignore[union-attr]
            assert await tx.flood.pace("paid") is not None
    assert delivered(emulator, people) == 151
    assert too_many_requests(emulator) == 0


# --- a group's minute ---------------------------------------------------------------------------


async def test_a_group_gets_20_a_minute_across_replicas_and_people_come_first(
    emulator: BotApiEmulator, postgres: str
) -> None:
    emulator.enforce_rate_limits = True
    officers = emulator.add_group("Officers")
    async with replicas(emulator, postgres) as (a, b, c):
        cards = [
            asyncio.create_task(bot.send_message(officers, f"Tip #{n}", rate_limit_args=CARDS))
            for n, bot in enumerate([a] * 12 + [b] * 12 + [c] * 6)
        ]
        await emulator.wait_for(lambda: len(emulator.bot_messages(officers)) >= 16)
        assert await pending(cards) == 14, "cards leave the minute's last 4 messages"
        assert len(emulator.bot_messages(officers)) == 16

        await asyncio.wait_for(b.send_message(officers, "Open tips: 3"), timeout=2)
        await asyncio.wait_for(
            c.send_message(officers, "URGENT tip #99", rate_limit_args=URGENT_CARD), timeout=2
        )
        await asyncio.wait_for(a.send_message(officers, "Tip #7 is taken"), timeout=2)
        await asyncio.wait_for(c.send_message(officers, "Noted"), timeout=2)
        texts = [m.text for m in emulator.bot_messages(officers)]
        assert texts[16:] == ["Open tips: 3", "URGENT tip #99", "Tip #7 is taken", "Noted"]

        one_too_many = asyncio.create_task(b.send_message(officers, "Thanks"))
        assert await pending([one_too_many]) == 1, "the 21st message waits for the minute"
        async with a.rate_limiter.shared.store.read() as tx:  # type: ignore[union-attr]
            window = await tx.flood.window(str(officers))
        assert sum(messages for _, messages in window) == 20
        assert a.rate_limiter.room(officers, PEOPLE) == 1, "A saw 19 when it booked its last"
        await cancel([*cards, one_too_many])
    assert len(emulator.bot_messages(officers)) == 20
    assert too_many_requests(emulator) == 0


async def test_a_groups_old_sends_leave_the_table(emulator: BotApiEmulator, postgres: str) -> None:
    store = Store(postgres)
    await store.open()
    try:
        async with store.transaction() as tx:
            await tx.conn.execute(
                "INSERT INTO flood_sends (chat, sent_at, messages) VALUES ('-5', 1000.0, 3)"
            )
            booking = await tx.flood.book_window("-5", 1, 16, 60.5)
        assert booking.booked and len(booking.sent) == 1, "three sends of long ago do not count"
        async with store.read() as tx:
            assert [m for _, m in await tx.flood.window("-5")] == [1]
    finally:
        await store.close()


# --- the wiring -----------------------------------------------------------------------------------


async def test_a_tip_and_its_answer_pass_the_shared_budget(world: World) -> None:
    if not world.database.startswith("postgresql://"):
        pytest.skip("replicas share their limits through PostgreSQL (--backend=postgresql)")
    world.overrides.update(
        shared_flood_limits=True,
        rate_limit_per_second=30,
        rate_limit_group_per_minute=20,
        rate_limit_private_per_second=1,  # not shared, but Telegram's limit is on
    )
    await world.restart_bot()
    world.emu.enforce_rate_limits = True
    assert isinstance(world.app and world.app.bot.rate_limiter, TelegramBudget)
    alice = world.resident("Alice")
    officer = world.officer("Olga")
    card = await file_tip(world, alice, "A van <without plates> & no driver")
    assert "A van <without plates> & no driver" in card.text
    await officer.replies_to(card, text="We are on our way <now>.")
    assert "We are on our way <now>." in alice.last_message().text
    async with world.porch.store.read() as tx:
        assert await tx.flood.window(str(world.officer_chat_id)), "the card was booked"
        assert await tx.flood.pace("free") is not None
    assert not any(call.error_code == 429 for call in world.emu.calls)


# --- the parts on their own -----------------------------------------------------------------------


def test_the_switch_is_on_for_replicas_on_postgresql_only() -> None:
    url = "postgresql://porchlight:secret@db.example.org/porchlight"
    hook = {"webhook_url": "https://bot.example.org/telegram", "webhook_secret": "s3cret"}
    base = {"bot_token": BOT_TOKEN, "officer_chat_id": -100, "_env_file": None}
    assert load_settings(**base, database_url=url, **hook).shares_flood_limits
    assert not load_settings(**base, database_url=url).shares_flood_limits, "long polling: one"
    assert not load_settings(**base, **hook).shares_flood_limits, "SQLite: one process"
    assert load_settings(**base, database_url=url, shared_flood_limits=True).shares_flood_limits
    off = load_settings(**base, database_url=url, shared_flood_limits=False, **hook)
    assert not off.shares_flood_limits
    with pytest.raises(ConfigError, match="SHARED_FLOOD_LIMITS needs DATABASE_URL"):
        load_settings(**base, shared_flood_limits=True)


def test_a_booking_covers_one_message_at_30_a_second_and_a_block_at_1000() -> None:
    store = Store("unused.sqlite3")
    assert SharedPace(store, "free", 30).block == 1
    assert SharedPace(store, "paid", 1000).block == 19, "20 ms of a pace at 98 % of 1,000"


def test_the_flood_tables_are_unlogged_on_postgresql_only() -> None:
    sql = "CREATE /* postgresql: UNLOGGED */ TABLE flood_paces (next_free REAL NOT NULL);"
    assert ddl(sql) == "CREATE UNLOGGED TABLE flood_paces (next_free DOUBLE PRECISION NOT NULL);"


async def test_with_the_database_away_sends_go_at_the_processs_own_pace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    away = SharedFloodBudget(Store("postgresql://nobody@127.0.0.1:1/none"), 30, 20)
    started = time.monotonic()
    for _ in range(3):
        assert await away.take(1, PEOPLE, paid=False, group=-5) == ()
    assert time.monotonic() - started < 1.0
    warnings = [r for r in caplog.records if r.name == shared_budget.__name__]
    assert len(warnings) == 2, "one warning for the pace, one for the window: not one per send"
    await away.close()
