"""A person's session (typed user_data) and the JSON rows earlier versions wrote.

Before `Session`, user_data was a string-keyed dict persisted as-is; rows in that shape must
load into the typed session and write back unchanged, so a report, wizard or broadcast in
progress survives an upgrade.
"""

from __future__ import annotations

import json
from typing import Any

from bot.session import QUICK_KEEP, Session
from storage import Store
from tests.conftest import World

# Every key the string-keyed version wrote, in its shape (times as ISO strings, ids as keys).
OLD_ROW: dict[str, Any] = {
    "lang": "es",
    "draft": {
        "key": "report:42:7",
        "category": "vehicle",
        "description": "Furgoneta blanca",
        "media": [{"kind": "photo", "file_id": "P1"}],
        "media_group": "album-1",
        "latitude": 40.4,
        "longitude": -3.7,
        "place": None,
        "anonymous": False,
        "urgent": True,
        "linked_alert": 3,
    },
    "quick": {"10": "a dog barking all night", "12": "lights on in the empty house"},
    "adding_to": 4,
    "adding_group": "album-2",
    "adding_group_tip": 5,
    "broadcast": {"id": 77, "text": "Road closed", "photo": None, "kind": "announcement"},
    "event": {"title": "Walk", "start": "2026-12-01T18:00:00+01:00", "capacity": 20},
    "event_move": 6,
    "lost_prompt": {
        "chat": 42,
        "text": "Where was it?",
        "markup": {"inline_keyboard": [[{"text": "Skip", "callback_data": "w:skip"}]]},
        "force_reply": False,
    },
}


def test_a_row_in_the_old_shape_loads_typed_and_writes_back_unchanged() -> None:
    session = Session.from_dict(OLD_ROW)
    assert session.lang == "es"
    assert session.report is not None and session.report.category == "vehicle"
    assert session.report.media_group == "album-1" and session.report.linked_alert == 3
    assert session.quick == {10: "a dog barking all night", 12: "lights on in the empty house"}
    assert (session.adding_to, session.adding_group, session.adding_group_tip) == (
        4,
        "album-2",
        5,
    )
    assert session.broadcast is not None and session.broadcast.kind == "announcement"
    assert session.event is not None and session.event.start is not None
    assert session.event.start.hour == 18 and session.event.capacity == 20
    assert session.event_move == 6
    assert session.lost_prompt is not None and session.lost_prompt.chat == 42
    assert session.to_dict() == OLD_ROW


def test_drafts_just_started_keep_their_empty_shape() -> None:
    row = {"lang": "en", "broadcast": {}, "event": {}}
    session = Session.from_dict(row)
    assert session.broadcast is not None and session.event is not None
    assert session.to_dict() == row


def test_a_fresh_session_is_empty_and_unknown_keys_are_dropped() -> None:
    assert Session().to_dict() == {}
    assert Session.from_dict({"lang": "en", "from_the_future": 1}).to_dict() == {"lang": "en"}


def test_only_the_latest_quick_tip_offers_are_kept() -> None:
    session = Session()
    for message_id in range(1, QUICK_KEEP + 3):
        session.keep_quick(message_id, f"text {message_id}")
    assert sorted(session.quick) == list(range(3, QUICK_KEEP + 3))


async def test_a_report_saved_by_the_previous_version_goes_on_after_the_upgrade(
    world: World,
) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Break-in or theft")
    await alice.says("Shed door forced open at number 12")
    await world.stop_bot()
    # The row as the string-keyed version left it, at the "where" step of its report.
    old = {
        "lang": "en",
        "draft": {
            "key": f"report:{alice.id}:1",
            "category": "vehicle",
            "description": "Blue van idling outside number 7",
            "media": [],
            "media_group": None,
            "latitude": None,
            "longitude": None,
            "place": None,
            "anonymous": True,
            "urgent": False,
            "linked_alert": None,
        },
        "quick": {"3": "an older quick tip"},
    }
    store = Store(world.database)
    await store.open()
    async with store.transaction() as tx:  # that version wrote rows without a version
        await tx.persistence.delete("user_data", str(alice.id))
        await tx.persistence.save("user_data", str(alice.id), json.dumps(old))
    await store.close()

    await world.start_bot()
    await alice.sends_report_anonymously()  # the where-prompt from before the upgrade still works
    card = await world.officer_chat.next_message()
    assert "Blue van idling outside number 7" in card.text
    assert "Suspicious vehicle" in card.text
