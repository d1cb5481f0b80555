"""Officers' desk tools as stories: blocking the resident behind a tip without learning who
they are, and canned replies sent in each resident's language."""

from __future__ import annotations

from tests.conftest import World
from tests.test_tip_line import file_tip

REFUSED = "Officers are not accepting messages from you at the moment. In an emergency, call 911."


async def file_tip_es(world: World, resident, description: str = "Furgoneta blanca"):  # type: ignore[no-untyped-def]
    await resident.says("/report")
    await resident.taps("Vehículo sospechoso")
    await resident.says(description)
    await resident.taps("Omitir")
    await resident.taps("Omitir")
    await resident.taps("Anónimo (recomendado)")
    await resident.taps("Enviar")
    return await world.officer_chat.next_message()


def officer_chat_text(world: World) -> str:
    return "\n".join(m.text or m.caption or "" for m in world.officer_chat.bot_messages())


async def test_a_blocked_resident_cannot_reach_officers_until_unblocked(world: World) -> None:
    alice = world.resident("Alicia", last_name="Walker", username="alice_w")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    assert "🗣 Language: English" in card.text

    await officer.says("/block #1 threats <b>& insults</b>")
    answer = world.officer_chat.last_message().text
    assert "The resident behind tip #1 is blocked" in answer
    assert "Reason: threats <b>& insults</b>" in answer  # escaped, shown as typed
    cards_before = len(world.officer_chat.bot_messages())

    # A new report is refused at once, with the emergency route, and nothing reaches officers.
    await alice.says("/report")
    assert alice.last_message().text == REFUSED
    # A follow-up (a reply to the thank-you) is refused too.
    thanks = next(m for m in alice.inbox if "your tip is #1" in (m.text or ""))
    await alice.replies_to(thanks, text="You will regret ignoring me")
    assert alice.last_message().text == REFUSED
    assert len(world.officer_chat.bot_messages()) == cards_before
    async with world.porch.store.read() as tx:
        assert await tx.tips.messages(1) == []

    # Officers may still write to them on their earlier tip.
    await officer.replies_to(card, text="Please stop; call 911 if you are in danger.")
    assert "Please stop" in alice.last_message().text

    # Blocking twice says so; unblocking lets the resident in again.
    await officer.says("/block 1")
    assert "already blocked" in world.officer_chat.last_message().text
    await officer.says("/unblock #1")
    assert "can reach officers again" in world.officer_chat.last_message().text
    await officer.says("/unblock #1")
    assert "is not blocked" in world.officer_chat.last_message().text
    world.officer_chat.skip_existing()
    second = await file_tip(world, alice, "The van is back")
    assert "Tip #2" in second.text and "The van is back" in second.text
    await alice.replies_to(thanks, text="Plate ends in 42")
    assert "Added to your tip #1" in alice.last_message().text

    # Officers never saw who the resident is.
    seen = officer_chat_text(world)
    for identity in ("Alicia", "Walker", "alice_w", str(alice.id)):
        assert identity not in seen
    async with (
        world.porch.store.read() as tx,
        tx.conn.execute(
            "SELECT action, tip_id, actor_id, detail FROM audit_log"
            " WHERE action LIKE 'resident.%' ORDER BY id"
        ) as c,
    ):
        rows = await c.fetchall()
    assert [tuple(row) for row in rows] == [
        ("resident.blocked", 1, officer.id, "threats <b>& insults</b>"),
        ("resident.unblocked", 1, officer.id, ""),
    ]


async def test_a_report_in_progress_is_refused_at_send_once_blocked(world: World) -> None:
    lucia = world.resident("Lucía", language="es")
    officer = world.officer("Sergeant")
    card = await file_tip_es(world, lucia)
    assert "🗣 Language: Español" in card.text
    await lucia.says("/report")
    await lucia.taps("Vehículo sospechoso")
    await lucia.says("Otra vez la furgoneta")
    await lucia.taps("Omitir")
    await lucia.taps("Omitir")
    await lucia.taps("Anónimo (recomendado)")
    await officer.replies_to(card, text="/note abusive")  # officers' talk meanwhile
    await officer.says("/block", reply_to=card)  # a reply on the card names the tip
    assert "tip #1 is blocked" in world.officer_chat.last_message().text
    before = len(world.officer_chat.bot_messages())
    await lucia.taps("Enviar")
    refusal = lucia.last_message().text
    assert "Los agentes no están aceptando mensajes tuyos" in refusal and "911" in refusal
    assert len(world.officer_chat.bot_messages()) == before
    async with world.porch.store.read() as tx:
        assert await tx.tips.get(2) is None


async def test_block_answers_sensibly_and_only_officers_may_block(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    stranger = world.stranger_in_officer_chat("Mallory")
    await file_tip(world, alice)

    await stranger.says("/block #1")
    assert "Only members" in world.officer_chat.last_message().text
    await alice.says("/block #1")  # in her private chat
    assert "for officers, in the officer chat" in alice.last_message().text
    for command in ("/block", "/block #x", "/block 99999999999999999999"):
        await officer.says(command)
        assert "Usage: /block #42" in world.officer_chat.last_message().text
    await officer.says("/block #7")
    assert "There is no tip #7" in world.officer_chat.last_message().text
    async with world.porch.store.read() as tx:
        assert await tx.blocks.get(alice.id) is None

    # A resident who erased their data: nobody to block.
    async with world.porch.store.transaction() as tx:
        await tx.conn.execute("DELETE FROM residents WHERE user_id = ?", (alice.id,))
    await officer.says("/block #1 spam")
    assert "has erased their data" in world.officer_chat.last_message().text


async def test_canned_replies_reach_each_resident_in_their_language(world: World) -> None:
    alice = world.resident("Alice")
    lucia = world.resident("Lucía", language="es")
    officer = world.officer("Sergeant")
    alice_card = await file_tip(world, alice)
    lucia_card = await file_tip_es(world, lucia)

    await officer.says("/canned")
    assert "No canned replies yet" in world.officer_chat.last_message().text
    await officer.says(
        "/canned add OnWay | An officer is on the way <5 min> | Un agente va en camino <5 min>"
    )
    assert "Canned reply onway saved" in world.officer_chat.last_message().text
    await officer.says("/canned add thanks | Thank you & take care")  # English only
    await officer.says("/canned add bad name | x")
    assert "Usage: /canned add name" in world.officer_chat.last_message().text
    await officer.says("/canned")
    listing = world.officer_chat.last_message().text
    assert "onway — An officer is on the way <5 min>" in listing
    assert "Un agente va en camino <5 min>" in listing
    assert "thanks — Thank you & take care" in listing

    await officer.says("/r onway", reply_to=alice_card)
    assert alice.last_message().text == (
        "Officer reply on tip #1:\nAn officer is on the way <5 min>"
    )
    r_message = world.officer_chat.messages()[-1]
    assert world.emu.reactions.get((world.officer_chat_id, r_message.message_id))  # delivered
    assert "Acknowledged by Sergeant" in alice_card.text  # a canned first answer, by whom
    await officer.says("/r onway", reply_to=lucia_card)
    assert lucia.last_message().text == (
        "Respuesta de un agente sobre el aviso #2:\nUn agente va en camino <5 min>"
    )
    await officer.says("/r thanks", reply_to=lucia_card)  # no Spanish: English is sent
    assert lucia.last_message().text.endswith("Thank you & take care")

    before = (len(alice.inbox), len(lucia.inbox))
    await officer.says("/r unknown", reply_to=alice_card)
    answer = world.officer_chat.last_message().text
    assert "There is no canned reply “unknown”" in answer and "onway —" in answer
    await officer.says("/r onway")  # not a reply on a tip
    assert "as a reply to a tip's card" in world.officer_chat.last_message().text
    assert (len(alice.inbox), len(lucia.inbox)) == before

    await officer.says("/canned remove thanks")
    assert "Canned reply thanks removed" in world.officer_chat.last_message().text
    await officer.says("/canned remove thanks")
    assert "There is no canned reply thanks" in world.officer_chat.last_message().text
    async with world.porch.store.read() as tx:
        said = await tx.tips.messages(1)
    assert [(m.author, m.text) for m in said] == [("officer", "An officer is on the way <5 min>")]
