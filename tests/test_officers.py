"""Officers' conversations and the edges of the officer chat: replies as answers, membership
checks, forged numbers, confirmations, broadcast previews that belong to their author, help."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import World
from tests.test_events import create_event, opted_in

HUGE = "99999999999999999999999"
STALE = "This is no longer available."


def no_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_forged_numbers_are_refused_politely(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer)
    for argument in (HUGE, "²", "١", "-1", "1.0", "#"):
        await officer.says(f"/cancelevent {argument}")
        assert "Usage: /cancelevent 12" in world.officer_chat.last_message().text
    await officer.says("/events")
    card = world.officer_chat.last_message()
    for data in (f"evo:cancel:{HUGE}", "evo:cancel:²", "evo", f"grp:ok:-{HUGE}", "grp"):
        await officer.taps_data(card, data)
        assert officer.last_answer() == STALE
    announcement = alice.last_message()
    for data in (f"ev:going:{HUGE}", f"rate:{HUGE}:5", "rate:1:9", "add:²", f"add:{HUGE}", "ev"):
        await alice.taps_data(announcement, data)
        assert alice.last_answer() == STALE
    await alice.says(f"/start event-{HUGE}")
    assert alice.last_message().text == STALE
    await officer.says(f"/library retire {HUGE}")
    assert "/library retire 12" in world.officer_chat.last_message().text  # the list and its usage
    assert no_errors(caplog) == []
    assert world.emu.unanswered_callback_queries() == []
    async with world.porch.store.read() as tx:
        event = await tx.events.get(1)
    assert event is not None and event.status == "announced"  # nothing was cancelled


async def test_a_failed_membership_check_asks_to_try_again(world: World) -> None:
    from tests.test_tip_line import file_tip

    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    before = len(alice.inbox)
    # Telegram keeps failing through every retry of the request layer.
    world.emu.fail_next(
        "getChatMember", error_code=500, description="Internal Server Error", times=4
    )
    await officer.replies_to(card, text="We are on our way.")
    answer = world.officer_chat.last_message().text
    assert "could not check your membership" in answer and "try again" in answer
    assert "Only members" not in answer
    assert len(alice.inbox) == before
    await officer.replies_to(card, text="We are on our way.")  # Telegram answers again
    assert "We are on our way." in alice.last_message().text


async def test_officer_buttons_pressed_elsewhere_are_refused_without_asking_telegram(
    world: World,
) -> None:
    officer = world.officer("Sergeant")
    await create_event(world, officer)
    checks = len(world.emu.calls_to("getChatMember"))
    residents = [world.resident(f"Resident {n}") for n in range(30)]
    forged = ["evo:cancel:1", "evo:time:1", "grp:ok:-100123", "bs:yes", "bk:alert", "ne:save"]
    for n, resident in enumerate(residents):
        await resident.says("/start")
        await resident.taps_data(resident.last_message(), forged[n % len(forged)])
        assert resident.last_answer() == "This button is for officers, in the officer chat."
    await residents[0].says("/broadcast")
    assert "for officers, in the officer chat" in residents[0].last_message().text
    assert len(world.emu.calls_to("getChatMember")) == checks
    assert world.emu.unanswered_callback_queries() == []
    async with world.porch.store.read() as tx:
        event = await tx.events.get(1)
    assert event is not None and event.status == "announced"


async def test_officers_answer_the_broadcast_wizard_with_replies(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await officer.says("/broadcast")
    prompt = world.officer_chat.last_message()
    assert prompt.keyboard == {"force_reply": True, "selective": True}
    await officer.replies_to(prompt, text="Road closed on Elm St <tonight>")
    await officer.taps("📣 Announcement")
    await officer.taps("Send")
    assert "Road closed on Elm St <tonight>" in alice.last_message().text


async def test_officers_answer_the_event_wizard_and_the_time_edit_with_replies(
    world: World,
) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    chat = world.officer_chat

    async def reply(text: str) -> None:
        await officer.replies_to(chat.last_message(), text=text)

    await officer.says("/newevent")
    await reply("Safety fair")
    await reply("next week sometime")  # unclear: asked again, and a reply answers that too
    assert "could not read that date" in chat.last_message().text
    await reply("5 Dec 18:30")
    await reply("20:00")  # end
    await reply("Library hall")
    await reply("Bring the kids")
    await reply("²")  # capacity: refused politely
    assert "whole number of places" in chat.last_message().text
    await reply("40")
    preview = chat.last_message().text
    assert "Safety fair" in preview and "Library hall" in preview and "Bring the kids" in preview
    await officer.taps("📣 Announce")
    await alice.taps("Going")

    await officer.says("/events")
    await officer.taps("Edit time")
    await reply("6 Dec 11:00")
    assert "moved" in chat.last_message().text
    assert "6 Dec 2026" in alice.last_message().text


async def test_a_reply_to_a_tip_reaches_the_resident_even_in_the_middle_of_a_wizard(
    world: World,
) -> None:
    from tests.test_tip_line import file_tip

    officer = world.officer("Sergeant")
    alice = world.resident("Alice")
    card = await file_tip(world, alice)
    await officer.says("/newevent")
    await officer.replies_to(card, text="Thanks, a patrol is on the way.")
    assert "a patrol is on the way" in alice.last_message().text
    assert "When does it start?" not in world.officer_chat.last_message().text
    await officer.says("Safety fair")  # the wizard still waits for the title
    assert "When does it start?" in world.officer_chat.last_message().text
    await officer.says("/broadcast")
    await officer.replies_to(card, photo=True, caption="Is this the van?")
    assert alice.last_message().photo
    await officer.says("Meeting moved to Friday")  # the broadcast's text, not the photo
    assert "urgent alert" in world.officer_chat.last_message().text
    await officer.taps("📣 Announcement")
    preview = world.officer_chat.last_message()
    assert "Meeting moved to Friday" in preview.text and not preview.photo


async def test_cancel_ends_adding_information_to_a_tip(world: World) -> None:
    from tests.test_tip_line import file_tip

    alice = world.resident("Alice")
    await file_tip(world, alice)
    world.officer_chat.skip_existing()
    await alice.says("/mytips")
    await alice.taps("Add information to #1")
    await alice.says("/cancel")
    assert "nothing more will be added to tip #1" in alice.last_message().text
    await alice.says("My cat is lost")  # unrelated: offered as a new tip, not added to #1
    assert "Send this to officers as a tip?" in alice.last_message().text
    await alice.says("/cancel")
    assert "There is nothing to cancel" in alice.last_message().text
    await alice.says("/mytips")
    await alice.taps("Add information to #1")
    await alice.says("The van is back")
    assert "Added to your tip #1" in alice.last_message().text
    await alice.says("Unrelated again")  # the mode ends after the first message
    assert "Send this to officers as a tip?" in alice.last_message().text
    follow_ups = [
        m.text for m in world.officer_chat.bot_messages() if "Follow-up" in (m.text or "")
    ]
    assert len(follow_ups) == 1 and "The van is back" in follow_ups[0]


async def test_the_preview_shows_the_name_officers_will_see(world: World) -> None:
    alice = world.resident("Alice", last_name="Walker", username="alice_w")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says("White van again")
    await alice.taps("Skip")
    await alice.taps("Skip")
    await alice.taps("Share my name with officers")
    assert "Alice Walker (@alice_w)" in alice.last_message().text
    await alice.taps("Send")
    card = await world.officer_chat.next_message()
    assert "Alice Walker (@alice_w)" in card.text
    bob = world.resident("Bob")  # no last name, no username
    await bob.says("/report")
    await bob.taps("Vandalism")
    await bob.says("Graffiti")
    await bob.taps("Skip")
    await bob.taps("Skip")
    await bob.taps("Share my name with officers")
    assert "Bob" in bob.last_message().text and "(@" not in bob.last_message().text


async def test_cancelling_an_event_asks_for_confirmation_first(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer)
    await alice.taps("Going")
    await officer.says("/events")
    await officer.taps("Cancel event")
    question = world.officer_chat.last_message()
    assert "Cancel event #1" in question.text and "1 resident(s)" in question.text
    await officer.taps("Keep it")
    assert "is kept" in world.emu.message(world.officer_chat_id, question.message_id).text
    assert not any("Cancelled" in (m.text or "") for m in alice.inbox)
    await officer.taps_data(question, "evc:yes:1")  # the answered question's button: stale
    assert officer.last_answer() == STALE
    await officer.says("/events")
    await officer.taps("Cancel event")
    await officer.taps("Yes, cancel it")
    assert "cancelled" in world.officer_chat.last_message().text
    assert sum("Cancelled" in (m.text or "") for m in alice.inbox) == 1
    await officer.taps_data(world.officer_chat.last_message(), "evc:yes:1")
    assert officer.last_answer() == STALE
    assert sum("Cancelled" in (m.text or "") for m in alice.inbox) == 1
    await officer.says("/cancelevent 1")
    assert "no event #1, or it is already cancelled" in world.officer_chat.last_message().text


async def test_a_broadcast_preview_belongs_to_its_author(world: World) -> None:
    author, colleague = world.officer("Sergeant"), world.officer("Constable")
    alice = await opted_in(world, "Alice")
    await author.says("/broadcast")
    await author.says("Water main repair on Oak Row")
    await author.taps("📣 Announcement")
    preview = world.officer_chat.last_message()
    await colleague.taps("Cancel", message=preview)  # no broadcast of their own
    assert (
        colleague.last_answer()
        == "Only the officer who wrote this broadcast can send or cancel it."
    )
    await colleague.says("/broadcast")  # now with a draft of their own, in the same step
    await colleague.says("Colleague's own draft")
    await colleague.taps("🚨 Alert")
    await colleague.taps("Send", message=preview)
    assert "Only the officer who wrote" in (colleague.last_answer() or "")
    assert "Send" in [
        label for label, _ in world.emu.message(preview.chat_id, preview.message_id).buttons
    ]
    before = len(alice.inbox)
    assert len(alice.inbox) == before
    await author.taps("Send", message=preview)
    assert "Water main repair on Oak Row" in alice.last_message().text
    assert "Colleague's own draft" not in alice.last_message().text
    await colleague.taps("Cancel")  # the colleague's own preview is theirs to cancel
    assert "Broadcast cancelled" in world.officer_chat.last_message().text
    assert world.emu.calls_to("answerCallbackQuery", ok=False) == []


async def test_every_press_in_a_broadcast_is_answered_once_even_when_a_step_fails(
    world: World,
) -> None:
    officer = world.officer("Sergeant")
    await officer.says("/broadcast")
    await officer.says("x" * 4000)  # would not fit one message with its header
    assert "too long for one broadcast" in world.officer_chat.last_message().text
    await officer.says("Short enough")
    world.emu.fail_next(
        "sendMessage", chat_id=world.officer_chat_id, error_code=400, description="Bad Request: x"
    )
    await officer.taps("🚨 Alert")  # answered, then the preview fails: the error handler
    await officer.taps("🚨 Alert")  # must not answer again; the officer simply taps again
    await officer.taps("Send")
    answers = world.emu.calls_to("answerCallbackQuery")
    assert len(answers) == len(officer.taps_made) == 3
    assert world.emu.calls_to("answerCallbackQuery", ok=False) == []


async def test_help_lists_every_command_and_every_officer_command_is_answered(
    world: World,
) -> None:
    from bot.commands import OFFICER_COMMANDS, RESIDENT_COMMANDS

    alice = world.resident("Alice")
    await alice.says("/help")
    shown = alice.last_message().text
    assert all(f"/{command} " in shown for command in RESIDENT_COMMANDS), shown
    lucia = world.resident("Lucía", language="es")
    await lucia.says("/help")
    assert "Qué puedes hacer" in lucia.last_message().text
    assert all(f"/{command} " in lucia.last_message().text for command in RESIDENT_COMMANDS)

    officer = world.officer("Sergeant")
    await officer.says("/help")
    help_text = world.officer_chat.last_message().text
    assert all(f"/{command} " in help_text for command in OFFICER_COMMANDS), help_text
    await officer.says("/frobnicate")
    answer = world.officer_chat.last_message().text
    assert "don't know that command" in answer and "/broadcast " in answer
    await officer.says("/cancel")
    assert world.officer_chat.last_message().text == "There is nothing to cancel."
    before = len(world.officer_chat.bot_messages())
    await officer.says("/start@some_other_bot")  # another bot's command: not ours
    assert len(world.officer_chat.bot_messages()) == before
    await officer.says("/broadcast")
    await officer.says("/cancel")  # inside a conversation: that conversation's cancel
    assert "Broadcast cancelled" in world.officer_chat.last_message().text
