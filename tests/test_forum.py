"""Forum topics: when the officer chat is a forum, each tip lives in a topic of its own, and
officers answer a resident by simply writing there."""

from __future__ import annotations

import pytest

from bot.check import check
from tests.conftest import World
from tests.telegram.drivers import Person
from tests.telegram.emulator import EmuMessage, User
from tests.test_conditions import seeded_tips
from tests.test_tip_line import WHITE_VAN, file_tip

NAME = "#1 · Suspicious vehicle · White van parked on Elm St for three…"


def the_topic(world: World) -> tuple[int, str]:
    (topic,) = world.officer_chat.topics().items()
    return topic


def service(world: World, thread: int) -> list[str]:
    """The topic's service messages, by kind, as members see them in it."""
    return [
        key
        for message in world.emu.messages(world.officer_chat_id)
        if message.is_service and message.message_thread_id == thread
        for key in message.raw
        if key.startswith("forum_topic")
    ]


async def sends_a_tip(resident: Person) -> None:
    """A resident's report up to Send, without waiting for its card (which a story holds)."""
    await resident.says("/report")
    await resident.taps("Suspicious vehicle")
    await resident.says(WHITE_VAN)
    for step in ("Skip", "Skip", "Anonymous (recommended)", "Send"):
        await resident.taps(step)


def reacted(world: World, message: EmuMessage) -> list[str]:
    found = world.emu.reactions.get((world.officer_chat_id, message.message_id)) or []
    return [reaction["emoji"] for reaction in found]


async def test_a_tip_gets_a_topic_where_officers_answer_by_writing(forum_world: World) -> None:
    world = forum_world
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)

    thread, name = the_topic(world)
    assert name == NAME
    assert card.message_thread_id == thread and card.raw.get("is_topic_message")
    assert "Tip #1" in card.text and WHITE_VAN in card.text
    assert "Write in this topic to answer the resident" in card.text
    assert service(world, thread) == ["forum_topic_created"]

    # Plain words in the topic reach the resident, with the delivered 👍.
    in_topic = dana.in_topic(thread)
    said = await in_topic.says("A patrol is on its way <now> & will call")
    relayed = alice.last_message()
    assert "Officer reply on tip #1" in relayed.text
    assert "A patrol is on its way <now> & will call" in relayed.text
    assert "Dana" not in relayed.text
    assert reacted(world, said) == ["👍"]

    # /note in the topic stays internal.
    before = len(alice.inbox)
    note = await in_topic.says("/note the plate looks fake")
    assert len(alice.inbox) == before and reacted(world, note) == ["✍"]

    # The resident's follow-up appears in the topic.
    await alice.replies_to(relayed, text="It is back again <tonight>")
    followup = world.officer_chat.last_message()
    assert followup.message_thread_id == thread
    assert "It is back again <tonight>" in followup.text

    # Officers' talk: in General, or a reply to a colleague (or to a note) in the topic.
    before = len(alice.inbox)
    omar = world.officer("Omar")
    await omar.says("Who takes the van on Elm St?")
    await omar.in_topic(thread).replies_to(said, text="I can go after lunch")
    await omar.in_topic(thread).replies_to(note, text="Agreed, fake")
    assert len(alice.inbox) == before


async def test_resolve_closes_and_renames_the_topic_and_reopen_reopens_it(
    forum_world: World,
) -> None:
    world = forum_world
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    thread, _ = the_topic(world)

    await dana.taps("👀 Acknowledge", card)
    assert the_topic(world) == (thread, "👀 " + NAME)
    await dana.taps("✅ Resolve", card)
    assert the_topic(world) == (thread, "✅ " + NAME)
    assert world.officer_chat.is_closed(thread)
    assert "Resolved by Dana" in card.text

    await dana.taps("↩ Reopen", card)
    assert not world.officer_chat.is_closed(thread)
    assert the_topic(world) == (thread, "👀 " + NAME)
    assert service(world, thread) == [
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_edited",
        "forum_topic_reopened",
    ]


async def test_a_deleted_topic_is_recreated_with_the_card_when_the_next_message_fails(
    forum_world: World,
) -> None:
    world = forum_world
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    old, _ = the_topic(world)
    relayed_before = len(alice.inbox)
    await dana.in_topic(old).says("We will look at it")
    answer = alice.last_message()

    world.emu.delete_topic(world.officer_chat_id, old)  # an officer deletes the topic
    assert card.deleted
    await alice.replies_to(answer, text="It is parked there again")

    thread, name = the_topic(world)
    assert thread != old and name == "👀 " + NAME  # acknowledged by the first answer
    new_card, followup = world.officer_chat.in_topic(thread)
    assert "Tip #1" in new_card.text and "👀 Acknowledge" not in str(new_card.buttons)
    assert "🙋 Take" in str(new_card.buttons)  # acknowledged by the first answer
    assert "It is parked there again" in followup.text
    assert followup.reply_to_message_id == new_card.message_id
    async with world.porch.store.read() as tx:
        requeued = [row for row in await tx.outbox.rows("followup") if row.status == "requeued"]
    assert len(requeued) == 1 and "deleted" in (requeued[0].last_error or "")

    # The new topic is the tip's: writing there reaches the resident.
    await dana.in_topic(thread).says("Thanks, a patrol goes by tonight")
    assert "a patrol goes by tonight" in alice.last_message().text
    # Seen by officers, the reply, the follow-up's receipt, the reply in the new topic.
    assert len(alice.inbox) == relayed_before + 4


async def test_a_restart_between_the_topic_and_the_card_makes_no_second_topic(
    forum_world: World,
) -> None:
    world = forum_world
    alice = world.resident("Alice")
    with world.emu.hold("sendMessage", chat_id=world.officer_chat_id) as card_held:
        await sends_a_tip(alice)
        await card_held.wait_for_request()
        thread, _ = the_topic(world)  # the topic exists, its card is on its way
        await world.stop_bot(kill_deliveries=True)  # killed: the card never arrives
    await world.start_bot()
    await world.settle()

    assert world.officer_chat.topics() == {thread: NAME}
    assert len(world.emu.calls_to("createForumTopic")) == 1
    (card,) = world.officer_chat.in_topic(thread)
    assert "Tip #1" in card.text and WHITE_VAN in card.text


async def test_a_creation_telegram_never_answered_is_not_repeated(forum_world: World) -> None:
    """Killed while Telegram had the creation: it may have made the topic, so the tip is
    handled in General rather than risk a second topic."""
    world = forum_world
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    with world.emu.hold("createForumTopic") as creation:
        await sends_a_tip(alice)
        await creation.wait_for_request()
        await world.stop_bot(kill_deliveries=True)
    await world.start_bot()
    await world.settle()

    assert world.emu.calls_to("createForumTopic") == []  # the held one never reached it
    (card,) = world.officer_chat.in_topic(None)
    assert "Tip #1" in card.text and "Reply to this card to answer" in card.text
    await dana.replies_to(card, "Seen, thank you")  # General works as without topics
    assert "Seen, thank you" in alice.last_message().text
    await file_tip(world, world.resident("Bob"), "Broken fence")
    assert list(world.officer_chat.topics().values()) == ["#2 · Suspicious vehicle · Broken fence"]


async def test_html_in_the_description_is_shown_as_typed_in_the_topic_name(
    forum_world: World,
) -> None:
    world = forum_world
    text = "<b>Van</b> & co parked at 5 < 6 &amp; more"
    card = await file_tip(world, world.resident("Alice"), text, category="Other")
    thread, name = the_topic(world)
    assert name == "#1 · Other · <b>Van</b> & co parked at 5 < 6 &amp;…"
    assert card.message_thread_id == thread and text in card.text


async def test_spanish_officer_chat_topics(forum_world: World) -> None:
    world = forum_world
    world.overrides["default_language"] = "es"
    await world.restart_bot()
    officer = world.officer("Dana")
    card = await file_tip(world, world.resident("Alice"))
    thread, name = the_topic(world)
    assert name == "#1 · Vehículo sospechoso · White van parked on Elm St for three…"
    assert "Escribe en este tema para contestar al vecino" in card.text
    await officer.taps("✅ Resolver", card)
    assert the_topic(world) == (thread, "✅ " + name)
    await officer.says("/tip 1")  # asked in General: the card goes to the topic, a link here
    pointer = world.officer_chat.in_topic(None)[-1]
    assert "están en su tema" in pointer.text
    link = pointer.entities[0]["url"]
    assert link.endswith(f"/{thread}")


async def test_commands_in_a_topic_apply_to_its_tip(forum_world: World) -> None:
    world = forum_world
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    await file_tip(world, alice)
    thread, _ = the_topic(world)
    in_topic = officer.in_topic(thread)

    await officer.says("/canned add onway | An officer is on the way | Un agente va en camino")
    await in_topic.says("/r onway")
    assert alice.last_message().text == "Officer reply on tip #1:\nAn officer is on the way"

    await in_topic.says("/tip")
    history, repost = reversed(world.officer_chat.in_topic(thread)[-2:])
    assert "White van" in repost.text and history.reply_to_message_id == repost.message_id
    assert "the resident: filed the tip" in history.text

    await in_topic.says("/block threats")
    answer = world.officer_chat.last_message()
    assert answer.message_thread_id == thread and "#1" in answer.text
    async with world.porch.store.read() as tx:
        assert await tx.blocks.get(alice.id) is not None


async def test_not_relayed_service_messages_other_bots_other_topics_a_wizards_answer(
    forum_world: World,
) -> None:
    world = forum_world
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    await file_tip(world, alice)
    thread, _ = the_topic(world)
    before = len(alice.inbox)

    world.emu.user_closes_topic(dana.user, world.officer_chat_id, thread)  # closed by hand
    shifts = world.emu.user_creates_topic(dana.user, world.officer_chat_id, "Night shifts")
    await dana.in_topic(shifts).says("Who covers Friday?")  # a topic that is no tip's
    helper = User(id=4242, first_name="Helper", username="helper_bot", is_bot=True)
    world.emu.users[helper.id] = helper
    world.emu.set_member(world.officer_chat_id, helper.id, "member")
    world.emu.user_sends(helper, world.officer_chat_id, "beep", message_thread_id=thread)
    await world.settle()
    # A question of the bot's, answered in the topic, is the question's answer.
    in_topic = dana.in_topic(thread)
    await in_topic.says("/broadcast")
    prompt = world.officer_chat.last_message()
    assert prompt.message_thread_id == thread
    await in_topic.replies_to(prompt, "Road closed on Elm St tonight")
    assert "urgent alert" in world.officer_chat.last_message().text  # the next question
    assert len(alice.inbox) == before


async def test_urgent_tips_topic_is_red_and_flagged_and_the_ping_is_in_it(
    forum_world: World,
) -> None:
    world = forum_world
    chief = world.officer("Chief")
    world.emu.set_member(world.officer_chat_id, chief.user.id, "administrator")
    card = await file_tip(world, world.resident("Dave"), "A man with a gun outside the shop")
    thread, name = the_topic(world)
    assert name.startswith("🚨 #1 · Suspicious vehicle")
    (created,) = world.emu.calls_to("createForumTopic")
    assert created.params["icon_color"] == 0xFB6F5F

    await world.advance(5 * 60)
    await world.ring_alarms()
    ping = world.officer_chat.last_message()
    assert "not been acknowledged" in ping.text
    assert ping.message_thread_id == thread and ping.reply_to_message_id == card.message_id
    assert [m.message_id for m in world.officer_chat.pinned()] == [card.message_id]
    await chief.taps("👀 Acknowledge", card)
    assert the_topic(world) == (thread, "👀 " + name.removeprefix("🚨 "))


async def test_without_the_topics_right_tips_go_to_general_as_without_a_forum(
    forum_world: World,
) -> None:
    world = forum_world
    world.emu.set_bot_member(
        world.officer_chat_id, "administrator", rights={"can_manage_topics": False}
    )
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    assert world.officer_chat.topics() == {} and card.message_thread_id is None
    assert "Reply to this card to answer the resident" in card.text  # corrected at once
    await dana.replies_to(card, "On our way")
    assert "On our way" in alice.last_message().text
    await dana.taps("✅ Resolve", card)
    assert "Resolved by Dana" in card.text


async def test_topics_turned_on_and_off_while_the_bot_runs(world: World) -> None:
    """Telegram sends nothing when a group turns topics on: the next update from the officer
    chat says so, and the next tip gets a topic."""
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    first = await file_tip(world, alice)
    assert first.message_thread_id is None and world.officer_chat.topics() == {}

    world.emu.set_forum(world.officer_chat_id, True)
    await dana.says("/help")
    world.officer_chat.skip_existing()
    second = await file_tip(world, alice, "Broken street light")
    thread, _ = the_topic(world)
    assert second.message_thread_id == thread
    await dana.replies_to(first, "Still on it")  # an older tip's card in General still works
    assert "Still on it" in alice.last_message().text

    world.emu.set_forum(world.officer_chat_id, False)
    await dana.says("/help")
    world.officer_chat.skip_existing()
    third = await file_tip(world, alice, "Dog barking all night")
    assert third.message_thread_id is None and len(world.officer_chat.topics()) == 1


async def test_a_surge_in_a_forum_counts_each_topic_and_a_listed_tip_gets_one_when_opened(
    forum_world: World,
) -> None:
    world = forum_world
    world.overrides["rate_limit_group_per_minute"] = 20  # the bot paces the officer chat
    await world.restart_bot()
    world.emu.enforce_rate_limits = True  # and Telegram enforces 20 a minute too
    dana = world.officer("Dana")
    refs = await seeded_tips(world, 20)
    await world.settle()
    topics = world.officer_chat.topics()
    cards = [m for m in world.officer_chat.bot_messages() if m.text.startswith("Tip #")]
    assert 4 <= len(cards) < 20 and len(topics) == len(cards)
    assert all(card.message_thread_id in topics for card in cards)
    assert [c for c in world.emu.calls if c.error_code == 429] == []

    await world.advance(61)
    await world.settle()
    lists = [m for m in world.officer_chat.bot_messages() if "tips are waiting" in m.text]
    assert lists and all(listing.message_thread_id is None for listing in lists)  # General
    cards = [m for m in world.officer_chat.bot_messages() if m.text.startswith("Tip #")]
    waiting = [ref for ref in refs if f"Tip #{ref} " not in " ".join(c.text for c in cards)]
    listed = " ".join(listing.text for listing in lists)
    assert waiting and all(f"#{ref} " in listed for ref in waiting)
    assert len(world.officer_chat.topics()) == len(cards)  # no topic for a listed tip
    await dana.taps(f"Open #{waiting[0]}")
    card = world.officer_chat.last_message()
    assert f"Tip #{waiting[0]}" in card.text and card.message_thread_id not in topics
    assert card.message_thread_id in world.officer_chat.topics()
    assert [c for c in world.emu.calls if c.error_code == 429] == []


async def test_check_asks_for_the_topics_right_in_a_forum(
    forum_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = forum_world
    assert await check(world.settings()) == 0
    assert "[OK     ] the officer chat is a forum and the bot may manage topics" in (
        capsys.readouterr().out
    )
    world.emu.set_bot_member(
        world.officer_chat_id, "administrator", rights={"can_manage_topics": False}
    )
    assert await check(world.settings()) == 1
    out = capsys.readouterr().out
    assert "[PROBLEM] the officer chat is a forum but the bot may not manage topics" in out
    assert "Administrators → @porchlight_test_bot → Manage topics" in out


async def test_a_creation_telegram_refused_with_a_5xx_is_asked_again_once(
    forum_world: World,
) -> None:
    """A 502 is Telegram answering that it did not do it: asking again is safe (only an
    unanswered creation is never repeated)."""
    world = forum_world
    world.emu.fail_next("createForumTopic", error_code=502, description="Bad Gateway")
    card = await file_tip(world, world.resident("Alice"))
    assert [call.ok for call in world.emu.calls_to("createForumTopic")] == [False, True]
    thread, _ = the_topic(world)
    assert card.message_thread_id == thread


async def test_officers_help_says_how_topics_work_in_a_forum(forum_world: World) -> None:
    world = forum_world
    dana = world.officer("Dana")
    await dana.says("/help")
    assert "Anything you write there goes to the resident" in (
        world.officer_chat.last_message().text
    )
