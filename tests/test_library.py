"""Residents choose what they receive and read safety advice; officers curate the library."""

from __future__ import annotations

from bot.broadcasts import shipped_library
from tests.conftest import World

LIBRARY = shipped_library()


async def subscriptions(world: World, user_id: int) -> set[str]:
    async with world.porch.store.read() as tx:
        resident = await tx.residents.get(user_id)
    assert resident is not None
    return set(resident.subscriptions)


async def test_settings_switch_topics_one_by_one_and_all_at_once(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/start")
    await alice.taps("No, thanks")
    assert await subscriptions(world, alice.id) == set()
    await alice.says("/settings")
    await alice.taps("⬜ Weekly safety tips")
    assert await subscriptions(world, alice.id) == {"safety"}
    assert ("✅ Weekly safety tips", "sub:safety") in alice.last_message().buttons
    await alice.says("/subscribe")
    assert await subscriptions(world, alice.id) == {"safety", "events", "alerts"}
    await alice.says("/unsubscribe")
    assert await subscriptions(world, alice.id) == set()
    await alice.taps_data(alice.inbox[-3], "sub:everything")
    assert alice.last_answer() == "This is no longer available."


async def test_settings_lead_to_the_language_choice(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/settings")
    await alice.taps("🌐 Language")
    await alice.taps("Español")
    assert "español" in alice.last_message().text


async def test_residents_browse_safety_advice_by_topic_in_their_language(world: World) -> None:
    lucia = world.resident("Lucía", language="es")
    await lucia.says("/safety")
    await lucia.taps("🎣 Estafas y fraudes")
    shown = lucia.last_message().text
    scams = [tip for tip in LIBRARY if tip.topic == "scams"]
    assert all(tip.title_es in shown for tip in scams)
    assert not any(tip.title_es in shown for tip in LIBRARY if tip.topic == "home")


async def test_officers_add_and_retire_safety_tips(world: World) -> None:
    officer = world.officer("Sergeant")
    await officer.says("/addtip home | Lock the <shed> | Thieves love garden tools & ladders")
    assert "Added to the safety-tip library: Lock the <shed>" in (
        world.officer_chat.last_message().text
    )
    await officer.says("/addtip nonsense")
    assert "Usage: /addtip" in world.officer_chat.last_message().text
    await officer.says("/library")
    listing = world.officer_chat.last_message().text
    assert f"#{len(LIBRARY) + 1} [home] Lock the <shed>" in listing
    await officer.says(f"/library retire {len(LIBRARY) + 1}")
    assert "is retired" in world.officer_chat.last_message().text
    async with world.porch.store.read() as tx:
        active = await tx.library.list()
    assert len(active) == len(LIBRARY)
    alice = world.resident("Alice")
    await alice.says("/addtip home | x | y")
    assert "for officers, in the officer chat" in alice.last_message().text
    await alice.says("/frobnicate")
    assert "don't know that command" in alice.last_message().text
