"""Weekly safety tips through the durable, rate-limited outbox: on schedule, once per week, in
each resident's language, surviving restarts, blocked residents and Telegram's 429s."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.broadcasts import run_weekly, shipped_library
from bot.schedule import previous_fire, week_key, weekly_trigger
from tests.conftest import World, seed_subscribers
from tests.telegram.emulator import BotApiEmulator, User

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_18H_UTC = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
LIBRARY = shipped_library()


async def subscribed(world: World, count: int, language: str = "en") -> list[User]:
    """Residents who pressed Start and opted in earlier (seeded, to keep stories short)."""
    return await seed_subscribers(world.emu, world.porch.store, count, language=language)


async def fire_weekly_job(world: World, *, settle: bool = True) -> None:
    """The weekly alarm's moment: what is due at the world's clock rings."""
    await world.ring_alarms(settle=settle)


def next_weekly_run(world: World) -> datetime:
    """When the weekly alarm is set to ring (on the world's clock)."""
    assert world.app is not None
    next_run = world.porch.alarms.armed("weekly-safety-broadcast")
    assert next_run is not None
    return next_run


def tips_received(world: World, user: User) -> list[str]:
    return [
        m.text or ""
        for m in world.emu.bot_messages(user.id)
        if "of the week" in (m.text or "") or "de la semana" in (m.text or "")
    ]


async def test_weekly_tip_reaches_subscribers_in_their_language_once_a_week(
    world: World,
) -> None:
    world.overrides["timezone"] = "Europe/Madrid"
    await world.restart_bot()
    alice = world.resident("Alice")
    await alice.says("/start")
    await alice.taps("Yes, keep me informed")
    lucia = world.resident("Lucía", language="es")
    await lucia.says("/start")
    await lucia.taps("Sí, mantenme informado")
    bob = world.resident("Bob")
    await bob.says("/start")
    await bob.taps("No, thanks")

    local = next_weekly_run(world).astimezone(MADRID)
    assert (local.weekday(), local.hour, local.minute) == (0, 18, 0)

    world.clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=MADRID))
    await fire_weekly_job(world)
    [english] = tips_received(world, alice.user)
    [spanish] = tips_received(world, lucia.user)
    assert LIBRARY[0].title_en in english and LIBRARY[0].title_es in spanish
    assert tips_received(world, bob.user) == []

    await fire_weekly_job(world)  # the same week again: a restart, a second replica…
    assert len(tips_received(world, alice.user)) == 1

    world.clock.advance(timedelta(days=7))
    await fire_weekly_job(world)
    assert LIBRARY[1].title_en in tips_received(world, alice.user)[-1]


async def test_the_rotation_goes_round_the_library_before_repeating(world: World) -> None:
    settings, store = world.settings(), world.porch.store
    week = MONDAY_18H_UTC
    sent = []
    for _ in range(len(LIBRARY) + 1):
        broadcast = await run_weekly(store, settings, week)
        assert broadcast is not None
        sent.append(broadcast.advice_id)
        week += timedelta(days=7)
    assert len(set(sent[:-1])) == len(LIBRARY) and sent[-1] == sent[0]


def test_daylight_saving_does_not_move_the_local_hour() -> None:
    trigger = weekly_trigger("0 18 * * MON", MADRID)
    # Summer time ends on Sunday 2026-10-25.
    before = previous_fire(trigger, datetime(2026, 10, 20, tzinfo=UTC))
    after = previous_fire(trigger, datetime(2026, 10, 27, tzinfo=UTC))
    assert before is not None and after is not None
    assert before.astimezone(UTC).hour == 16 and after.astimezone(UTC).hour == 17
    assert before.astimezone(MADRID).hour == after.astimezone(MADRID).hour == 18
    assert week_key(before, MADRID) == "weekly:2026-W43"
    assert week_key(after, MADRID) == "weekly:2026-W44"


async def test_a_run_missed_while_down_goes_out_once_inside_the_grace_window(
    world: World,
) -> None:
    [resident] = await subscribed(world, 1)
    await world.stop_bot()
    world.clock.set(MONDAY_18H_UTC + timedelta(hours=2))
    await world.start_bot()
    await world.settle()
    assert len(tips_received(world, resident)) == 1
    await world.restart_bot()
    await world.settle()
    assert len(tips_received(world, resident)) == 1


async def test_a_run_missed_by_more_than_the_grace_is_skipped_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    [resident] = await subscribed(world, 1)
    await world.stop_bot()
    world.clock.set(MONDAY_18H_UTC + timedelta(hours=16))
    with caplog.at_level(logging.WARNING):
        await world.start_bot()
        await world.settle()
    assert tips_received(world, resident) == []
    assert "weekly:2026-W49 missed by" in caplog.text


async def test_a_broadcast_interrupted_by_a_restart_skips_no_one(world: World) -> None:
    world.overrides["rate_limit_per_second"] = 0  # as fast as the emulator answers
    await world.restart_bot()
    # Large enough, and interrupted early enough, that the restart lands mid-broadcast however
    # fast this machine sends (the whole of 500 once went out while the bot was stopping).
    residents = await subscribed(world, 1000)
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world, settle=False)
    sends = lambda: len(world.emu.calls_to("sendMessage", ok=True))  # noqa: E731
    await world.emu.wait_for(lambda: sends() >= 50, timeout=20)
    in_flight = world.porch.drainer.concurrency
    await world.stop_bot(kill_deliveries=True)
    assert sends() < 1000
    await world.start_bot()
    await world.settle()
    counts = [len(tips_received(world, user)) for user in residents]
    assert min(counts) == 1
    assert sum(counts) - len(residents) <= in_flight  # at most the sends in flight at the kill


async def test_residents_who_left_telegram_are_marked_unreachable_and_unsubscribed(
    world: World,
) -> None:
    gone, staying = await subscribed(world, 2)
    world.emu.deactivate_user(gone)
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world)
    assert len(tips_received(world, staying)) == 1
    async with world.porch.store.read() as tx:
        resident = await tx.residents.get(gone.id)
        broadcast = await tx.broadcasts.get_by_key("weekly:2026-W49")
        assert broadcast is not None
        progress = await tx.broadcasts.progress(broadcast.id)
    assert resident is not None and not resident.reachable and not resident.subscriptions
    assert progress == {"sent": 1, "unreachable": 1}


async def test_a_429_storm_ends_with_every_message_delivered_once(world: World) -> None:
    world.overrides["rate_limit_per_second"] = 0  # the bot does not pace itself: Telegram does
    await world.restart_bot()
    world.emu.enforce_rate_limits = True
    world.emu.rate_global = (20, 1.0)
    residents = await subscribed(world, 50)
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world, settle=False)
    await world.emu.wait_for(
        lambda: all(tips_received(world, user) for user in residents), timeout=20
    )
    await world.settle()
    assert [len(tips_received(world, user)) for user in residents] == [1] * 50
    assert any(call.error_code == 429 for call in world.emu.calls)


async def test_a_tip_filed_during_a_broadcast_does_not_wait_for_it(world: World) -> None:
    world.overrides["rate_limit_per_second"] = 30  # Telegram's pace: the broadcast takes 5 s
    await world.restart_bot()
    await subscribed(world, 150)  # 5 s of sending at 30 messages a second
    alice = world.resident("Alice")
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world, settle=False)
    emu = world.emu
    said = emu.user_sends(alice.user, text="Someone is trying car doors on Oak Street")
    await emu.wait_for(
        lambda: any(
            b[0] == "Yes, send as a tip" for m in emu.bot_messages(alice.id) for b in m.buttons
        )
    )
    offer = emu.bot_messages(alice.id)[-1]
    emu.user_taps(alice.user, offer.message_id, alice.id, f"quick:{said.message_id}")
    await emu.wait_for(
        lambda: any(b[1] == "send:yes" for m in emu.bot_messages(alice.id) for b in m.buttons)
    )
    summary = emu.bot_messages(alice.id)[-1]
    emu.user_taps(alice.user, summary.message_id, alice.id, "send:yes")
    await emu.wait_for(
        lambda: any(
            "car doors on Oak Street" in (m.text or "")
            for m in emu.bot_messages(world.officer_chat_id)
        ),
        timeout=5,
    )
    async with world.porch.store.read() as tx:
        broadcast = await tx.broadcasts.get_by_key("weekly:2026-W49")
        assert broadcast is not None
        progress = await tx.broadcasts.progress(broadcast.id)
    assert progress.get("pending", 0) > 0, "the card arrived before the broadcast finished"
    await world.settle()


async def test_the_bots_own_pacing_stays_inside_telegrams_limits(world: World) -> None:
    world.overrides["rate_limit_per_second"] = 30
    await world.restart_bot()
    world.emu.enforce_rate_limits = True
    residents = await subscribed(world, 60)
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world)
    assert [len(tips_received(world, user)) for user in residents] == [1] * 60
    assert not any(call.error_code == 429 for call in world.emu.calls)


@pytest.mark.parametrize("late", [timedelta(hours=1), timedelta(hours=16)])
async def test_a_brand_new_deployment_missed_no_weekly_broadcast(
    emulator: BotApiEmulator, database: str, caplog: pytest.LogCaptureFixture, late: timedelta
) -> None:
    world = World(emulator, database)
    world.clock.set(MONDAY_18H_UTC + late)
    with caplog.at_level(logging.INFO):
        await world.start_bot()
        await world.settle()
    try:
        async with world.porch.store.read() as tx:
            assert await tx.broadcasts.get_by_key("weekly:2026-W49") is None
        assert "missed" not in caplog.text
        assert "Starting Porchlight as @porchlight_test_bot" in caplog.text
    finally:
        await world.stop_bot()
