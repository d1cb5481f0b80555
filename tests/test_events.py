"""Community events: officers create and announce them, residents answer, reminders arrive on
time (moved with the event, stopped by a cancellation, never twice), feedback afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.conftest import World
from tests.telegram.drivers import Officer, Person

START = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)


async def opted_in(world: World, name: str, language: str = "en") -> Person:
    person = world.resident(name, language=language)
    await person.says("/start")
    await person.taps("Yes, keep me informed" if language == "en" else "Sí, mantenme informado")
    return person


async def create_event(
    world: World,
    officer: Officer,
    *,
    start: str = "2026-12-05 18:30",
    capacity: str | None = None,
    announce: bool = True,
) -> None:
    await officer.says("/newevent")
    await officer.says("Neighbourhood watch meeting")
    await officer.says(start)
    await officer.taps("Skip")  # end
    await officer.says("Community centre, 12 Elm St")
    await officer.says("Meet your officers <and> neighbours & bring questions")
    if capacity is None:
        await officer.taps("Skip")
    else:
        await officer.says(capacity)
    preview = world.officer_chat.last_message().text
    assert "Neighbourhood watch meeting" in preview and "<and> neighbours &" in preview
    await officer.taps("📣 Announce" if announce else "Save without announcing")


async def fire_event_jobs(world: World) -> None:
    """The event alarm's moment: what is due at the world's clock rings."""
    await world.ring_alarms()


def received(person: Person, words: str) -> int:
    return sum(1 for m in person.inbox if words in (m.text or ""))


async def test_create_announce_answer_remind_and_rate(world: World) -> None:
    officer = world.officer("Sergeant")
    alice, lucia = await opted_in(world, "Alice"), await opted_in(world, "Lucía", "es")
    bob, carol = await opted_in(world, "Bob"), await opted_in(world, "Carol")
    dave = world.resident("Dave")  # never subscribed
    await dave.says("/start")
    await create_event(world, officer)
    assert "announced to 4 recipient(s)" in world.officer_chat.last_message().text

    await alice.taps("Going")
    assert alice.last_answer() == "See you there!"
    assert ("✓ Going", "ev:going:1") in alice.last_message().buttons
    await lucia.taps("Voy")
    await bob.taps("Can't go")
    await carol.taps("Maybe")
    await carol.taps("Going")  # an answer can be changed…
    await carol.taps("Maybe")  # …and changed back
    assert received(dave, "Neighbourhood watch") == 0

    world.clock.set(START - timedelta(hours=24))
    await fire_event_jobs(world)
    assert received(alice, "starts in 24 h") == 1 and received(carol, "starts in 24 h") == 1
    assert received(lucia, "empieza en 24 h") == 1 and received(bob, "Reminder") == 0
    assert not any(m.location for m in alice.inbox)  # a typed place, no pin to send
    await fire_event_jobs(world)
    assert received(alice, "starts in 24 h") == 1

    world.clock.set(START - timedelta(hours=1))
    await fire_event_jobs(world)
    assert received(alice, "starts in 1 h") == 1 and received(bob, "starts in 1 h") == 0

    world.clock.set(START + timedelta(hours=2, minutes=1))
    await fire_event_jobs(world)
    assert received(alice, "How was") == 1 and received(carol, "How was") == 0
    await alice.taps("5")
    await lucia.taps("4")
    assert "Thank you for your feedback (5/5)" in alice.last_message().text
    await officer.says("/events")
    card = world.officer_chat.last_message().text
    assert "Going 2 · 🤔 Maybe 1 · ❌ Can't go 1" in card
    assert "Feedback: 4.5/5 from 2 resident(s)" in card


async def test_editing_the_time_moves_the_reminders_and_tells_attendees(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer)
    await alice.taps("Going")
    await officer.says("/events")
    await officer.taps("Edit time")
    await officer.says("6 Dec 11:00")
    assert "moved" in world.officer_chat.last_message().text
    assert received(alice, "New time") == 1
    assert "6 Dec 2026" in alice.last_message().text

    world.clock.set(START - timedelta(hours=24))  # the old reminder time
    await fire_event_jobs(world)
    assert received(alice, "Reminder") == 0
    world.clock.set(datetime(2026, 12, 5, 11, 0, tzinfo=UTC))  # 24 h before the new time
    await fire_event_jobs(world)
    assert received(alice, "starts in 24 h") == 1


async def test_cancelling_tells_attendees_and_stops_reminders(world: World) -> None:
    officer = world.officer("Sergeant")
    alice, bob = await opted_in(world, "Alice"), await opted_in(world, "Bob")
    await create_event(world, officer)
    await alice.taps("Maybe")
    await bob.taps("Can't go")
    await officer.says("/cancelevent 1")
    assert "1 resident(s)" in world.officer_chat.last_message().text  # Alice; Bob can't go
    assert received(alice, "Cancelled") == 0  # nothing happens before the officer confirms
    await officer.taps("Yes, cancel it")
    assert received(alice, "Cancelled") == 1 and received(bob, "Cancelled") == 0
    assert world.app is not None and world.app.job_queue is not None
    alarms = [j for j in world.app.job_queue.jobs() if (j.name or "").startswith("event-job:")]
    assert all(j.removed for j in alarms)
    async with world.porch.store.read() as tx:
        assert {job.status for job in await tx.events.jobs(1)} == {"cancelled"}
    announcement = next(m for m in alice.inbox if "Community event" in (m.text or ""))
    await alice.taps_data(announcement, "ev:going:1")
    assert alice.last_answer() == "This is no longer available."


async def test_a_restart_between_creation_and_reminder_still_reminds_once(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer)
    await alice.taps("Going")
    await world.restart_bot()
    world.clock.set(START - timedelta(hours=23))  # the bot was down when the reminder was due
    await world.restart_bot()  # the overdue alarm rings at start
    await world.settle()
    await world.emu.wait_for(lambda: received(alice, "starts in 24 h") == 1)
    await world.restart_bot()
    await world.settle()
    assert received(alice, "starts in 24 h") == 1


async def test_an_event_created_close_to_its_start_skips_the_early_reminder(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer, start="2026-11-25 15:00")  # in three hours
    await alice.taps("Going")
    async with world.porch.store.read() as tx:
        jobs = await tx.events.jobs(1)
    assert [(j.kind, j.lead_minutes, j.status) for j in jobs] == [
        ("reminder", 1440, "skipped"),
        ("reminder", 60, "pending"),
        ("feedback", 0, "pending"),
    ]


async def test_ambiguous_and_past_dates_are_asked_again(world: World) -> None:
    officer = world.officer("Sergeant")
    await officer.says("/newevent")
    await officer.says("Safety fair")
    await officer.says("05/12 18:30")
    assert "could not read that date" in world.officer_chat.last_message().text
    await officer.says("2025-01-01 10:00")
    assert "already passed" in world.officer_chat.last_message().text
    await officer.says("sometime next week")
    assert "2026-12-05 18:30" in world.officer_chat.last_message().text  # an example is given
    await officer.says("5 Dec 18:30")
    assert "When does it end?" in world.officer_chat.last_message().text
    await officer.says("17:00")
    assert "end must be after the start" in world.officer_chat.last_message().text
    await officer.says("20:00")  # a time alone: the same day
    assert "Where?" in world.officer_chat.last_message().text


async def test_the_calendar_file_has_the_right_start(world: World) -> None:
    world.overrides["timezone"] = "Europe/Madrid"
    await world.restart_bot()
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    await create_event(world, officer)
    await alice.taps("📆 Add to calendar")
    document = alice.last_message()
    assert document.document and document.document["file_name"] == "event-1.ics"
    calendar = Calendar.from_ical(world.emu.file_bytes(document.file_id))
    [event] = calendar.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(
        2026, 12, 5, 18, 30, tzinfo=ZoneInfo("Europe/Madrid")
    ).astimezone(UTC)
    assert str(event["UID"]) == "event-1@porchlight"
    assert "12 Elm St" in str(event["LOCATION"])


async def test_a_full_event_says_so_and_offers_maybe(world: World) -> None:
    officer = world.officer("Sergeant")
    alice, bob = await opted_in(world, "Alice"), await opted_in(world, "Bob")
    await create_event(world, officer, capacity="1")
    await alice.taps("Going")
    await bob.taps("Going")
    assert bob.last_answer() == "This event is full."
    assert "is full. Would you like to answer Maybe?" in bob.last_message().text
    await bob.taps("Maybe")
    async with world.porch.store.read() as tx:
        counts = await tx.events.counts(1)
    assert (counts.going, counts.maybe) == (1, 1)


async def test_in_a_group_answers_are_given_in_private(world: World) -> None:
    officer = world.officer("Sergeant")
    carol = world.emu.add_user("Carol", username="carol_e")
    group = world.emu.add_group(
        "Elm Street", type="group", members={carol.id: "creator"}, bot_status="left"
    )
    world.emu.set_bot_member(group, "member", actor=carol)
    await world.settle()
    await officer.taps("Approve", message=await world.officer_chat.next_message())
    await create_event(world, officer)
    announcement = world.emu.bot_messages(group)[-1]
    assert announcement.reply_markup is not None
    url = announcement.reply_markup["inline_keyboard"][0][0]["url"]
    assert url == "https://t.me/porchlight_test_bot?start=event-1"
    erin = world.resident("Erin")
    await erin.starts("event-1")
    await erin.taps("Going")
    assert erin.last_answer() == "See you there!"
