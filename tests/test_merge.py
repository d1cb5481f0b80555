"""Merging a possible duplicate: one status and one thread, each resident on their own tip.

Two residents report the same grey car; the second card says "Possibly the same as #1" and
offers Merge. After the merge, officers triage and answer #1 once, and each resident hears
about their own tip, in their language, without learning that anyone else reported it.
"""

from __future__ import annotations

from tests.conftest import World
from tests.telegram.drivers import Person
from tests.telegram.emulator import EmuMessage

PLATE_EN = "Grey car 7ABC123 circling the block, <slowly> & twice"
PLATE_ES = "Coche gris 7ABC-123 dando vueltas a la manzana"
GUN = "A man with a gun in the grey car 7ABC123"
LABELS = {
    "en": ("Suspicious vehicle", "Skip", "Anonymous (recommended)", "Send"),
    "es": ("Vehículo sospechoso", "Omitir", "Anónimo (recomendado)", "Enviar"),
}
MERGED = "#2 merged into #1: one status and one thread now."


async def report(world: World, resident: Person, text: str, language: str = "en") -> EmuMessage:
    category, skip, anonymous, send = LABELS[language]
    await resident.says("/report")
    await resident.taps(category)
    await resident.says(text)
    await resident.taps(skip)  # where
    await resident.taps(skip)  # more media
    await resident.taps(anonymous)
    await resident.taps(send)
    return await world.officer_chat.next_message()


def labels(message: EmuMessage) -> list[str]:
    return [label for label, _ in message.buttons]


def texts(resident: Person) -> list[str]:
    return [m.text or m.caption or "" for m in resident.inbox]


async def audit(world: World, tip_id: int) -> list[tuple[str, str]]:
    async with world.porch.store.read() as tx:
        return [(e.action, e.detail) for e in await tx.overview.audit_of(tip_id)]


async def two_reports(world: World) -> tuple[Person, Person, EmuMessage, EmuMessage]:
    ana = world.resident("Ana", username="ana_w")
    ben = world.resident("Benito", language="es")
    first = await report(world, ana, PLATE_EN)
    second = await report(world, ben, PLATE_ES, "es")
    return ana, ben, first, second


async def test_merged_tips_share_one_status_and_thread_each_resident_on_their_own_tip(
    world: World,
) -> None:
    ana, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    assert "Possibly the same as #1: the same plate 7ABC123" in second.text
    assert "🔗 Merge into #1" in labels(second)
    assert not any("Merge" in label for label in labels(first))

    await dana.taps("🔗 Merge into #1", second)
    assert dana.last_answer() == MERGED
    assert "Merged into #1 by Dana" in second.text
    assert labels(second) == ["✂ Unmerge"]
    assert "Also: #2" in first.text and "Acknowledged by Dana" in first.text
    # A merge is an officer's look at both tips: each resident hears it once, on their own tip.
    assert texts(ana)[-1] == "Officers have seen your tip #1."
    assert texts(ben)[-1] == "Los agentes han visto tu aviso #2."

    reply = await dana.replies_to(first, text="We found the car <7ABC123> & spoke to the driver.")
    assert texts(ana)[-1] == (
        "Officer reply on tip #1:\nWe found the car <7ABC123> & spoke to the driver."
    )
    assert texts(ben)[-1] == (
        "Respuesta de un agente sobre el aviso #2:\n"
        "We found the car <7ABC123> & spoke to the driver."
    )
    assert world.emu.reactions.get((world.officer_chat_id, reply.message_id))
    assert len(world.emu.calls_to("setMessageReaction")) == 1  # one 👍, two residents
    assert "First answer after" in first.text

    await dana.taps("🙋 Take", first)
    await dana.taps("✅ Resolve", first)
    assert dana.last_answer() == "#1 resolved."
    assert "Resolved by Dana" in first.text and labels(first) == ["↩ Reopen"]
    assert texts(ana)[-3:-1] == [
        "Officer reply on tip #1:\nWe found the car <7ABC123> & spoke to the driver.",
        "An officer is looking into your tip #1.",
    ]
    assert "Your tip #1 has been resolved" in texts(ana)[-1]
    assert "Tu aviso #2 se ha resuelto" in texts(ben)[-1]
    assert texts(ben).count("Un agente se está ocupando de tu aviso #2.") == 1

    for resident, word in ((ana, "resolved"), (ben, "resuelto")):
        await resident.says("/mytips")
        assert word in resident.last_message().text
    assert "#2" in ben.last_message().text and "#1" not in ben.last_message().text

    # Ratings stay per tip: each resident rates their own.
    await ana.taps("4 ★")
    await ben.taps("5 ★")
    async with world.porch.store.read() as tx:
        one, two = await tx.tips.get(1), await tx.tips.get(2)
    assert one is not None and two is not None
    assert (one.rating, two.rating) == (4, 5) and (one.status, two.status) == ("resolved",) * 2
    assert "★4" in first.text and "★5" in second.text

    # Nobody learns that another resident exists.
    assert not any("#2" in t for t in texts(ana)) and not any("#1" in t for t in texts(ben))
    officer_chat = " ".join(m.text or "" for m in world.officer_chat.bot_messages())
    assert "Benito" not in officer_chat and "ana_w" not in officer_chat
    assert ("tip.merged", "1") in await audit(world, 2)
    assert ("tip.merged_in", "2") in await audit(world, 1)


async def test_two_officers_pressing_merge_at_once_one_wins(world: World) -> None:
    ana, ben, _, second = await two_reports(world)
    dana, omar = world.officer("Dana"), world.officer("Omar")
    _, data = dana.find_button("🔗 Merge into #1", second)
    with world.emu.hold("answerCallbackQuery") as held:
        first_press = world.emu.user_taps(dana.user, second, world.officer_chat_id, data)
        second_press = world.emu.user_taps(omar.user, second, world.officer_chat_id, data)
        await held.wait_for_request(1)
    await world.settle()
    answers = {dana.answer_to(first_press).text, omar.answer_to(second_press).text}
    assert MERGED in answers
    (other,) = answers - {MERGED}
    assert other in (
        "#2 is already merged into #1 (by Dana).",
        "#2 is already merged into #1 (by Omar).",
    )
    assert [a for a, _ in await audit(world, 2)].count("tip.merged") == 1
    assert texts(ana).count("Officers have seen your tip #1.") == 1
    assert texts(ben).count("Los agentes han visto tu aviso #2.") == 1
    await dana.taps_data(second, data)  # the spent button pressed again
    assert dana.last_answer() in (
        "#2 is already merged into #1 (by Dana).",
        "#2 is already merged into #1 (by Omar).",
    )


async def test_merge_is_refused_while_either_tip_is_closed(world: World) -> None:
    _, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    _, data = dana.find_button("🔗 Merge into #1", second)
    await dana.taps("✅ Resolve", first)
    assert not any("Merge" in label for label in labels(second)), "the button follows #1"
    await dana.taps_data(second, data)  # the button as it was, pressed late
    assert dana.last_answer() == "#1 is closed: reopen it before merging #2 into it."
    await dana.taps("↩ Reopen", first)
    assert "🔗 Merge into #1" in labels(second)
    await dana.taps("🚫 Spam", second)
    assert "Merge" not in str(labels(second))
    await dana.taps_data(second, data)
    assert dana.last_answer() == "#2 is closed: reopen it before merging it."
    async with world.porch.store.read() as tx:
        tip = await tx.tips.get(2)
    assert tip is not None and tip.merged_into is None and tip.status == "spam"
    assert not any("#1" in t for t in texts(ben))


async def test_forged_and_stale_merge_presses_are_refused(world: World) -> None:
    _, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    mallory = world.stranger_in_officer_chat("Mallory")
    await mallory.taps_data(second, "merge:2:1")
    assert "Only members" in (mallory.last_answer() or "")
    await ben.says("/mytips")
    await ben.taps_data(ben.last_message(), "merge:2:1")
    assert ben.last_answer() == "Este botón es para los agentes, en el chat de agentes."
    for data in ("merge:2:3", "merge:1:2", "merge:2:2", "merge:99:1", "merge:2:x", "merge:²:1"):
        await dana.taps_data(second, data)
        assert dana.last_answer() == "This is no longer available.", data
    await dana.taps_data(second, "unmerge:2")
    assert dana.last_answer() == "#2 is not merged into another tip."
    async with world.porch.store.read() as tx:
        tip = await tx.tips.get(2)
    assert tip is not None and tip.merged_into is None and tip.status == "new"
    assert "Also" not in first.text and "🔗 Merge into #1" in labels(second)
    assert world.emu.unanswered_callback_queries() == []

    await dana.taps("🔗 Merge into #1", second)
    await dana.taps_data(second, "desk:resolve:2")  # an old card's desk button
    assert dana.last_answer() == "#2 is merged into #1: use the card of #1."


async def test_a_follow_up_of_the_second_resident_lands_in_the_primarys_thread(
    world: World,
) -> None:
    ana, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    await dana.taps("🔗 Merge into #1", second)
    thanks = next(m for m in ben.inbox if "#2" in (m.text or "") and "Gracias" in (m.text or ""))
    await ben.replies_to(thanks, text="Ahora está en la calle Olmo <de nuevo>")
    assert texts(ben)[-1] == "Añadido a tu aviso #2. Los agentes lo verán en el hilo del aviso."
    followup = world.officer_chat.last_message()
    assert followup.reply_to_message_id == first.message_id
    assert "Follow-up from the resident on tip #2 (merged into #1)" in followup.text
    assert "Ahora está en la calle Olmo <de nuevo>" in followup.text

    before_ana = len(ana.inbox)
    await dana.replies_to(followup, text="Gracias, vamos para allá.")
    assert texts(ben)[-1] == "Respuesta de un agente sobre el aviso #2:\nGracias, vamos para allá."
    assert len(ana.inbox) == before_ana, "a reply to one resident's follow-up is theirs alone"

    # A canned reply on the card reaches every resident, each in their language.
    await dana.says("/canned add onway | An officer is on the way | Un agente va en camino")
    await dana.replies_to(first, text="/r onway")
    assert texts(ana)[-1] == "Officer reply on tip #1:\nAn officer is on the way"
    assert texts(ben)[-1] == "Respuesta de un agente sobre el aviso #2:\nUn agente va en camino"


async def test_a_restart_between_merge_and_reply_loses_nothing(world: World) -> None:
    ana, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    with world.emu.hold("editMessageText") as held:
        await dana.taps("🔗 Merge into #1", second)
        await held.wait_for_request(1)
        await world.stop_bot(kill_deliveries=True)
    await world.start_bot()
    await world.settle()
    assert "Merged into #1" in second.text and "Also: #2" in first.text
    await dana.replies_to(second, text="On our way.")  # the merged card's thread: the group
    assert texts(ana)[-1] == "Officer reply on tip #1:\nOn our way."
    assert texts(ben)[-1] == "Respuesta de un agente sobre el aviso #2:\nOn our way."
    await world.restart_bot()
    await dana.taps("✅ Resolve", first)
    assert "Your tip #1 has been resolved" in texts(ana)[-1]
    assert "Tu aviso #2 se ha resuelto" in texts(ben)[-1]


async def test_a_merged_urgent_tip_stops_escalating_and_is_not_listed_apart(
    world: World,
) -> None:
    ana = world.resident("Ana")
    dave = world.resident("Dave")
    dana = world.officer("Dana <Lead>")
    first = await report(world, ana, PLATE_EN)
    second = await report(world, dave, GUN)
    assert "URGENT" in second.text
    await dana.taps("🔗 Merge into #1", second)
    for _ in range(3):
        await world.advance(5 * 60)
        await world.ring_alarms()
    assert not [m for m in world.officer_chat.bot_messages() if "not been acknowledged" in m.text]
    assert world.officer_chat.pinned() == []

    await dana.says("/tips")
    lines = world.officer_chat.last_message().text.splitlines()[1:]
    assert len(lines) == 1 and lines[0].startswith("#1") and "with #2" in lines[0]

    await dana.says("/tip 2")
    history = world.officer_chat.last_message()
    repost = world.officer_chat.bot_messages()[-2]
    assert "Merged into #1" in repost.text and "Unmerge" in str(repost.buttons)
    assert "Dana <Lead>: merged it into #1" in history.text
    await dana.says("/tip 1")
    assert "Dana <Lead>: merged #2 into it" in world.officer_chat.last_message().text
    assert "Also: #2" in first.text


async def test_unmerge_gives_the_tip_its_own_status_and_thread_back(world: World) -> None:
    ana, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    await dana.taps("🔗 Merge into #1", second)
    await dana.taps("🚫 Spam", first)  # the whole group, and nobody is told
    told = (len(ana.inbox), len(ben.inbox))
    await dana.taps("✂ Unmerge", second)
    assert dana.last_answer() == "#2 is on its own again (out of #1), keeping its status."
    assert "Also" not in first.text and "Merged into" not in second.text
    assert "Spam, marked by Dana" in second.text and labels(second) == ["↩ Reopen"]
    assert (len(ana.inbox), len(ben.inbox)) == told
    await dana.taps("↩ Reopen", first)
    assert labels(second) == ["↩ Reopen"], "on its own: #1 reopened, #2 did not"
    await dana.taps("↩ Reopen", second)
    assert "🔗 Merge into #1" in labels(second), "both open again: the hint offers Merge"
    await dana.replies_to(first, text="Only for #1")
    assert texts(ana)[-1].endswith("Only for #1")
    assert not any("Only for #1" in t for t in texts(ben))
    assert ("tip.unmerged", "1") in await audit(world, 2)
    assert ("tip.split_off", "2") in await audit(world, 1)


async def test_groups_stay_flat_and_a_new_look_alike_names_the_primary(world: World) -> None:
    ana, ben, first, second = await two_reports(world)
    cleo = world.resident("Cleo")
    dana = world.officer("Dana")
    third = await report(world, cleo, "That grey car 7ABC123 again")
    assert "Possibly the same as #2" in third.text  # the newest open tip with the plate
    await dana.taps("🔗 Merge into #2", third)
    assert dana.last_answer() == "#3 merged into #2: one status and one thread now."
    await dana.taps("🔗 Merge into #1", second)
    assert "Also: #2, #3" in first.text and "Merged into #1" in third.text
    await dana.replies_to(first, text="All three of you: thank you.")
    assert texts(cleo)[-1] == "Officer reply on tip #3:\nAll three of you: thank you."
    assert texts(ben)[-1].endswith("All three of you: thank you.")
    assert texts(ana)[-1].endswith("All three of you: thank you.")
    fourth = await report(world, world.resident("Dora"), "7ABC123 parked outside the school")
    assert "Possibly the same as #1" in fourth.text, "a merged tip's look-alike names its primary"


async def test_each_resident_of_a_group_has_their_own_delivery_note(world: World) -> None:
    ana, ben, first, second = await two_reports(world)
    dana = world.officer("Dana")
    await dana.taps("🔗 Merge into #1", second)
    await ben.blocks_bot()
    reply = await dana.replies_to(first, text="Is the car still there?")
    assert texts(ana)[-1] == "Officer reply on tip #1:\nIs the car still there?"
    assert world.emu.reactions.get((world.officer_chat_id, reply.message_id)), "Ana has it"
    (note,) = [m for m in world.officer_chat.bot_messages() if "Not delivered" in (m.text or "")]
    assert note.text == "⚠️ Not delivered: the resident behind tip #2 has blocked the bot."
    assert note.reply_to_message_id == reply.message_id
