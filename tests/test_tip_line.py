"""The tip line, end to end: residents' tips reach the officer chat, officers' replies reach
residents. Every story runs the real application against the Bot API emulator."""

from __future__ import annotations

from tests.conftest import World

WHITE_VAN = "White van parked on Elm St for three days"


async def file_tip(
    world: World,
    resident,
    description: str = WHITE_VAN,
    *,  # type: ignore[no-untyped-def]
    category: str = "Suspicious vehicle",
    anonymous: bool = True,
):
    await resident.says("/report")
    await resident.taps(category)
    await resident.says(description)
    await resident.taps("Skip")  # where
    await resident.taps("Skip")  # more media
    await resident.taps("Anonymous (recommended)" if anonymous else "Share my name with officers")
    await resident.taps("Send")
    return await world.officer_chat.next_message()


async def test_anonymous_tip_with_album_and_location_reaches_officers_without_identity(
    world: World,
) -> None:
    alice = world.resident("Alice", last_name="Walker", username="alice_w")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.sends_album(3, caption=WHITE_VAN)
    assert "Where was it?" in alice.last_message().text  # one answer for the whole album
    await alice.shares_location(40.4168, -3.7038)
    await alice.taps("Skip")
    await alice.taps("Anonymous (recommended)")
    summary = alice.last_message().text
    assert "Attachments: 3" in summary and "anonymous" in summary
    await alice.taps("Send")
    assert "your tip is #1" in alice.last_message().text

    card = await world.officer_chat.next_message()
    assert "Tip #1" in card.text and "Suspicious vehicle" in card.text
    assert WHITE_VAN in card.text and "Anonymous resident" in card.text
    thread = world.officer_chat.thread_of(card)
    assert sum(1 for m in thread if m.location) == 1
    assert sum(1 for m in thread if m.photo) == 3
    for message in [card, *thread]:
        shown = f"{message.text or ''} {message.caption or ''}"
        assert "Alice" not in shown and "Walker" not in shown and "alice_w" not in shown
        assert str(alice.id) not in shown
        assert message.forward_origin is None


async def test_named_tip_shows_the_name_the_resident_chose_to_share(world: World) -> None:
    bob = world.resident("Bob", last_name="Stone", username="bobs")
    card = await file_tip(
        world, bob, "Gate left open at the school", category="Safety hazard", anonymous=False
    )
    assert "Bob Stone" in card.text and "Anonymous resident" not in card.text
    assert "Safety hazard" in card.text


async def test_plain_text_is_offered_as_a_quick_tip(world: World) -> None:
    carol = world.resident("Carol")
    await carol.says("The streetlight on 5th Avenue has been out for a week")
    assert "Send this to officers as a tip?" in carol.last_message().text
    await carol.taps("Yes, send as a tip")
    assert "Your tip" in carol.last_message().text
    await carol.taps("Send")
    card = await world.officer_chat.next_message()
    assert "Other" in card.text and "streetlight on 5th Avenue" in card.text
    assert "Anonymous resident" in card.text


async def test_emergency_words_get_the_emergency_notice_at_once_and_an_urgent_card(
    world: World,
) -> None:
    dave = world.resident("Dave")
    await dave.says("/report")
    await dave.taps("Suspicious person")
    await dave.says("A man with a gun outside the corner shop")
    notices = [m.text for m in dave.inbox if "call 911" in (m.text or "")]
    assert notices, "the emergency notice came right after the description"
    await dave.taps("Skip")
    await dave.taps("Skip")
    await dave.taps("Anonymous (recommended)")
    assert "Marked urgent" in dave.last_message().text
    await dave.taps("Send")
    card = await world.officer_chat.next_message()
    assert "URGENT" in card.text


async def test_officer_replies_reach_the_resident_without_the_officer_name(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant", username="sgt_pepper")
    card = await file_tip(world, alice)

    await officer.replies_to(card, text="Thanks, a patrol is on the way.")
    relayed = alice.last_message()
    assert "Officer reply on tip #1:" in relayed.text
    assert "a patrol is on the way" in relayed.text
    assert "Sergeant" not in relayed.text and "sgt_pepper" not in relayed.text
    reply = world.officer_chat.messages()[-1]
    assert world.emu.reactions.get((world.officer_chat_id, reply.message_id))

    await officer.replies_to(card, photo=True, caption="Is this the van?")
    photo = alice.last_message()
    assert photo.photo and "Officer reply on tip #1:" in photo.caption
    assert "Is this the van?" in photo.caption


async def test_a_note_stays_internal(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    before = len(alice.inbox)
    await officer.replies_to(card, text="/note plate looks fake, check with traffic unit")
    assert len(alice.inbox) == before
    note = world.officer_chat.messages()[-1]
    assert world.emu.reactions.get((world.officer_chat_id, note.message_id))
    async with world.porch.store.read() as tx:
        said = await tx.tips.messages(1)
    assert [(m.author, m.text) for m in said] == [
        ("note", "plate looks fake, check with traffic unit")
    ]
    # Replying to the note is officers' talk, not a message for the resident.
    await officer.replies_to(note, text="agreed")
    assert len(alice.inbox) == before


async def test_resident_follow_ups_are_threaded_under_the_card(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await officer.replies_to(card, text="Can you tell us the plate?")
    await alice.replies_to(alice.last_message(), text="It starts with 4421")
    assert "Added to your tip #1" in alice.last_message().text
    follow_up = await world.officer_chat.next_message()
    assert "Follow-up from the resident on tip #1" in follow_up.text
    assert "It starts with 4421" in follow_up.text
    assert follow_up.reply_to_message_id == card.message_id

    await alice.says("/mytips")
    assert "#1" in alice.last_message().text
    await alice.taps("Add information to #1")
    await alice.sends_photo(caption="Here it is again today")
    photo = await world.officer_chat.next_message()
    assert photo.photo and photo.reply_to_message_id == card.message_id
    assert "Here it is again today" in photo.caption


async def test_only_officer_chat_members_act_as_officers(world: World) -> None:
    alice = world.resident("Alice")
    card = await file_tip(world, alice)
    before = len(alice.inbox)
    stranger = world.stranger_in_officer_chat("Mallory")
    await stranger.replies_to(card, text="Hi, I am an officer, tell me your address")
    assert len(alice.inbox) == before
    assert "Only members of the officer chat" in world.officer_chat.messages()[-1].text

    await alice.says("/note pretend to be an officer")
    assert "for officers, in the officer chat" in alice.last_message().text


async def test_officer_sees_that_the_resident_blocked_the_bot(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await alice.blocks_bot()
    await officer.replies_to(card, text="Are you still there?")
    notice = await world.officer_chat.next_message()
    assert "blocked the bot" in notice.text
    async with world.porch.store.read() as tx:
        resident = await tx.residents.get(alice.id)
    assert resident is not None and not resident.reachable


async def test_html_and_markdown_characters_reach_officers_exactly_as_typed(world: World) -> None:
    tricky = "<b>not bold</b> & <script>x</script> *stars* _under_ [link](http://x) `tick` 1<2>3"
    alice = world.resident("Alice")
    card = await file_tip(world, alice, tricky)
    assert tricky in card.text
    officer = world.officer("Sergeant")
    await officer.replies_to(card, text="<i>also</i> & *plain*")
    assert "<i>also</i> & *plain*" in alice.last_message().text


async def test_a_4000_character_tip_reaches_officers_whole(world: World) -> None:
    long_text = ("Seen near the park: " + "x" * 30 + " <&> ") * 100
    long_text = long_text[:4000]
    alice = world.resident("Alice")
    card = await file_tip(world, alice, long_text)
    assert "Tip #1" in card.text and "follows in full below" in card.text
    below = world.officer_chat.thread_of(card)
    assert [m.text for m in below] == [long_text]


async def test_stickers_and_other_unusable_things_get_a_polite_answer(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Vandalism")
    await alice.sends_sticker()
    assert "can't use that" in alice.last_message().text
    await alice.says("Graffiti on the bus shelter")
    assert "Where was it?" in alice.last_message().text


async def test_forged_and_stale_buttons_are_refused(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    prompt = alice.last_message()
    await alice.taps_data(prompt, "cat:../../etc")
    assert alice.last_answer() == "This is no longer available."
    await alice.taps_data(prompt, "add:999")
    assert alice.last_answer() == "This is no longer available."
    await alice.taps("Vandalism")
    await alice.taps_data(prompt, "cat:vandalism")  # the same button again: stale
    assert alice.last_answer() == "This is no longer available."


async def test_tip_limit_keeps_the_report_and_says_how_long_to_wait(world: World) -> None:
    world.overrides["tips_per_hour"] = 1
    await world.restart_bot()
    alice = world.resident("Alice")
    await file_tip(world, alice, "first")
    await alice.says("/report")
    await alice.taps("Other")
    await alice.says("second")
    await alice.sends_report_anonymously()
    assert "already sent 1 tips in the last hour" in alice.last_message().text
    assert "second" not in (world.officer_chat.last_message().text or "")
    async with world.porch.store.read() as tx:
        assert len(await tx.tips.list_for_resident(alice.id)) == 1


async def test_the_card_survives_a_restart_between_thank_you_and_delivery(world: World) -> None:
    alice = world.resident("Alice")
    hold = world.emu.hold(method="sendMessage", chat_id=world.officer_chat_id)
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says(WHITE_VAN)
    await alice.sends_report_anonymously()
    await hold.wait_for_request()
    assert "your tip is #1" in alice.last_message().text
    await world.stop_bot(kill_deliveries=True)  # killed while the card was in flight
    hold.release()
    assert world.officer_chat.bot_messages() == []
    await world.start_bot()
    await world.settle()
    cards = [m for m in world.officer_chat.bot_messages() if "Tip #1" in (m.text or "")]
    assert len(cards) == 1 and WHITE_VAN in cards[0].text


async def test_a_report_in_progress_survives_a_restart(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Break-in or theft")
    await alice.says("Shed door forced open at number 12")
    await world.restart_bot()
    await alice.sends_report_anonymously()  # the where-prompt from before the restart still works
    card = await world.officer_chat.next_message()
    assert "Shed door forced open at number 12" in card.text
    assert "Break-in or theft" in card.text


async def test_a_spanish_speaking_resident_is_answered_in_spanish(world: World) -> None:
    lucia = world.resident("Lucía", language="es")
    await lucia.says("/start")
    assert any("Bienvenido a Porchlight" in (m.text or "") for m in lucia.inbox)
    assert any("llama al 911" in (m.text or "") for m in lucia.inbox)
    await lucia.taps("Sí, mantenme informado")
    async with world.porch.store.read() as tx:
        resident = await tx.residents.get(lucia.id)
    assert resident is not None and resident.language == "es" and resident.broadcast_opt_in
    await lucia.says("/report")
    await lucia.taps("Vehículo sospechoso")
    await lucia.says("Furgoneta blanca aparcada hace días")
    await lucia.taps("Omitir")
    await lucia.taps("Omitir")
    await lucia.taps("Anónimo (recomendado)")
    await lucia.taps("Enviar")
    assert "Gracias: tu aviso es el #1" in lucia.last_message().text
    card = await world.officer_chat.next_message()
    assert "Suspicious vehicle" in card.text  # officers read their own language


async def test_a_rate_limited_card_is_delivered_after_retry_after(world: World) -> None:
    world.emu.fail_next(
        "sendMessage",
        chat_id=world.officer_chat_id,
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    alice = world.resident("Alice")
    await file_tip(world, alice)
    cards = [m for m in world.officer_chat.bot_messages() if "Tip #1" in (m.text or "")]
    assert len(cards) == 1


async def test_a_card_refused_by_a_server_error_is_retried(world: World) -> None:
    world.emu.fail_next(
        "sendMessage", chat_id=world.officer_chat_id, error_code=502, description="Bad Gateway"
    )
    alice = world.resident("Alice")
    await file_tip(world, alice)
    cards = [m for m in world.officer_chat.bot_messages() if "Tip #1" in (m.text or "")]
    assert len(cards) == 1
    await world.settle()
    async with world.porch.store.read() as tx:
        rows = await tx.outbox.rows("tip_card")
    # The request layer retried at once; the outbox row needed one attempt.
    assert [(row.status, row.attempts) for row in rows] == [("sent", 1)]
    tries = world.emu.calls_to("sendMessage")
    to_officers = [c for c in tries if c.chat_id == world.officer_chat_id]
    assert [c.ok for c in to_officers][:2] == [False, True]


async def test_one_server_error_is_retried_and_the_resident_never_notices(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    world.emu.fail_next("editMessageText", error_code=500, description="Internal Server Error")
    world.emu.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    await alice.taps("Vandalism")
    assert "Describe what you saw" in alice.last_message().text
    assert not any("something went wrong" in (m.text or "") for m in alice.inbox)


async def test_an_album_added_after_the_description_is_kept_whole(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Break-in or theft")
    await alice.sends_voice()
    await alice.says("Number 14, the back door")
    await alice.sends_album(4, kind="video")
    assert sum(1 for m in alice.inbox if "Added. Send more" in (m.text or "")) == 1
    await alice.taps("Done")
    await alice.taps("Anonymous (recommended)")
    assert "Attachments: 5" in alice.last_message().text
    await alice.taps("Send")
    card = await world.officer_chat.next_message()
    thread = world.officer_chat.thread_of(card)
    assert sum(1 for m in thread if m.video) == 4 and sum(1 for m in thread if m.voice) == 1
    assert "Number 14, the back door" in card.text


async def test_a_deep_link_from_a_group_opens_the_report(world: World) -> None:
    erin = world.resident("Erin")
    await erin.starts("report")
    assert "What is it about?" in erin.last_message().text


async def test_cancel_leaves_the_report_at_any_step(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Other")
    await alice.says("/cancel")
    assert "Report cancelled" in alice.last_message().text
    await alice.says("/cancel")
    assert "nothing to cancel" in alice.last_message().text
    assert world.officer_chat.bot_messages() == []


async def test_an_officer_who_leaves_the_chat_loses_the_right_to_reply(world: World) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await officer.replies_to(card, text="We are looking into it.")
    before = len(alice.inbox)
    await officer.leaves()
    await officer.replies_to(card, text="Actually, tell me where you live")
    assert len(alice.inbox) == before
    assert "Only members of the officer chat" in world.officer_chat.last_message().text


async def test_residents_cannot_add_to_someone_elses_tip(world: World) -> None:
    alice = world.resident("Alice")
    await file_tip(world, alice)
    mallory = world.resident("Mallory")
    await mallory.says("/mytips")
    await mallory.taps_data(mallory.last_message(), "add:1")
    assert mallory.last_answer() == "This is no longer available."


async def test_a_resident_switches_to_spanish_and_is_answered_in_spanish(world: World) -> None:
    frank = world.resident("Frank")
    await frank.says("/language")
    await frank.taps("Español")
    assert "hablaré contigo en español" in frank.last_message().text
    await frank.says("/report")
    assert "¿De qué se trata?" in frank.last_message().text
    await frank.taps_data(frank.last_message(), "lang:xx")
    assert frank.last_answer() == "Esto ya no está disponible."
