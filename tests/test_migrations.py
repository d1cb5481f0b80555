"""The migration stairway: a database of every earlier version, holding data of that version,
is migrated to the current schema and read by the current code.

For each migration N: build the schema up to N-1 with the real runner, write rows as the code of
that time wrote them (raw SQL, only the columns that existed then; outbox payloads in the JSON
of their time), apply the rest of the migrations through `Store.open()`, and read everything back
through the repositories. A new migration must add its data here (the first test says so).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage import Store, Tx
from storage.db import apply_migrations, connect, migration_files, pending_migrations
from storage.inbox import Lease
from storage.payload import FollowUp, JoinThread, Payload
from storage.sql import Connection
from tests.old_payloads import OLD_CARD, OLD_FOLLOWUP, old_relay

pytestmark = pytest.mark.sqlite_only(
    reason="the stairway builds SQLite databases of every earlier version; PostgreSQL starts"
    " at the newest (tests/test_storage.py migrates an empty one)"
)

OFFICERS = -1001
WHEN = "2026-11-20T10:00:00.000000+00:00"
EVENT_START = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
VERSIONS = [version for version, _, _ in migration_files()]

Seed = Callable[[Connection], Awaitable[None]]
Check = Callable[[Tx], Awaitable[None]]


async def insert(conn: Connection, table: str, **values: Any) -> None:
    """A row as the code of the database's version wrote it: columns added by later
    migrations are left out (they get their defaults, or the migration's backfill). Each
    version's seed runs at that version, so names a later migration renamed are still the old
    ones there."""
    columns = await _columns(conn, table)
    assert columns, f"no table {table} at this version"
    kept = {name: value for name, value in values.items() if name in columns}
    marks = ", ".join("?" for _ in kept)
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(kept)}) VALUES ({marks})", tuple(kept.values())
    )


async def _columns(conn: Connection, table: str) -> set[str]:
    async with conn.execute(f"PRAGMA table_info({table})") as cursor:
        return {row[1] for row in await cursor.fetchall()}


async def outbox_row(conn: Connection, **values: Any) -> None:
    row = {"priority": 20, "status": "pending", "created_at": WHEN, "updated_at": WHEN}
    row.setdefault("lane", f"chat:{values['chat_id']}")
    await insert(conn, "outbox", **(row | values))


def text_payload(html: str, buttons: list[list[list[str]]] | None = None) -> str:
    content: dict[str, Any] = {"type": "text", "html": html}
    if buttons:
        content["buttons"] = buttons
    return json.dumps({"contents": [content]})


# 0001: residents, tips and their media, messages and thread links, the outbox, the audit log,
# PTB's persistence. ------------------------------------------------------------------------


async def seed_initial(conn: Connection) -> None:
    for user_id, language, opt_in, reachable in ((42, "es", 1, 1), (43, "en", None, 1)):
        subscribed = int(opt_in == 1)
        await insert(
            conn,
            "residents",
            user_id=user_id,
            language=language,
            broadcast_opt_in=opt_in,
            reachable=reachable,
            sub_safety=subscribed,
            sub_events=subscribed,
            sub_alerts=subscribed,
            created_at=WHEN,
            updated_at=WHEN,
        )
    await insert(
        conn,
        "tips",
        id=1,
        resident_id=42,
        source_key="report:42:1",
        category="vehicle",
        description="White van on Elm St",
        latitude=1.5,
        longitude=2.5,
        anonymous=1,
        language="es",
        card_message_id=500,
        created_at=WHEN,
    )
    for position, file_id in enumerate(("P1", "P2")):
        await insert(conn, "tip_media", tip_id=1, position=position, kind="photo", file_id=file_id)
    await insert(
        conn,
        "tip_messages",
        tip_id=1,
        author="officer",
        officer_id=7,
        kind="text",
        text="We are on it",
        source_chat_id=OFFICERS,
        source_message_id=77,
        created_at=WHEN,
    )
    for chat_id, message_id, role in ((OFFICERS, 500, "card"), (42, 9, "receipt")):
        await insert(
            conn, "thread_messages", chat_id=chat_id, message_id=message_id, tip_id=1, role=role
        )
    await outbox_row(
        conn,
        kind="tip_card",
        chat_id=OFFICERS,
        lane="tip:1",
        payload=OLD_CARD,
        tip_id=1,
        status="sent",
        attempts=1,
        message_ids="[[500]]",
    )
    await outbox_row(conn, kind="relay", chat_id=42, payload=old_relay(1, OFFICERS, 77), tip_id=1)
    await outbox_row(conn, kind="followup", chat_id=OFFICERS, lane="tip:1", payload=OLD_FOLLOWUP)
    await insert(
        conn, "audit_log", actor_id=7, action="tip.reply", tip_id=1, detail="", created_at=WHEN
    )
    draft = {"report_draft": {"key": "report:43:2", "category": "theft", "description": "door"}}
    await insert(conn, "ptb_persistence", kind="user_data", key="43", data=json.dumps(draft))


async def check_initial(tx: Tx) -> None:
    alice, bob = await tx.residents.get(42), await tx.residents.get(43)
    assert alice is not None and bob is not None
    assert (alice.language, alice.reachable) == ("es", True)
    # Opted in before topics existed (0002): subscribed to every topic, as the /start answer.
    assert alice.subscriptions == {"safety", "events", "alerts"}
    assert bob.subscriptions == frozenset() and bob.broadcast_opt_in is None

    tip = await tx.tips.get(1)
    assert tip is not None and tip.description == "White van on Elm St"
    assert (tip.resident_id, tip.card_message_id, tip.has_location) == (42, 500, True)
    assert [m.file_id for m in tip.media] == ["P1", "P2"]
    assert tip.broadcast_id is None
    assert (tip.status, tip.assignee_name, tip.rating) == ("new", None, None)  # 0008: untouched
    assert [(m.author, m.text) for m in await tx.tips.messages(1)] == [("officer", "We are on it")]
    link = await tx.tips.find_link(OFFICERS, 500)
    assert link is not None and (link.tip_id, link.role) == (1, "card")

    (card,) = [row for row in await tx.outbox.rows("tip_card") if row.tip_id == 1]
    assert card.status == "sent" and card.message_ids == ((500,),)
    assert card.payload is not None and card.payload.set_card
    assert card.payload.then[1].payload.contents[0]["type"] == "album"
    (relay,) = await tx.outbox.rows("relay")
    assert relay.payload is not None and relay.status == "pending"
    assert relay.payload.link == JoinThread(1, "relayed")
    assert relay.payload.then[0] == FollowUp(
        kind="receipt",
        chat_id=OFFICERS,
        lane="react:tip:1",
        priority=200,
        payload=Payload(({"type": "reaction", "message_id": 77, "emoji": "\U0001f44d"},)),
    )
    assert relay.payload.on_failed[0].append_reason
    (followup,) = await tx.outbox.rows("followup")
    assert followup.payload is not None and followup.payload.reply_to_card == 1

    async with tx.conn.execute("SELECT action FROM audit_log WHERE tip_id = 1") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["tip.reply"]
    saved = await tx.persistence.load("user_data")
    assert json.loads(saved["43"])["report_draft"]["category"] == "theft"


# 0002: topics, the safety-tip library, broadcasts and their delivery rows, community groups.


async def seed_broadcasts(conn: Connection) -> None:
    await insert(
        conn,
        "safety_tips",
        id=1,
        key="home-lock-doors",
        topic="home",
        position=1,
        title_en="Lock your doors",
        body_en="Every night.",
        title_es="Cierre sus puertas",
        body_es="Cada noche.",
        broadcast_count=1,
        last_broadcast_at=WHEN,
        created_at=WHEN,
    )
    await insert(
        conn,
        "broadcasts",
        id=1,
        key="weekly:2026-W47",
        kind="weekly",
        safety_tip_id=1,
        recipients=2,
        report_message_id=600,
        created_at=WHEN,
    )
    await insert(
        conn,
        "community_groups",
        chat_id=-2001,
        title="Elm Street Neighbours",
        status="approved",
        added_by_name="@someone",
        language="es",
        created_at=WHEN,
        updated_at=WHEN,
    )
    for chat_id, status in ((42, "sent"), (-2001, "pending")):
        await outbox_row(
            conn,
            kind="broadcast",
            chat_id=chat_id,
            priority=100,
            payload=text_payload("<b>Cierre sus puertas</b>\nCada noche."),
            dedupe_key=f"broadcast:1:{chat_id}",
            broadcast_id=1,
            status=status,
        )


async def check_broadcasts(tx: Tx) -> None:
    tip = await tx.library.get(1)
    assert tip is not None and tip.title("es") == "Cierre sus puertas" and tip.active
    weekly = await tx.broadcasts.get(1)
    assert weekly is not None and weekly.kind == "weekly" and weekly.report_message_id == 600
    assert not weekly.finished  # finished_at came later (0003): still reported on
    assert weekly.advice_id == 1  # safety_tip_id until 0007
    assert await tx.broadcasts.progress(1) == {"sent": 1, "pending": 1}
    group = await tx.groups.get(-2001)
    assert group is not None and group.status == "approved" and group.language == "es"
    texts = [
        row.payload.contents[0]["html"] for row in await tx.outbox.rows("broadcast") if row.payload
    ]
    assert texts.count("<b>Cierre sus puertas</b>\nCada noche.") == 2


# 0003: officers' alerts keep their text; a tip can answer an alert. -------------------------


async def seed_alerts(conn: Connection) -> None:
    await insert(
        conn,
        "broadcasts",
        id=2,
        key="alert:3f2a",
        kind="alert",
        created_by=7,
        recipients=1,
        text="Lost dog near the park",
        created_at=WHEN,
        finished_at=WHEN,
    )
    await insert(
        conn,
        "tips",
        id=2,
        resident_id=42,
        source_key="report:42:2",
        category="other",
        description="I saw the dog",
        language="es",
        broadcast_id=2,
        created_at=WHEN,
    )
    await outbox_row(
        conn,
        kind="broadcast",
        chat_id=42,
        priority=100,
        payload=text_payload("Lost dog near the park", [[["I have information", "info:2"]]]),
        dedupe_key="broadcast:2:42",
        broadcast_id=2,
    )


async def check_alerts(tx: Tx) -> None:
    alert = await tx.broadcasts.get(2)
    assert alert is not None and alert.text == "Lost dog near the park" and alert.finished
    tip = await tx.tips.get(2)
    assert tip is not None and tip.broadcast_id == 2
    (alert_row,) = [row for row in await tx.outbox.rows("broadcast") if row.chat_id == 42][1:]
    assert alert_row.payload is not None and alert_row.status == "pending"
    assert alert_row.payload.contents[0]["buttons"] == [[["I have information", "info:2"]]]


# 0004: community events, answers, and every reminder as a row. ------------------------------


async def seed_events(conn: Connection) -> None:
    await insert(
        conn,
        "events",
        id=1,
        title="Street party",
        starts_at=EVENT_START.isoformat(timespec="microseconds"),
        place="Elm St",
        capacity=30,
        status="announced",
        sequence=1,
        created_by=7,
        created_at=WHEN,
        updated_at=WHEN,
    )
    await insert(conn, "rsvps", event_id=1, user_id=42, answer="going", updated_at=WHEN)
    for kind, lead, due in (
        ("reminder", 60, "2026-12-05T16:30"),
        ("feedback", 0, "2026-12-05T19:30"),
    ):
        await insert(
            conn,
            "event_jobs",
            event_id=1,
            kind=kind,
            lead_minutes=lead,
            due_at=f"{due}:00.000000+00:00",
        )
    buttons = [[["Going", "rsvp:1:going"], ["Maybe", "rsvp:1:maybe"]]]
    await outbox_row(
        conn,
        kind="event_reminder",
        chat_id=42,
        priority=30,
        payload=text_payload("Street party in an hour", buttons),
        dedupe_key="reminder:1:60:42",
    )


async def check_events(tx: Tx) -> None:
    event = await tx.events.get(1)
    assert event is not None and event.title == "Street party"
    assert (event.starts_at, event.status, event.sequence) == (EVENT_START, "announced", 1)
    assert (await tx.events.counts(1)).going == 1
    assert await tx.events.attendees(1, ("going",)) == [(42, "es")]
    jobs = await tx.events.jobs(1)
    assert sorted((job.kind, job.status) for job in jobs) == [
        ("feedback", "pending"),
        ("reminder", "pending"),
    ]
    (reminder,) = await tx.outbox.rows("event_reminder")
    assert reminder.payload is not None and reminder.payload.contents[0]["buttons"][0][0] == [
        "Going",
        "rsvp:1:going",
    ]


# 0005: an index for the drainer's next wake-up: a backed-off row. ---------------------------


async def seed_backoff(conn: Connection) -> None:
    await outbox_row(
        conn,
        kind="officer_notice",
        chat_id=OFFICERS,
        lane="group:-2001",
        payload=text_payload("Removed from a group"),
        attempts=2,
        not_before=2e9,
        last_error="Bad Gateway",
    )


async def check_backoff(tx: Tx) -> None:
    (row,) = await tx.outbox.rows("officer_notice")
    assert (row.attempts, row.last_error, row.payload is not None) == (2, "Bad Gateway", True)
    assert await tx.outbox.next_wakeup(1.9e9) == 2e9


# 0006: the update inbox. --------------------------------------------------------------------


async def seed_inbox(conn: Connection) -> None:
    update = {"update_id": 8, "message": {"message_id": 3, "text": "/start"}}
    await insert(conn, "inbox", update_id=8, payload=json.dumps(update), received_at=WHEN)
    await insert(conn, "inbox", update_id=7, payload="", received_at=WHEN, handled_at=WHEN)


async def check_inbox(tx: Tx) -> None:
    pending = {entry.update_id: entry for entry in await tx.inbox.pending()}
    assert 7 not in pending and pending[8].payload["message"]["text"] == "/start"


# 0007: the library holds advice ("tip" is a resident's tip): table and column renamed. ------


async def seed_advice(conn: Connection) -> None:
    await insert(
        conn,
        "advice",
        id=2,
        key="scams-no-codes",
        topic="scams",
        position=2,
        title_en="Never share codes",
        body_en="Not even with the bank.",
        title_es="Nunca comparta códigos",
        body_es="Ni siquiera con el banco.",
        created_at=WHEN,
    )
    await insert(
        conn, "broadcasts", id=7, key="weekly:2026-W48", kind="weekly", advice_id=2, created_at=WHEN
    )


async def check_advice(tx: Tx) -> None:
    advice = await tx.library.get(2)
    assert advice is not None and advice.title("en") == "Never share codes"
    weekly = await tx.broadcasts.get(7)
    assert weekly is not None and weekly.advice_id == 2


# 0008: the officer desk: who triaged a tip, its first answer, the resident's rating. --------


async def seed_desk(conn: Connection) -> None:
    await insert(
        conn,
        "tips",
        id=8,
        resident_id=None,
        source_key="report:8:1",
        category="theft",
        description="Bike stolen",
        language="en",
        card_message_id=800,
        created_at=WHEN,
        status="resolved",
        status_by_id=7,
        status_by_name="Dana",
        assignee_id=7,
        assignee_name="Dana",
        acknowledged_at=WHEN,
        first_answer_at=WHEN,
        resolved_at=WHEN,
        rating=4,
        rating_comment="Quick <and> kind",
        rated_at=WHEN,
    )
    card_edit = json.dumps({"contents": [{"type": "card_edit", "tip_id": 8}]})
    await outbox_row(
        conn, id=80, kind="card_edit", chat_id=OFFICERS, lane="card:8", payload=card_edit, tip_id=8
    )


async def check_desk(tx: Tx) -> None:
    tip = await tx.tips.get(8)
    assert tip is not None and tip.status == "resolved" and not tip.is_open
    assert (tip.assignee_name, tip.status_by_name, tip.rating) == ("Dana", "Dana", 4)
    assert tip.rating_comment == "Quick <and> kind" and tip.first_answer_at is not None
    edit = await tx.outbox.get(80)
    assert edit is not None and edit.payload is not None
    assert edit.payload.contents == ({"type": "card_edit", "tip_id": 8},)


# 0009: blocks (by resident, shown by tip) and canned replies. ----------------------------------


async def seed_block_canned(conn: Connection) -> None:
    await insert(
        conn,
        "tips",
        id=9,
        resident_id=None,
        source_key="report:9:1",
        category="person",
        description="Shouting, someone has a knife",
        urgent=1,
        language="en",
        created_at=WHEN,
    )
    await insert(
        conn, "blocks", resident_id=42, tip_id=1, reason="threats", officer_id=7, created_at=WHEN
    )
    await insert(
        conn,
        "canned_replies",
        name="onway",
        text_en="An officer is on the way.",
        text_es=None,
        created_by=7,
        created_at=WHEN,
        updated_at=WHEN,
    )


async def check_block_canned(tx: Tx) -> None:
    block = await tx.blocks.get(42)
    assert block is not None and (block.tip_id, block.reason) == (1, "threats")
    template = await tx.canned.get("onway")
    assert template is not None and template.text("es") == "An officer is on the way."


# 0011: a tip that looks like an open one remembers which, and why. -------------------------


async def seed_duplicates(conn: Connection) -> None:
    await insert(
        conn,
        "tips",
        id=11,
        resident_id=None,
        source_key="report:11:1",
        category="vehicle",
        description="Grey car 7ABC123 again",
        language="en",
        created_at=WHEN,
        duplicate_of=1,
        duplicate_reason="plate:7ABC123",
    )


async def check_duplicates(tx: Tx) -> None:
    tip = await tx.tips.get(11)
    assert tip is not None and (tip.duplicate_of, tip.duplicate_reason) == (1, "plate:7ABC123")
    # Read by the code of 0012 on: not merged, and its hint (tip 1, still new) is open.
    assert tip.merged_into is None and tip.merged_tips == () and tip.duplicate_status == "new"


# 0012: merged tips share their primary's status and thread. ----------------------------------


async def seed_merge(conn: Connection) -> None:
    for tip_id, merged_into in ((120, None), (121, 120), (122, None)):
        await insert(
            conn,
            "tips",
            id=tip_id,
            resident_id=43,
            source_key=f"report:43:{tip_id}",
            category="vehicle",
            description="Grey car 7XYZ120 idling",
            language="en",
            created_at=WHEN,
            status="acknowledged",
            status_by_id=7,
            status_by_name="Dana",
            duplicate_of=120 if tip_id > 120 else None,
            duplicate_reason="plate:7XYZ120" if tip_id > 120 else None,
            merged_into=merged_into,
            merged_at=WHEN if merged_into else None,
            merged_by_id=7 if merged_into else None,
            merged_by_name="Dana" if merged_into else None,
        )
    await insert(
        conn,
        "audit_log",
        actor_id=7,
        action="tip.merged",
        tip_id=121,
        detail="120",
        created_at=WHEN,
    )


async def check_merge(tx: Tx) -> None:
    primary, merged, hinting = [await tx.tips.get(tip_id) for tip_id in (120, 121, 122)]
    assert primary is not None and primary.merged_tips == (121,) and primary.merged_into is None
    assert merged is not None and (merged.merged_into, merged.merged_by_name) == (120, "Dana")
    assert hinting is not None and hinting.duplicate_status == "acknowledged"
    listed = [tip.id for tip in await tx.overview.open_tips()]
    assert 120 in listed and 122 in listed and 121 not in listed, "a merged tip is not apart"
    assert await tx.tips.hinting_at(primary.group_ids) == [122]
    (merged_entry,) = await tx.overview.audit_of(121)
    assert (merged_entry.action, merged_entry.detail) == ("tip.merged", "120")


# 0010: escalation rounds and daily runs. Numbered 0010 while 0008 and 0009 (the officer desk's
# other parts) are written beside it: the runner applies every version not applied, in order,
# and a gap in the numbers is no step. An urgent tip still 'new' from before escalation existed
# is never escalated (nobody could acknowledge it then); the audit trail reads back. ----------


async def seed_escalation(conn: Connection) -> None:
    for tip_id, status in ((31, "new"), (32, "acknowledged")):
        await insert(
            conn,
            "tips",
            id=tip_id,
            resident_id=43,
            source_key=f"report:43:{tip_id}",
            category="person",
            description="Someone trying door handles",
            anonymous=1,
            urgent=1,
            status=status,
            language="en",
            created_at=WHEN,
        )
    await insert(
        conn,
        "audit_log",
        actor_id=None,
        action="tip.filed",
        tip_id=31,
        detail="urgent",
        created_at=WHEN,
    )
    await insert(conn, "escalations", tip_id=31, round=1, created_at=WHEN, pinned_message_id=310)


async def check_escalation(tx: Tx) -> None:
    # Tip 31 (version 10) was pinged once; tip 9, urgent and new before 0010 existed (stair 9),
    # is never escalated: nobody could acknowledge it then.
    unanswered = await tx.escalations.unanswered(below=3)
    assert [(u.tip_id, u.rounds) for u in unanswered] == [(31, 1)]
    assert await tx.escalations.rounds(31) == [1] and await tx.escalations.rounds(32) == []
    assert await tx.escalations.rounds(9) == [999]
    (filed,) = await tx.overview.audit_of(31)
    assert filed.action == "tip.filed" and filed.actor_id is None and filed.detail == "urgent"
    order = [tip.id for tip in await tx.overview.open_tips()]
    assert order.index(31) < order.index(32), "urgent and older first"
    assert await tx.escalations.claim_day("stale:2026-11-20")


# 0014: statistics: tips by filing week (an index), ratings by when given, the digest's runs.
# The week of Monday 5 October holds only this stair's data.

OCTOBER = datetime(2026, 10, 5, tzinfo=UTC)
NEXT_WEEK = datetime(2026, 10, 12, tzinfo=UTC)


async def seed_stats(conn: Connection) -> None:
    for tip_id, category, status, urgent, day in (
        (141, "vehicle", "resolved", 0, 6),
        (142, "vehicle", "spam", 0, 7),
        (143, "person", "acknowledged", 1, 8),
    ):
        resolved = tip_id == 141
        await insert(
            conn,
            "tips",
            id=tip_id,
            resident_id=43,
            source_key=f"report:43:{tip_id}",
            category=category,
            description="Seen near the school",
            urgent=urgent,
            status=status,
            language="en",
            created_at=f"2026-10-0{day}T10:00:00.000000+00:00",
            first_answer_at="2026-10-06T10:10:00.000000+00:00" if resolved else None,
            resolved_at="2026-10-06T12:00:00.000000+00:00" if resolved else None,
            rating=5 if resolved else None,
            rated_at="2026-10-06T13:00:00.000000+00:00" if resolved else None,
        )
    when = "2026-10-07T18:00:00.000000+00:00"
    await insert(
        conn, "broadcasts", id=14, key="alert:stats", kind="alert", recipients=3, created_at=when
    )
    for chat_id, status in ((1401, "sent"), (1402, "unreachable"), (-1403, "failed")):
        await outbox_row(
            conn,
            kind="broadcast",
            chat_id=chat_id,
            priority=100,
            payload=text_payload("Stay alert"),
            dedupe_key=f"broadcast:14:{chat_id}",
            broadcast_id=14,
            status=status,
        )
    await insert(
        conn,
        "events",
        id=14,
        title="Coffee with officers",
        starts_at="2026-10-09T17:00:00.000000+00:00",
        status="announced",
        created_at=when,
        updated_at=when,
    )
    await insert(conn, "rsvps", event_id=14, user_id=42, answer="going", rating=4, updated_at=when)
    await insert(conn, "rsvps", event_id=14, user_id=43, answer="maybe", updated_at=when)


async def check_stats(tx: Tx) -> None:
    weeks = await tx.stats.by_week([OCTOBER, NEXT_WEEK])
    assert sorted((w.week, w.category, w.spam, w.count) for w in weeks) == [
        (0, "person", False, 1),
        (0, "vehicle", False, 1),
        (0, "vehicle", True, 1),
    ]
    answer = await tx.stats.durations("answer", OCTOBER, NEXT_WEEK)
    assert (answer.count, answer.median, answer.p90) == (1, 600.0, 600.0)
    resolution = await tx.stats.durations("resolution", OCTOBER, NEXT_WEEK)
    assert resolution.median == 7200.0
    ratings = await tx.stats.ratings(OCTOBER, NEXT_WEEK)
    assert (ratings.count, ratings.average) == (1, 5.0)
    (alerts,) = await tx.stats.broadcasts(OCTOBER, NEXT_WEEK)
    assert (alerts.kind, alerts.recipients, alerts.failed, alerts.unreachable) == ("alert", 3, 1, 1)
    assert alerts.delivered == 1
    events = await tx.stats.events(OCTOBER, NEXT_WEEK)
    assert (events.held, events.going, events.rated, events.average_rating) == (1, 1, 1, 4.0)
    opened = {(o.status, o.urgent): o.count for o in await tx.stats.open_tips()}
    assert opened[("acknowledged", True)] >= 1  # tip 143 (and tip 32 of stair 10)
    assert {status for status, _ in opened} <= {"new", "acknowledged", "taken"}
    assert await tx.stats.claim_digest("digest:2026-W42", OCTOBER, NEXT_WEEK)
    assert not await tx.stats.claim_digest("digest:2026-W42", OCTOBER, NEXT_WEEK)
    assert await tx.stats.digest_done("digest:2026-W42")


# 0015: erasure and retention. A resident's follow-up may lose its source chat (NULL, which
# 0001's NOT NULL did not allow: the table is rebuilt with its rows); a tip says why it has no
# resident; a block can be held under a hash. Everything written before reads back unchanged.


async def seed_erasure(conn: Connection) -> None:
    await insert(
        conn,
        "tips",
        id=15,
        resident_id=43,
        source_key="report:43:15",
        category="hazard",
        description="Loose manhole cover",
        language="en",
        status="resolved",
        resolved_at=WHEN,
        created_at=WHEN,
    )
    for author, chat_id, message_id, text in (
        ("resident", 43, 151, "It is still open"),
        ("officer", OFFICERS, 152, "We sent someone"),
    ):
        await insert(
            conn,
            "tip_messages",
            tip_id=15,
            author=author,
            officer_id=7 if author == "officer" else None,
            kind="text",
            text=text,
            source_chat_id=chat_id,
            source_message_id=message_id,
            created_at=WHEN,
        )


async def check_erasure(tx: Tx) -> None:
    tip = await tx.tips.get(15)
    assert tip is not None and tip.resident_id == 43 and tip.detached is None
    said = await tx.tips.messages(15)
    assert [(m.author, m.source_chat_id, m.text) for m in said] == [
        ("resident", 43, "It is still open"),
        ("officer", OFFICERS, "We sent someone"),
    ]
    # The rebuilt table keeps "one row per source message" and now takes detached rows.
    await tx.privacy.detach([15], "retention")
    assert [m.source_chat_id for m in await tx.tips.messages(15)] == [None, OFFICERS]
    again = await tx.tips.get(15)
    assert again is not None and (again.resident_id, again.detached) == (None, "retention")
    closed = await tx.privacy.closed_before(datetime(2027, 1, 1, tzinfo=UTC), 100)
    assert 8 in closed and 15 not in closed  # resolved long ago; detached already
    assert await tx.blocks.hold(42, "hash-of-42") and await tx.blocks.get(42) is None
    assert await tx.blocks.restore("hash-of-42", 42)
    block = await tx.blocks.get(42)
    assert block is not None and block.reason == "threats"


# 0013: forum topics. A tip in its topic (closed: resolved), a tip whose topic's creation never
# got an answer, and a forum card still queued: its topic step, then the card. ----------------


async def seed_forum_topics(conn: Connection) -> None:
    for tip_id, topic_id, state, name in (
        (13, 130, "closed", "✅ #13 · Other · Lost <dog> & cat"),
        (14, None, "unknown", None),
    ):
        await insert(
            conn,
            "tips",
            id=tip_id,
            resident_id=43,
            source_key=f"report:43:{tip_id}",
            category="other",
            description="Lost <dog> & cat",
            status="resolved" if state == "closed" else "new",
            language="en",
            created_at=WHEN,
            topic_id=topic_id,
            topic_state=state,
            topic_name=name,
        )
    await insert(conn, "thread_messages", chat_id=OFFICERS, message_id=130, tip_id=13, role="topic")
    card = {"type": "text", "html": "<b>Tip #14</b>"}
    payload = {
        "contents": [{"type": "topic", "tip_id": 14}, card],
        "link": {"tip_id": 14, "role": "card"},
        "set_card": True,
    }
    await outbox_row(
        conn,
        kind="tip_card",
        chat_id=OFFICERS,
        lane="tip:14",
        tip_id=14,
        payload=json.dumps(payload),
    )


async def check_forum_topics(tx: Tx) -> None:
    closed = await tx.tips.get(13)
    assert closed is not None
    assert (closed.topic_id, closed.topic_state, closed.topic_name) == (
        130,
        "closed",
        "✅ #13 · Other · Lost <dog> & cat",
    )
    link = await tx.tips.find_link(OFFICERS, 130)
    assert link is not None and (link.tip_id, link.role) == (13, "topic")
    unanswered = await tx.tips.get(14)
    assert unanswered is not None and unanswered.topic_state == "unknown"
    (row,) = [row for row in await tx.outbox.rows("tip_card") if row.tip_id == 14]
    assert row.payload is not None and row.payload.set_card
    assert [content["type"] for content in row.payload.contents] == ["topic", "text"]


# 0016: replicas. An update stored before knows no chat and no lease; a row queued before has no
# claim. Both are taken at once by the first replica that looks (and in order on SQLite).


async def seed_replicas(conn: Connection) -> None:
    update = {"update_id": 16, "message": {"message_id": 9, "text": "still here"}}
    await insert(conn, "inbox", update_id=16, payload=json.dumps(update), received_at=WHEN)
    await insert(conn, "ptb_persistence", kind="user_data", key="44", data='{"lang": "es"}')
    await outbox_row(
        conn,
        kind="event_feedback",
        chat_id=44,
        priority=20,
        payload=text_payload("Queued before 0016"),
    )


async def check_replicas(tx: Tx) -> None:
    pending = {entry.update_id for entry in await tx.inbox.pending()}
    assert 16 in pending
    assert not await tx.inbox.earlier_pending(44, 17)  # no chat known: no order to wait for
    taken = await tx.inbox.take_over(Lease("replica-a", 2e9), 1.9e9, own=True)
    assert 16 in {entry.update_id for entry in taken}
    assert not await tx.inbox.take_over(Lease("replica-b", 2e9), 1.9e9)  # a's lease holds
    rows = await tx.outbox.claim(Lease("replica-a", 2e9), 2e9, 100, set(), skip_chat=None)
    assert "Queued before 0016" in [
        row.payload.contents[0].get("html") for row in rows if row.payload is not None
    ]
    assert not await tx.outbox.claim(Lease("replica-b", 2e9), 2e9, 100, set(), skip_chat=None)
    # A draft written after update 5 is not overwritten by one a replica wrote late for update 3.
    row = ("user_data", "44")
    assert await tx.persistence.load_rows([row]) == {row: '{"lang": "es"}'}  # version 0
    await tx.persistence.save("user_data", "44", '{"lang": "en"}', 5)
    await tx.persistence.save("user_data", "44", '{"lang": "es"}', 3)
    await tx.persistence.delete("user_data", "44", 4)
    assert await tx.persistence.load_rows([row]) == {row: '{"lang": "en"}'}


# 0017: Telegram's flood limits shared by replicas (PostgreSQL only; the tables exist on both).
# A pace's row and a group's recent sends, as bot/shared_budget.py left them, read back.


async def seed_flood_limits(conn: Connection) -> None:
    await insert(conn, "flood_paces", key="free", next_free=1_795_000_000.25)
    for sent_at, messages in ((1_795_000_000.5, 1), (1_795_000_001.0, 3)):
        await insert(conn, "flood_sends", chat=str(OFFICERS), sent_at=sent_at, messages=messages)


async def check_flood_limits(tx: Tx) -> None:
    assert await tx.flood.pace("free") == 1_795_000_000.25
    assert await tx.flood.pace("paid") is None
    assert await tx.flood.window(str(OFFICERS)) == [(1_795_000_000.5, 1), (1_795_000_001.0, 3)]


STAIRS: dict[int, tuple[Seed, Check]] = {
    1: (seed_initial, check_initial),
    2: (seed_broadcasts, check_broadcasts),
    3: (seed_alerts, check_alerts),
    4: (seed_events, check_events),
    5: (seed_backoff, check_backoff),
    6: (seed_inbox, check_inbox),
    7: (seed_advice, check_advice),
    8: (seed_desk, check_desk),
    9: (seed_block_canned, check_block_canned),
    10: (seed_escalation, check_escalation),
    11: (seed_duplicates, check_duplicates),
    12: (seed_merge, check_merge),
    13: (seed_forum_topics, check_forum_topics),
    14: (seed_stats, check_stats),
    15: (seed_erasure, check_erasure),
    16: (seed_replicas, check_replicas),
    17: (seed_flood_limits, check_flood_limits),
}


def test_every_migration_has_data_of_its_version_here() -> None:
    assert sorted(STAIRS) == VERSIONS, "add a seed and a check for the new migration"


def previous(version: int) -> int:
    """The version before `version` (numbers may have gaps: 7 comes before 10)."""
    return max((v for v in VERSIONS if v < version), default=0)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"from-{previous(v)}")
async def test_a_database_of_every_earlier_version_migrates_with_its_data(
    tmp_path: Path, version: int
) -> None:
    await climb(tmp_path, previous(version))


async def test_a_database_of_the_current_version_reads_its_data_back(tmp_path: Path) -> None:
    """The last step's own data, seeded at the current version (checked on the stairway once a
    later migration exists)."""
    await climb(tmp_path, VERSIONS[-1])


async def climb(tmp_path: Path, at: int) -> None:
    """Seed every stair up to version `at` at its own version, migrate to the current schema,
    and check every stair's data through the repositories."""
    path = str(tmp_path / "old.sqlite3")
    conn = await connect(path)
    # Each version's data is written while the database is at that version (a later migration
    # may rename what an earlier one created: 0007 renamed safety_tips to advice).
    for stair in sorted(STAIRS):
        if stair <= at:
            await apply_migrations(conn, until=stair)
            seed, _ = STAIRS[stair]
            await seed(conn)
    await apply_migrations(conn, until=at)
    assert len(await pending_migrations(conn)) == len([v for v in VERSIONS if v > at])
    await conn.close()

    store = Store(path)
    await store.open()  # applies migrations `version` and later
    try:
        async with store.read() as tx:
            assert await pending_migrations(tx.conn) == []
            for stair in sorted(STAIRS):
                if stair <= at:
                    _, check = STAIRS[stair]
                    await check(tx)
    finally:
        await store.close()
