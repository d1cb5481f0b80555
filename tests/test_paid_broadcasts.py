"""Paid broadcasts (BROADCAST_PAID): officers' alerts go with allow_paid_broadcast, up to 1,000
messages a second for 0.1 Telegram Stars each; the preview says so and what it costs."""

from __future__ import annotations

from tests.conftest import World
from tests.telegram.emulator import CallRecord
from tests.test_broadcasts import MONDAY_18H_UTC, fire_weekly_job, subscribed
from tests.test_community import approved_group, opted_in


def alerts_sent(world: World) -> list[CallRecord]:
    """Alerts delivered to residents and groups (the officers' preview aside)."""
    return [
        call
        for call in world.emu.calls_to("sendMessage", ok=True)
        if "Alert from your neighbourhood officers" in str(call.params.get("text"))
        and call.chat_id != world.officer_chat_id
    ]


async def paid_bot(world: World, **more: object) -> None:
    world.overrides.update(broadcast_paid=True, **more)
    await world.restart_bot()


async def test_a_paid_alert_says_what_it_costs_and_goes_as_a_paid_broadcast(world: World) -> None:
    await paid_bot(world)
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await opted_in(world, "Bruno")
    group = await approved_group(world, officer)
    await officer.says("/broadcast")
    await officer.says("Fire on Elm St <north end> & smoke: keep windows shut")
    await officer.taps("🚨 Alert")
    preview = world.officer_chat.last_message().text
    assert "Fire on Elm St <north end> & smoke" in preview
    assert "Paid broadcast" in preview and "up to 1,000 messages a second" in preview
    assert "0.1 Stars a message" in preview and "about 0.3 Stars for this alert" in preview
    await officer.taps("Send")

    calls = alerts_sent(world)
    assert len(calls) == 3 and all(call.params.get("allow_paid_broadcast") for call in calls)
    assert group in {call.chat_id for call in calls}
    assert "<north end> & smoke" in alice.last_message().text
    assert ("I have information", "info:1") in alice.last_message().buttons


async def test_announcements_and_the_weekly_tip_stay_free(world: World) -> None:
    await paid_bot(world)
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await officer.says("/broadcast")
    await officer.says("Safety meeting on Friday at the library")
    await officer.taps("📣 Announcement")
    assert "Stars" not in world.officer_chat.last_message().text
    await officer.taps("Send")
    assert "Safety meeting on Friday" in alice.last_message().text
    world.clock.set(MONDAY_18H_UTC)
    await fire_weekly_job(world)
    assert "Safety tip of the week" in alice.last_message().text
    sent = world.emu.calls_to("sendMessage", ok=True)
    assert not any(call.params.get("allow_paid_broadcast") for call in sent)


async def test_without_broadcast_paid_an_alert_is_free_and_the_preview_names_no_price(
    world: World,
) -> None:
    officer = world.officer("Sergeant")
    await opted_in(world, "Alice")
    await officer.says("/broadcast")
    await officer.says("Road closed on Oak Row")
    await officer.taps("🚨 Alert")
    assert "Stars" not in world.officer_chat.last_message().text
    await officer.taps("Send")
    calls = alerts_sent(world)
    assert len(calls) == 1 and "allow_paid_broadcast" not in calls[0].params


async def test_a_spanish_officer_chat_reads_the_price_in_spanish(world: World) -> None:
    await paid_bot(world, default_language="es")
    officer = world.officer("Sargento")
    await subscribed(world, 15)
    await officer.says("/broadcast")
    await officer.says("Corte de luz en el barrio norte")
    await officer.taps("🚨 Alerta")
    preview = world.officer_chat.last_message().text
    assert "Difusión de pago" in preview and "hasta 1.000 mensajes por segundo" in preview
    assert "0,1 Stars por mensaje" in preview and "unas 1,5 Stars por esta alerta" in preview
    await officer.taps("Cancelar")


async def test_a_paid_alert_stays_paid_after_a_restart_with_the_setting_off(world: World) -> None:
    """What officers confirmed is kept on each delivery: a restart never changes it."""
    await paid_bot(world)
    officer = world.officer("Sergeant")
    residents = await subscribed(world, 5)
    await officer.says("/broadcast")
    await officer.says("Gas leak reported on Pine St")
    await officer.taps("🚨 Alert")
    held = world.emu.hold("sendMessage", chat_id=residents[-1].id)
    await officer.taps("Send")
    await held.wait_for_request()
    world.overrides["broadcast_paid"] = False
    await world.restart_bot(kill_deliveries=True)
    held.release()
    await world.settle()
    calls = alerts_sent(world)
    assert {call.chat_id for call in calls} == {user.id for user in residents}
    assert all(call.params.get("allow_paid_broadcast") for call in calls)


async def test_a_paid_alert_is_paced_by_its_own_limit_without_a_429(world: World) -> None:
    """Telegram's paid limit scaled down (60 a second instead of 1,000): the alert keeps to the
    bot's paid pace (RATE_LIMIT_PAID_PER_SECOND), not the free one."""
    await paid_bot(world, rate_limit_per_second=30, rate_limit_paid_per_second=60)
    emu = world.emu
    emu.enforce_rate_limits = True
    emu.rate_paid = (60, 1.0)
    residents = await subscribed(world, 90)
    officer = world.officer("Sergeant")
    await officer.says("/broadcast")
    await officer.says("Water main burst on Main St: expect low pressure")
    await officer.taps("🚨 Alert")
    await officer.taps("Send")
    await world.settle()
    calls = alerts_sent(world)
    assert sorted(call.chat_id for call in calls) == sorted(user.id for user in residents)
    assert not [call for call in emu.calls if call.error_code == 429]
