"""The officer desk's watch: urgent tips nobody acknowledges are pinned and officers pinged
until someone does, ordinary tips nobody answers are listed once a day, and /tips and /tip 42
show officers where everything stands."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import tips
from tests.conftest import World
from tests.test_tip_line import file_tip

GUN = "A man with a gun outside the corner shop"


def pings(world: World) -> list:  # type: ignore[type-arg]
    return [m for m in world.officer_chat.bot_messages() if "not been acknowledged" in m.text]


async def urgent_tip(world: World, name: str = "Dave"):  # type: ignore[no-untyped-def]
    resident = world.resident(name)
    card = await file_tip(world, resident, GUN, category="Suspicious person")
    assert "URGENT" in card.text
    return card


async def test_an_unacknowledged_urgent_tip_is_pinned_and_officers_pinged_until_acknowledged(
    world: World,
) -> None:
    chief = world.officer("Chief <Ana> & Co")
    world.emu.set_member(world.officer_chat_id, chief.user.id, "administrator")
    sergeant = world.officer("Sergeant")  # a member, not an administrator: not mentioned
    card = await urgent_tip(world)

    await world.advance(4 * 60)
    await world.ring_alarms()
    assert pings(world) == [] and world.officer_chat.pinned() == []

    await world.advance(60)
    await world.ring_alarms()
    (ping,) = pings(world)
    assert [m.message_id for m in world.officer_chat.pinned()] == [card.message_id]
    assert ping.reply_to_message_id == card.message_id
    assert "#1" in ping.text and "5 min" in ping.text and "1 of 3" in ping.text
    mentioned = [e["user"]["id"] for e in ping.entities if e["type"] == "text_mention"]
    assert mentioned == [chief.user.id]  # the bot, an administrator too, is skipped
    assert "Chief <Ana> & Co" in ping.text  # the name escaped, shown as typed
    assert sergeant.user.id not in mentioned

    # A restart between rounds repeats nothing: the next round is counted from the last ping.
    await world.restart_bot()
    await world.ring_alarms()
    assert len(pings(world)) == 1
    await world.advance(5 * 60)
    await world.ring_alarms()
    assert len(pings(world)) == 2 and "2 of 3" in pings(world)[-1].text
    await world.ring_alarms()
    assert len(pings(world)) == 2

    await tips.set_status(world.porch.store, 1, "acknowledged", actor_id=sergeant.user.id)
    await world.ring_alarms()
    assert world.officer_chat.pinned() == []  # acknowledged: the pin is released
    await world.advance(60 * 60)
    await world.ring_alarms()
    assert len(pings(world)) == 2


async def test_pings_stop_after_the_repeats_and_go_on_without_the_pin_right(
    world: World,
) -> None:
    first, second = world.officer("Night shift"), world.officer("Patrol")
    world.overrides.update(on_duty=f"{first.user.id}, {second.user.id}", escalation_repeats=2)
    await world.restart_bot()
    world.emu.set_bot_member(
        world.officer_chat_id, "administrator", rights={"can_pin_messages": False}
    )
    await world.settle()
    await urgent_tip(world)
    for _ in range(5):
        await world.advance(5 * 60)
        await world.ring_alarms()
    assert len(pings(world)) == 2  # ESCALATION_REPEATS
    assert world.officer_chat.pinned() == []
    mentioned = [e["user"]["id"] for e in pings(world)[0].entities if e["type"] == "text_mention"]
    assert mentioned == [first.user.id, second.user.id]  # the on-duty list, not the administrators


async def test_stale_tips_are_listed_once_a_day(world: World) -> None:
    officer = world.officer("Sergeant")
    await file_tip(world, world.resident("Alice"))
    await urgent_tip(world, "Bob")  # urgent: escalated, never in the stale list
    await tips.set_status(world.porch.store, 2, "acknowledged", actor_id=officer.user.id)
    # Filed Wednesday noon: stale from Thursday noon, listed Friday at 09:00.
    world.clock.set(datetime(2026, 11, 27, 8, 59, tzinfo=UTC))
    await world.ring_alarms()
    assert not [m for m in world.officer_chat.bot_messages() if "waiting for an answer" in m.text]
    world.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    await world.ring_alarms()
    await world.restart_bot()
    await world.ring_alarms()
    (listed,) = [m for m in world.officer_chat.bot_messages() if "waiting for an answer" in m.text]
    assert "#1" in listed.text and "Suspicious vehicle" in listed.text and "44 h" in listed.text
    assert "#2" not in listed.text
    await officer.taps("Open #1", listed)
    assert "White van" in world.officer_chat.last_message().text
    world.clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    await world.ring_alarms()
    lists = [m for m in world.officer_chat.bot_messages() if "waiting for an answer" in m.text]
    assert len(lists) == 2 and "2 d" in lists[-1].text


async def test_open_tips_by_urgency_then_age_and_a_tips_history(world: World) -> None:
    officer = world.officer("Dana <Lead>")
    await file_tip(world, world.resident("Alice"))
    await world.advance(60)
    await file_tip(
        world, world.resident("Carol"), "Graffiti on the school wall", category="Vandalism"
    )
    await world.advance(60)
    await urgent_tip(world, "Dave")
    await tips.set_status(world.porch.store, 2, "resolved", actor_id=officer.user.id)
    await tips.set_status(world.porch.store, 1, "taken", actor_id=officer.user.id)

    await officer.says("/tips")
    listing = world.officer_chat.last_message()
    lines = listing.text.splitlines()[1:]
    assert lines[0].startswith("🚨 #3") and lines[1].startswith("#1") and len(lines) == 2
    assert "taken" in lines[1] and "2 min" in lines[1]
    links = [e["url"] for e in listing.entities if e["type"] == "text_link"]
    assert links and all(link.startswith("https://t.me/c/") for link in links)

    card = world.officer_chat.bot_messages()[0]
    await officer.replies_to(card, "Thanks, we are looking")
    await officer.says("/tip 1")
    history = world.officer_chat.last_message()
    repost = world.officer_chat.bot_messages()[-2]
    assert "White van" in repost.text and history.reply_to_message_id == repost.message_id
    assert "the resident: filed the tip" in history.text
    assert "Dana <Lead>: replied to the resident" in history.text
    assert "Alice" not in history.text

    await officer.says("/tip 99")
    assert "no tip #99" in world.officer_chat.last_message().text


async def test_only_officers_see_open_tips(world: World) -> None:
    await file_tip(world, world.resident("Alice"))
    stranger = world.stranger_in_officer_chat("Mallory")
    await stranger.says("/tips")
    assert "#1" not in world.officer_chat.last_message().text
    resident = world.resident("Eve")
    await resident.says("/tips")
    assert "White van" not in (resident.last_message().text or "")


async def test_a_tips_history_tells_the_desks_story_and_the_residents_rating(
    world: World,
) -> None:
    dana = world.officer("Dana")
    alice = world.resident("Alice")
    card = await file_tip(world, alice)
    await dana.taps("👀 Acknowledge", card)
    await dana.taps("🙋 Take", card)
    await dana.taps("✅ Resolve", card)
    await alice.taps("4 ★")
    await dana.says("/tip 1")
    history = world.officer_chat.last_message().text
    assert "Dana: acknowledged it" in history and "Dana: took it" in history
    assert "Dana: resolved it" in history
    assert "the resident: rated the response ★4" in history
    assert "Alice" not in history and str(alice.id) not in history
