"""The officer desk: triage on the card, status back to the resident, the rating."""

from __future__ import annotations

import pytest

from tests.conftest import World
from tests.test_tip_line import file_tip

SPANISH = {
    "category": "Vehículo sospechoso",
    "skip": "Omitir",
    "anonymous": "Anónimo (recomendado)",
    "send": "Enviar",
}
TOLD = {
    "en": ("Officers have seen your tip #1.", "An officer is looking into your tip #1."),
    "es": ("Los agentes han visto tu aviso #1.", "Un agente se está ocupando de tu aviso #1."),
}
RESOLVED = {"en": "Your tip #1 has been resolved", "es": "Tu aviso #1 se ha resuelto"}
REPLY_HEADER = {"en": "Officer reply on tip #1", "es": "Respuesta de un agente sobre el aviso #1"}
MYTIPS_RESOLVED = {"en": "resolved", "es": "resuelto"}


async def file(world: World, resident, language: str = "en"):  # type: ignore[no-untyped-def]
    if language == "en":
        return await file_tip(world, resident)
    await resident.says("/report")
    await resident.taps(SPANISH["category"])
    await resident.says("Furgoneta blanca aparcada hace días")
    await resident.taps(SPANISH["skip"])
    await resident.taps(SPANISH["skip"])
    await resident.taps(SPANISH["anonymous"])
    await resident.taps(SPANISH["send"])
    return await world.officer_chat.next_message()


async def audit(world: World, tip_id: int) -> list[tuple[str, int | None]]:
    async with (
        world.porch.store.read() as tx,
        tx.conn.execute(
            "SELECT action, actor_id FROM audit_log WHERE tip_id = ? ORDER BY id", (tip_id,)
        ) as cursor,
    ):
        return [(row[0], row[1]) for row in await cursor.fetchall()]


@pytest.mark.parametrize("language", ["en", "es"])
async def test_a_tip_from_new_to_rated_in_the_residents_language(
    world: World, language: str
) -> None:
    resident = world.resident("Lucía" if language == "es" else "Alice", language=language)
    dana = world.officer("Dana <Ops>")
    card = await file(world, resident, language)
    assert "New" in card.text and "Acknowledge" in str(card.buttons)
    before = len(resident.inbox)

    await dana.taps("👀 Acknowledge", card)
    assert dana.last_answer() == "#1 acknowledged."
    assert "Acknowledged by Dana <Ops>" in card.text  # shown exactly as Telegram gave it
    assert resident.last_message().text == TOLD[language][0]
    assert [label for label, _ in card.buttons] == ["🙋 Take", "✅ Resolve", "🚫 Spam"]

    await dana.taps("🙋 Take", card)
    assert dana.last_answer() == "#1 is yours."
    assert "Taken by Dana <Ops>" in card.text
    assert resident.last_message().text == TOLD[language][1]

    await dana.replies_to(card, text="We are on our way <now>.")
    reply = resident.last_message().text
    assert REPLY_HEADER[language] in reply and "We are on our way <now>." in reply
    assert "First answer after" in card.text
    assert "Dana" not in reply  # officers stay anonymous to residents
    assert all("Dana" not in (m.text or "") for m in resident.inbox)

    await dana.taps("✅ Resolve", card)
    assert "Resolved by Dana <Ops>" in card.text
    asked = resident.last_message()
    assert RESOLVED[language] in asked.text
    assert [label for label, _ in asked.buttons] == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
    assert [label for label, _ in card.buttons] == ["↩ Reopen"]

    await resident.taps("4 ★", asked)
    assert resident.last_answer() in ("Thank you: ★4", "Gracias: ★4")
    assert "★4" in card.text
    assert asked.buttons == []  # spent
    thanks = resident.last_message()
    await resident.replies_to(thanks, text="Quick & <kind>")
    assert "Quick & <kind>" in card.text
    assert "comment" in resident.last_message().text or "comentario" in (
        resident.last_message().text
    )
    # Each status was told once: acknowledged, taken, the reply, resolved, the thanks, the
    # comment's receipt.
    assert len(resident.inbox) - before == 6

    await resident.says("/mytips")
    assert MYTIPS_RESOLVED[language] in resident.last_message().text
    actions = [action for action, _ in await audit(world, 1)]
    assert actions == [
        "tip.filed",
        "tip.acknowledged",
        "tip.taken",
        "tip.reply",
        "tip.resolved",
        "tip.rated",
        "tip.rating_comment",
    ]


async def test_two_officers_pressing_take_at_once_one_wins(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    omar = world.officer("Omar")
    card = await file_tip(world, alice)
    _, take = dana.find_button("🙋 Take", card)
    with world.emu.hold("answerCallbackQuery") as held:
        first = world.emu.user_taps(dana.user, card, world.officer_chat_id, take)
        second = world.emu.user_taps(omar.user, card, world.officer_chat_id, take)
        await held.wait_for_request(1)
    await world.settle()
    answers = {dana.answer_to(first).text, omar.answer_to(second).text}
    assert answers == {"#1 is yours.", "Already taken by Dana."}
    assert "Taken by Dana" in card.text
    assert [m.text for m in alice.inbox].count("An officer is looking into your tip #1.") == 1
    assert [a for a, _ in await audit(world, 1)].count("tip.taken") == 1
    await dana.taps_data(card, take)  # a stale button pressed again by its winner
    assert dana.last_answer() == "You have already taken #1."


async def test_a_burst_of_presses_makes_one_edit_of_the_latest_state(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    edits = len(world.emu.calls_to("editMessageText"))
    with world.emu.hold("editMessageText") as held:
        for action in ("ack", "take", "resolve"):
            dana.taps_made.append(
                world.emu.user_taps(dana.user, card, world.officer_chat_id, f"desk:{action}:1")
            )
            await world.settle()
        await held.wait_for_request(1)
    await world.settle()
    assert "Resolved by Dana" in card.text
    # The first edit was in flight when the others came: at most it and one of the latest.
    assert len(world.emu.calls_to("editMessageText")) - edits <= 2


async def test_impossible_moves_are_refused_with_who_made_them_so(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    omar = world.officer("Omar")
    card = await file_tip(world, alice)
    await dana.taps("✅ Resolve", card)
    for action, answer in (
        ("ack", "Already resolved by Dana."),
        ("take", "Already resolved by Dana."),
        ("resolve", "Already resolved by Dana."),
        ("spam", "Already resolved by Dana."),
    ):
        await omar.taps_data(card, f"desk:{action}:1")
        assert omar.last_answer() == answer
    await omar.taps("↩ Reopen", card)
    assert omar.last_answer() == "#1 reopened."
    assert "Acknowledged by Omar" in card.text
    await omar.taps_data(card, "desk:reopen:1")
    assert omar.last_answer() == "#1 is still open: there is nothing to reopen."
    await omar.taps_data(card, "desk:take:99")  # no such tip
    assert omar.last_answer() == "This is no longer available."
    # Resolved told the resident once, even after a reopen and a second resolve.
    await omar.taps("✅ Resolve", card)
    resolved = [m for m in alice.inbox if "has been resolved" in (m.text or "")]
    assert len(resolved) == 1
    assert ("tip.reopened", omar.id) in await audit(world, 1)


async def test_spam_tells_the_resident_nothing(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    before = len(alice.inbox)
    await dana.taps("🚫 Spam", card)
    assert dana.last_answer() == "#1 marked as spam. The resident is not told."
    assert "Spam, marked by Dana" in card.text and "New" not in card.text
    assert len(alice.inbox) == before
    await dana.taps("↩ Reopen", card)
    assert "Acknowledged by Dana" in card.text
    # Reopened from spam, the tip is seen by officers now: the resident hears that, once.
    assert alice.last_message().text == "Officers have seen your tip #1."


async def test_forged_desk_presses_are_refused(world: World) -> None:
    alice = world.resident("Alice")
    mallory = world.stranger_in_officer_chat("Mallory")
    card = await file_tip(world, alice)
    await mallory.taps_data(card, "desk:take:1")
    assert "Only members" in (mallory.last_answer() or "")
    await alice.says("/mytips")
    await alice.taps_data(alice.last_message(), "desk:resolve:1")
    assert alice.last_answer() == "This button is for officers, in the officer chat."
    for data in ("desk:take:²", "desk:steal:1", "desk:take:-1"):
        await mallory.taps_data(card, data)
    async with world.porch.store.read() as tx:
        tip = await tx.tips.get(1)
    assert tip is not None and tip.status == "new" and tip.assignee_id is None
    assert "New" in card.text
    assert world.emu.unanswered_callback_queries() == []


async def test_only_the_tips_resident_rates_it_once(world: World) -> None:
    alice = world.resident("Alice")
    bob = world.resident("Bob")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    await bob.says("/start")
    await bob.taps_data(bob.last_message(), "tr:1:1")  # not resolved, and not his
    assert bob.last_answer() == "This is no longer available."
    await dana.taps("✅ Resolve", card)
    asked = alice.last_message()
    await bob.taps_data(bob.last_message(), "tr:1:1")
    assert bob.last_answer() == "This is no longer available."
    await alice.taps_data(asked, "tr:1:9")  # forged: out of range
    assert alice.last_answer() == "This is no longer available."
    await alice.taps("5 ★", asked)
    await alice.taps_data(asked, "tr:1:1")  # a second press changes nothing
    assert alice.last_answer() == "You have already rated this tip: ★5"
    assert "★5" in card.text and "★1" not in card.text
    async with world.porch.store.read() as tx:
        tip = await tx.tips.get(1)
    assert tip is not None and tip.rating == 5


async def test_the_first_reply_acknowledges_a_new_tip(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    await world.advance(600)
    await dana.replies_to(card, text="Seen, on our way.")
    texts = [m.text for m in alice.inbox]
    assert texts[-2:] == [
        "Officers have seen your tip #1.",
        "Officer reply on tip #1:\nSeen, on our way.",
    ]
    assert "Acknowledged by Dana" in card.text and "First answer after 10 minutes" in card.text
    await dana.replies_to(card, text="Still there.")
    assert [m.text for m in alice.inbox].count("Officers have seen your tip #1.") == 1


async def test_a_card_edit_cut_by_a_restart_is_made_after_it(world: World) -> None:
    alice = world.resident("Alice")
    dana = world.officer("Dana")
    card = await file_tip(world, alice)
    with world.emu.hold("editMessageText") as held:
        dana.taps_made.append(
            world.emu.user_taps(dana.user, card, world.officer_chat_id, "desk:take:1")
        )
        await held.wait_for_request(1)
        await world.stop_bot(kill_deliveries=True)
    assert "Taken by" not in card.text
    await world.start_bot()
    await world.settle()
    assert "Taken by Dana" in card.text
    assert dana.last_answer() == "#1 is yours."
