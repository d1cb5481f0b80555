"""Several replicas on one PostgreSQL: a resident's next step on another replica, deliveries
shared and sent once, one chat's updates in order across replicas, a dead replica's work taken
over, one leader at a time.

The world's bot is replica A. Replica B is a second application (or its parts: a store, a
replica, a drainer) on the same database, as a second process behind the load balancer would
be; the three-process story with kill -9 is in tests/test_replica_processes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import ALLOWED_UPDATES, PorchApp, build_application
from bot.delivery import Drainer
from bot.replicas import Replica
from storage import Store
from storage.inbox import Lease
from storage.outbox import PRIORITY_BULK, NewDelivery
from storage.payload import Payload
from tests.conftest import World
from tests.telegram.drivers import Person
from tests.test_tip_line import file_tip

pytestmark = pytest.mark.postgresql_only(reason="replicas share a PostgreSQL database")


def started(world: World, name: str) -> Person:
    """A resident who pressed Start earlier (the bot may write to them)."""
    person = world.resident(name)
    world.emu.chat(person.id).started = True
    return person


def text(html: str) -> Payload:
    return Payload(contents=({"type": "text", "html": html},))


@contextlib.asynccontextmanager
async def replica_b(world: World) -> AsyncIterator[PorchApp]:
    """A second bot process on the world's database, taking the updates from now on (the
    load balancer sends the next ones to it); replica A keeps running beside it."""
    a = world.app
    assert a is not None and a.updater is not None
    await a.updater.stop()
    settings = world.settings().model_copy(update={"replica_id": "replica-b"})
    b = build_application(settings, clock=world.clock, budget_clock=world.monotonic)
    await b.initialize()
    assert b.post_init is not None and b.updater is not None
    await b.post_init(b)
    await b.updater.start_polling(poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES)
    await b.start()
    world.app = b
    try:
        yield b
    finally:
        world.app = a
        await b.updater.stop()
        await b.stop()
        assert b.post_stop is not None and b.post_shutdown is not None
        await b.post_stop(b)
        await b.shutdown()
        await b.post_shutdown(b)
        await a.updater.start_polling(poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES)


async def test_a_report_begun_on_one_replica_is_finished_on_another(world: World) -> None:
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")  # replica A now holds her step in memory
    async with replica_b(world):
        await alice.says("A <b>grey</b> van & two men checking doors")
        assert "Where was it?" in alice.last_message().text
        await alice.sends_report_anonymously()
        card = await world.officer_chat.next_message()
    assert "A <b>grey</b> van & two men checking doors" in (card.text or "")
    assert "Alice" not in (card.text or "")
    # Back on replica A (whose memory still had the report at its first step): the report
    # is over there too, so a new message is not taken for a description.
    await alice.says("thanks")
    assert alice.last_message().text == "Send this to officers as a tip?"  # a quick tip offer


async def test_two_replicas_share_a_broadcast_and_send_every_row_once_in_lane_order(
    world: World,
) -> None:
    residents = [started(world, f"R{i}") for i in range(200)]
    store = world.porch.store
    store_b = Store(world.database, world.clock)
    await store_b.open()
    replica = Replica(store_b, "replica-b", 30)
    assert world.app is not None
    drainer = Drainer(store_b, world.app.bot, replica=replica, concurrency=8)
    await drainer.start()
    try:
        for step in ("first", "second"):  # the leader queues a broadcast; B hears of it
            async with store.transaction() as tx:
                for person in residents:
                    await tx.outbox.enqueue(
                        NewDelivery(
                            kind="weekly",
                            chat_id=person.id,
                            payload=text(f"{step} for {person.id}"),
                            priority=PRIORITY_BULK,
                        )
                    )
            store_b.changed_elsewhere(frozenset({"outbox"}))  # what B's NOTIFY listener does
        await world.settle()
        await drainer.wait_idle()
    finally:
        await drainer.stop()
        await store_b.close()
    for person in residents:
        got = [m.text for m in world.emu.bot_messages(person.id)]
        assert got == [f"first for {person.id}", f"second for {person.id}"]
    async with store.read() as tx:
        rows = await tx.outbox.rows("weekly")
    assert {row.status for row in rows} == {"sent"}
    senders = await claimed_by(world.database)
    assert senders >= {"replica-b"} and len(senders) == 2, senders


async def claimed_by(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT DISTINCT claimed_by FROM outbox WHERE kind = 'weekly'")
    finally:
        await conn.close()
    return {row[0] for row in rows}


async def test_a_delivery_claimed_by_a_replica_that_died_is_sent_after_its_lease(
    world: World,
) -> None:
    bob = started(world, "Bob")
    store = world.porch.store
    async with store.transaction() as tx:
        await tx.outbox.enqueue(
            NewDelivery(kind="weekly", chat_id=bob.id, payload=text("Lock your shed"))
        )
    now = world.clock.now().timestamp()
    async with store.transaction() as tx:  # replica C claims it, and dies with it in hand
        (claimed,) = await tx.outbox.claim(
            Lease("replica-c", now + 30), now, 10, set(), skip_chat=None
        )
    world.porch.drainer.wake()
    await world.settle()
    assert world.emu.bot_messages(bob.id) == []  # C's lease still holds
    await world.advance(31)
    await world.settle()
    assert [m.text for m in world.emu.bot_messages(bob.id)] == ["Lock your shed"]
    async with store.read() as tx:
        row = await tx.outbox.get(claimed.id)
    assert row is not None and row.status == "sent"


async def test_an_update_waits_for_the_earlier_update_of_its_chat_on_another_replica(
    world: World,
) -> None:
    here = world.porch.replica
    now = world.clock.now().timestamp()
    async with world.porch.store.autocommit() as tx:  # replica C is handling update 10 of chat 5
        await tx.inbox.add(10, {"update_id": 10}, 5, Lease("replica-c", now + 30))
    waiting = asyncio.ensure_future(here.wait_turn(5, 11))
    await here.wait_turn(6, 12)  # another chat goes on at once
    await asyncio.sleep(0.05)
    assert not waiting.done()
    async with world.porch.store.autocommit() as tx:  # C is done: NOTIFY wakes replica A
        await tx.inbox.mark_handled([10])
    await asyncio.wait_for(waiting, 2)


async def test_the_updates_of_a_replica_that_died_are_handled_by_another(world: World) -> None:
    carol = world.resident("Carol")
    message = world.emu.user_sends(carol.user, text="/privacy")  # taken by replica A
    await world.settle()
    answer = world.emu.bot_messages(carol.id)[-1].text
    update = {
        "update_id": 900_000_001,
        "message": {
            "message_id": message.message_id + 1,
            "date": int(time.time()),
            "chat": {"id": carol.id, "type": "private", "first_name": "Carol"},
            "from": {"id": carol.id, "is_bot": False, "first_name": "Carol"},
            "text": "/privacy",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    }
    now = world.clock.now().timestamp()
    async with world.porch.store.autocommit() as tx:  # replica C stored it, then was killed
        await tx.inbox.add(900_000_001, update, carol.id, Lease("replica-c", now + 30))
    assert await world.porch.replica.take_over(now, own=False) == 0  # C's lease still holds
    await world.advance(31)
    assert await world.porch.replica.take_over(world.clock.now().timestamp(), own=False) == 1
    await world.settle()
    assert [m.text for m in world.emu.bot_messages(carol.id)][-2:] == [answer, answer]
    async with world.porch.store.read() as tx:
        assert not await tx.inbox.earlier_pending(carol.id, 900_000_002)


async def test_one_leader_at_a_time_and_another_when_it_dies(world: World) -> None:
    a = world.porch.replica
    assert a.leader and world.porch.alarms is not None
    store_b = Store(world.database, world.clock)
    await store_b.open()
    led = asyncio.Event()
    b = Replica(store_b, "replica-b", 30, tick=0.05)

    async def lead() -> None:
        led.set()

    b.on_lead = lead
    await b.start()
    try:
        await asyncio.sleep(0.2)
        assert not b.leader  # A holds the lock
        control = a._control
        assert control is not None
        pid = control.raw.get_server_pid()
        admin = await asyncpg.connect(world.database)
        try:  # A's connection dies (a killed process's socket closes the same way)
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await asyncio.wait_for(led.wait(), 10)
        assert b.leader
        await a._look()  # A notices at its next look: it no longer leads
        assert not a.leader
        await a._look()  # connected again, it cannot take the lock while B holds it
        assert not a.leader
    finally:
        await b.stop()
        await store_b.close()


async def test_a_lease_renewal_that_fails_costs_a_warning_not_the_lead(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The pool's statement failing (a restarting database, a full pool) is not the leader's
    own connection failing: the alarms keep ringing here, the leases are renewed next tick."""
    replica = world.porch.replica
    assert replica.leader

    @contextlib.asynccontextmanager
    async def out_of_reach() -> AsyncIterator[None]:
        raise ConnectionRefusedError("the pool is gone for a moment")
        yield

    with monkeypatch.context() as patch:
        patch.setattr(world.porch.store, "autocommit", out_of_reach)
        replica._renewed_at = 0.0
        await replica._look()
    assert replica.leader
    assert "leases not renewed yet" in caplog.text
    await replica._look()  # the pool is back: renewed
    assert replica._renewed_at > 0


async def test_an_officer_who_leaves_loses_the_right_to_reply_on_every_replica(
    world: World,
) -> None:
    """Replica A knows the sergeant as a member (cached for minutes); the membership change
    reaches replica B; the sergeant's next reply, on A, is refused all the same."""
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await officer.replies_to(card, text="We are looking into it.")  # A caches: a member
    before = len(alice.inbox)
    roster_a = world.porch.roster
    assert roster_a.cached(officer.user.id) is True
    async with replica_b(world):
        await officer.leaves()  # the chat_member update is handled by B
        await world.emu.wait_for(  # B's NOTIFY reaches A's listening connection
            lambda: roster_a.cached(officer.user.id) is None, what="A forgets the sergeant"
        )
    await officer.replies_to(card, text="Actually, tell me where you live")  # on A again
    assert len(alice.inbox) == before
    assert "Only members of the officer chat" in (world.officer_chat.last_message().text or "")
