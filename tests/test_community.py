"""Officers' alerts with "I have information", the live delivery report, and community groups:
approval, /report in public, supergroup upgrades, removal."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.jobs import REPORT_INTERVAL
from tests.conftest import World
from tests.telegram.drivers import Officer, Person

MONDAY_18H_UTC = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


async def opted_in(world: World, name: str, language: str = "en") -> Person:
    person = world.resident(name, language=language)
    await person.says("/start")
    await person.taps("Yes, keep me informed" if language == "en" else "Sí, mantenme informado")
    return person


async def approved_group(
    world: World, officer: Officer, title: str = "Elm Street Neighbours"
) -> int:
    carol = world.emu.add_user("Carol", username="carol_e")
    group = world.emu.add_group(
        title, type="group", members={carol.id: "creator"}, bot_status="left"
    )
    world.emu.set_bot_member(group, "member", actor=carol)
    await world.settle()
    card = await world.officer_chat.next_message()
    assert f"Added to {title} by @carol_e" in card.text
    await officer.taps("Approve", message=card)
    assert "is approved" in world.emu.message(world.officer_chat_id, card.message_id).text
    return group


async def fire_job(world: World, name: str) -> None:
    """Alarm `name`'s moment: a delivery report is refreshed REPORT_INTERVAL after the last
    refresh, so that much time passes first; then what is due rings."""
    if name == "broadcast-reports":
        await world.advance(REPORT_INTERVAL.total_seconds())
    await world.ring_alarms()


def weekly_tips(world: World, chat_id: int) -> list[str]:
    return [
        m.text or ""
        for m in world.emu.bot_messages(chat_id)
        if "Safety tip of the week" in (m.text or "")
    ]


async def test_an_approved_group_receives_the_weekly_tip(world: World) -> None:
    officer = world.officer("Sergeant")
    group = await approved_group(world, officer)
    world.clock.set(MONDAY_18H_UTC)
    await fire_job(world, "weekly-safety-broadcast")
    assert len(weekly_tips(world, group)) == 1


async def test_a_group_waiting_for_approval_receives_nothing(world: World) -> None:
    carol = world.emu.add_user("Carol")
    group = world.emu.add_group(
        "Oak Row", type="group", members={carol.id: "creator"}, bot_status="left"
    )
    world.emu.set_bot_member(group, "member", actor=carol)
    await world.settle()
    card = await world.officer_chat.next_message()
    stranger = world.stranger_in_officer_chat("Mallory")
    await stranger.taps("Approve", message=card)
    assert "Only members of the officer chat" in (stranger.last_answer() or "")
    world.clock.set(MONDAY_18H_UTC)
    await fire_job(world, "weekly-safety-broadcast")
    assert weekly_tips(world, group) == []


async def test_an_upgraded_group_keeps_its_approval(world: World) -> None:
    officer = world.officer("Sergeant")
    group = await approved_group(world, officer)
    supergroup = world.emu.migrate_group(group)
    await world.settle()
    world.clock.set(MONDAY_18H_UTC)
    await fire_job(world, "weekly-safety-broadcast")
    assert weekly_tips(world, group) == [] and len(weekly_tips(world, supergroup)) == 1


async def test_a_group_that_removes_the_bot_gets_no_more_deliveries(world: World) -> None:
    officer = world.officer("Sergeant")
    group = await approved_group(world, officer)
    world.emu.set_bot_member(group, "kicked")
    await world.settle()
    assert "removed from Elm Street Neighbours" in world.officer_chat.last_message().text
    world.clock.set(MONDAY_18H_UTC)
    await fire_job(world, "weekly-safety-broadcast")
    assert weekly_tips(world, group) == []


async def test_officers_can_make_the_bot_leave_a_group(world: World) -> None:
    officer = world.officer("Sergeant")
    carol = world.emu.add_user("Carol")
    group = world.emu.add_group(
        "Spam Deals", type="supergroup", members={carol.id: "creator"}, bot_status="left"
    )
    world.emu.set_bot_member(group, "member", actor=carol)
    await world.settle()
    card = await world.officer_chat.next_message()
    await officer.taps("Leave", message=card)
    assert world.emu.calls_to("leaveChat", ok=True)
    async with world.porch.store.read() as tx:
        stored = await tx.groups.get(group)
    assert stored is not None and stored.status == "left"


async def test_report_in_a_group_points_to_the_private_chat(world: World) -> None:
    officer = world.officer("Sergeant")
    group = await approved_group(world, officer)
    dan = world.emu.add_user("Dan")
    world.emu.set_member(group, dan.id, "member")
    neighbour = Officer(world.emu, dan, group, world.settle)  # a person acting in the group
    await neighbour.says("/report")
    answer = world.emu.bot_messages(group)[-1]
    assert "never discussed in public" in answer.text
    assert answer.reply_markup is not None
    [button] = answer.reply_markup["inline_keyboard"][0]
    assert button["url"] == "https://t.me/porchlight_test_bot?start=report"


async def test_an_alert_brings_a_linked_tip_and_a_finished_delivery_report(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    lucia = await opted_in(world, "Lucía", language="es")
    group = await approved_group(world, officer)

    await officer.says("/broadcast")
    await officer.says("Bike thefts near the station <tonight> & tomorrow")
    await officer.taps("🚨 Alert")
    preview = world.officer_chat.last_message().text
    assert "Bike thefts near the station <tonight> & tomorrow" in preview
    assert "2 resident(s)" in preview and "1 approved group(s)" in preview
    await officer.taps("Send")

    alert = alice.last_message()
    assert "Alert from your neighbourhood officers" in alert.text
    assert "Alerta de los agentes" in lucia.last_message().text
    assert ("Tengo información", "info:1") in lucia.last_message().buttons
    in_group = world.emu.bot_messages(group)[-1]
    assert in_group.reply_markup is not None
    assert in_group.reply_markup["inline_keyboard"][0][0]["url"].endswith("?start=alert-1")

    await fire_job(world, "broadcast-reports")
    report = world.officer_chat.last_message().text
    assert "Broadcast #1" in report and "finished" in report and "sent 3 of 3" in report

    world.officer_chat.skip_existing()
    await alice.taps("I have information")
    assert "alert #1" in alice.inbox[-2].text
    await alice.taps("Suspicious person")
    await alice.says("Two men with bolt cutters by the racks")
    await alice.sends_report_anonymously()
    card = await world.officer_chat.next_message()
    assert "In response to alert #1" in card.text and "bolt cutters" in card.text


async def test_a_resident_answers_an_alert_from_a_group_deep_link(world: World) -> None:
    officer = world.officer("Sergeant")
    await officer.says("/broadcast")
    await officer.says("Lost child near the park, red coat")
    await officer.taps("🚨 Alert")
    await officer.taps("Send")
    erin = world.resident("Erin")
    await erin.starts("alert-1")
    assert "What is it about?" in erin.last_message().text
    await erin.starts("alert-99")
    assert erin.last_message().text == "This is no longer available."


async def test_an_announcement_with_a_photo_reaches_subscribers(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await officer.says("/broadcast")
    await officer.sends_photo(caption="Meet us at the community centre on Friday")
    await officer.taps("📣 Announcement")
    await officer.taps("Send")
    received = alice.last_message()
    assert received.photo and "Announcement from your neighbourhood officers" in received.caption
    assert "community centre on Friday" in received.caption and received.buttons == []


async def test_a_cancelled_broadcast_sends_nothing(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    before = len(alice.inbox)
    await officer.says("/broadcast")
    await officer.says("Draft that should not go out")
    await officer.taps("📣 Announcement")
    await officer.taps("Cancel")
    assert "Broadcast cancelled" in world.officer_chat.last_message().text
    assert len(alice.inbox) == before
