"""One alarm service owns every timed job: what officers change in storage re-arms the alarms
with nobody rescheduling, the JobQueue only rings, and a restart rebuilds everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import World
from tests.test_broadcasts import MONDAY_18H_UTC
from tests.test_events import START, create_event, opted_in, received

EVENT_ALARM = "event-job:next"
MOVED = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def armed(world: World, name: str) -> datetime | None:
    """When alarm `name` rings next, on the world's clock (None: nothing to do)."""
    when: datetime | None = world.porch.alarms.armed(name)
    return when


def jobs_named(world: World, name: str) -> int:
    assert world.app is not None and world.app.job_queue is not None
    return len(world.app.job_queue.get_jobs_by_name(name))


async def test_event_alarms_follow_the_officers_and_survive_restarts(world: World) -> None:
    officer = world.officer("Sergeant")
    alice = await opted_in(world, "Alice")
    assert armed(world, EVENT_ALARM) is None and jobs_named(world, EVENT_ALARM) == 0
    await create_event(world, officer)
    await alice.taps("Going")
    assert armed(world, EVENT_ALARM) == START - timedelta(hours=24)
    assert jobs_named(world, EVENT_ALARM) == 1  # one job per alarm: the JobQueue is the clock

    await officer.says("/events")
    await officer.taps("Edit time")
    await officer.says("6 Dec 11:00")
    assert armed(world, EVENT_ALARM) == MOVED - timedelta(hours=24)
    assert jobs_named(world, EVENT_ALARM) == 1

    # Down until a second before the reminder: the restart re-arms it from storage, and the
    # JobQueue rings it on its own.
    await world.stop_bot()
    world.clock.set(MOVED - timedelta(hours=24, seconds=1))
    await world.start_bot()
    assert armed(world, "weekly-safety-broadcast") == MONDAY_18H_UTC + timedelta(days=7)
    await world.emu.wait_for(lambda: received(alice, "starts in 24 h") == 1, timeout=5)
    await world.settle()
    assert armed(world, EVENT_ALARM) == MOVED - timedelta(hours=1)

    await officer.says("/cancelevent 1")
    await officer.taps("Yes, cancel it")
    assert armed(world, EVENT_ALARM) is None and jobs_named(world, EVENT_ALARM) == 0
    await world.restart_bot()
    assert armed(world, EVENT_ALARM) is None
    world.clock.set(MOVED + timedelta(hours=3))
    await world.ring_alarms()
    assert received(alice, "starts in 1 h") == 0 and received(alice, "How was") == 0
    assert received(alice, "starts in 24 h") == 1


async def test_a_delivery_report_keeps_an_alarm_until_it_is_final(world: World) -> None:
    officer = world.officer("Sergeant")
    await opted_in(world, "Alice")
    assert armed(world, "broadcast-reports") is None
    await officer.says("/broadcast")
    await officer.says("Water main repairs on Elm St tomorrow")
    await officer.taps("📣 Announcement")
    await officer.taps("Send")
    opened = armed(world, "broadcast-reports")
    assert opened is not None and opened > world.clock.now()  # paced: not at once
    await world.advance(10)
    await world.ring_alarms()
    assert "finished" in world.officer_chat.last_message().text
    assert armed(world, "broadcast-reports") is None
