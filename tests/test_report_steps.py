"""A report's button steps: the pressed message becomes the next prompt, so the resident's chat
stays short and each step costs Telegram two calls (answer the press, edit), not three."""

from __future__ import annotations

from tests.conftest import World


async def test_a_button_step_turns_the_pressed_message_into_the_next_prompt(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/start")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says("A van with <b>no</b> plates & a ladder")
    where = alice.last_message()
    assert "Where was it?" in (where.text or "")
    before = len(world.emu.calls)

    await alice.taps("Skip")  # where → more media: the same message, now asking for media
    assert alice.last_message().message_id == where.message_id
    assert "Any more photos or videos?" in (alice.last_message().text or "")
    await alice.taps("Skip")  # → anonymity
    assert alice.last_message().message_id == where.message_id
    assert alice.last_message().text == "Should officers know who you are?"
    await alice.taps("Anonymous (recommended)")  # → the summary, escaped as typed
    summary = alice.last_message()
    assert summary.message_id == where.message_id
    assert "A van with <b>no</b> plates & a ladder" in (summary.text or "")
    assert [label for label, _ in summary.buttons] == ["Send", "Cancel"]

    steps = [c.method for c in world.emu.calls[before:] if c.method != "getUpdates"]
    assert steps == ["answerCallbackQuery", "editMessageText"] * 3
    await alice.taps("Send")
    card = await world.officer_chat.next_message()
    assert "A van with <b>no</b> plates & a ladder" in (card.text or "")


async def test_a_step_whose_message_cannot_be_edited_any_more_asks_anew(world: World) -> None:
    """The prompt was deleted (the resident cleared the chat): the next prompt comes as a new
    message, and the report goes on."""
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says("Someone climbing the fence at the school")
    where = alice.last_message()
    world.emu.fail_next(
        "editMessageText",
        chat_id=alice.id,
        error_code=400,
        description="Bad Request: message to edit not found",
    )
    await alice.taps("Skip")
    prompt = alice.last_message()
    assert prompt.message_id != where.message_id
    assert "Any more photos or videos?" in (prompt.text or "")
    await alice.taps("Skip")
    await alice.taps("Anonymous (recommended)")
    await alice.taps("Send")
    card = await world.officer_chat.next_message()
    assert "climbing the fence" in (card.text or "")
