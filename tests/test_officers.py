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
    await officer.says(f"/tips retire {HUGE}")
    assert "/tips retire 12" in world.officer_chat.last_message().text  # the list and its usage
    assert no_errors(caplog) == []
    assert world.emu.unanswered_callback_queries() == []
    async with world.porch.store.read() as tx:
        event = await tx.events.get(1)
    assert event is not None and event.status == "announced"  # nothing was cancelled
