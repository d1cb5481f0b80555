"""No update lost to a crash: an update is stored before Telegram is told it arrived, and
handled after a restart if the process died first — once, however often it is delivered."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import Update

from bot import inbox
from storage import Store
from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator
from tests.telegram.process import BotProcess
from tests.test_tip_line import file_tip

REPLY = "Thanks, a patrol is on the way."


def replies_received(resident: Any) -> list[str]:
    return [m.text for m in resident.inbox if REPLY in (m.text or "")]


def helps_received(resident: Any) -> list[str]:
    return [m.text for m in resident.inbox if "What you can do" in (m.text or "")]


async def confirm(emu: BotApiEmulator, update_id: int) -> None:
    """What the crashed process had done: told Telegram (the next offset) it had the update."""
    url = f"{emu.url}/bot{emu.token}/getUpdates"
    async with aiohttp.ClientSession() as http:
        params = {"offset": str(update_id + 1), "timeout": "0"}
        async with http.get(url, params=params) as response:
            assert response.status == 200


async def store_in_inbox(database: str, update: dict[str, Any]) -> None:
    store = Store(database)
    await store.open()
    async with store.transaction() as tx:
        assert await tx.inbox.add(update["update_id"], update)
    await store.close()


async def pending_in_inbox(world: World) -> list[int]:
    async with world.porch.store.read() as tx:
        return [entry.update_id for entry in await tx.inbox.pending()]


async def test_the_inbox_keeps_each_update_once_until_it_was_handled(database: str) -> None:
    store = Store(database)
    await store.open()
    async with store.transaction() as tx:
        assert await tx.inbox.add(8, {"update_id": 8})
        assert await tx.inbox.add(7, {"update_id": 7})
        assert not await tx.inbox.add(8, {"update_id": 8})
        assert [e.update_id for e in await tx.inbox.pending()] == [8, 7], "in arrival order"
        await tx.inbox.mark_handled([7])
        assert [e.payload for e in await tx.inbox.pending()] == [{"update_id": 8}]
        assert not await tx.inbox.add(7, {"update_id": 7}), "a handled id is remembered"
        assert await tx.inbox.forget_handled(store.clock.now()) == 1
        assert await tx.inbox.add(7, {"update_id": 7})
    await store.close()


async def test_an_update_stored_but_not_handled_before_a_crash_is_handled_after_restart(
    world: World,
) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await world.stop_bot(kill_deliveries=True)

    # While the bot was down, this is what a crash left: stored, confirmed, never handled.
    await officer.replies_to(card, text=REPLY)
    update = world.emu.updates_log[-1]
    await store_in_inbox(world.database, update)
    await confirm(world.emu, update["update_id"])

    await world.start_bot()
    await world.settle()
    assert len(replies_received(alice)) == 1
    assert await pending_in_inbox(world) == []


async def test_an_update_replayed_and_delivered_again_by_telegram_is_handled_once(
    world: World,
) -> None:
    """/help is answered every time it is handled: two answers would mean two handlings."""
    alice = world.resident("Alice")
    await world.stop_bot()

    # Stored, not handled, and not confirmed either: Telegram delivers it again after restart.
    await alice.says("/help")
    update = world.emu.updates_log[-1]
    await store_in_inbox(world.database, update)

    with world.emu.hold("sendMessage", chat_id=alice.id) as answer:
        app = await world.start_bot()
        await answer.wait_for_request()  # the replayed update is being handled ...
        await world.emu.wait_for(world.emu.all_updates_confirmed)  # ... and came again
    await world.settle()
    assert len(helps_received(alice)) == 1

    # Delivered once more after it was handled (a crash before the next confirmation).
    await app.update_queue.put(Update.de_json(update, app.bot))
    await world.settle()
    assert len(helps_received(alice)) == 1
    assert await pending_in_inbox(world) == []


async def test_an_officer_reply_survives_a_kill_9_after_telegram_was_told_it_arrived(
    world: World, tmp_path: Path
) -> None:
    alice = world.resident("Alice")
    officer = world.officer("Sergeant")
    card = await file_tip(world, alice)
    await world.stop_bot()
    emu = world.emu
    started = time.monotonic()

    def porchlight() -> BotProcess:
        return BotProcess(
            emu, database=world.database, officer_chat_id=world.officer_chat_id, workdir=tmp_path
        )

    membership = emu.hold("getChatMember")  # the reply's handler must ask Telegram first
    first = await porchlight().start()
    await officer.replies_to(card, text=REPLY)
    await membership.wait_for_request()
    await emu.wait_for(emu.all_updates_confirmed, what="the next getUpdates offset")
    first.kill()
    await emu.wait_for(lambda: membership.abandoned == 1, what="the killed handler's request")

    second = await porchlight().start()
    try:
        membership.release()
        await emu.wait_for(lambda: bool(replies_received(alice)), timeout=10)
        assert await second.stop() == 0  # graceful: whatever was in flight finishes
    finally:
        second.kill()
    assert len(replies_received(alice)) == 1, second.log()
    assert "1 update(s) received before the last stop" in second.log()
    assert time.monotonic() - started < 10


async def test_a_send_handled_again_after_a_crash_files_once_and_says_nothing_went_wrong(
    world: World,
) -> None:
    """A crash after the receipt was shown but before the update was marked handled: the
    restart handles Send again. The tip is the same one, and the receipt Telegram already shows
    ("message is not modified") is not an error to tell the resident about."""
    alice = world.resident("Alice")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says("White van on Elm St")
    await alice.taps("Skip")
    await alice.taps("Skip")
    await alice.taps("Anonymous (recommended)")
    async with (
        world.porch.store.read() as tx,
        tx.conn.execute("SELECT kind, key, data FROM ptb_persistence") as cursor,
    ):
        session_before_send = list(await cursor.fetchall())
    await alice.taps("Send")
    send = world.emu.updates_log[-1]
    assert "callback_query" in send
    world.replayed_presses.add(send["callback_query"]["id"])
    card = await world.officer_chat.next_message()
    receipt = alice.last_message().text
    assert "your tip is #1" in receipt
    await world.stop_bot(kill_deliveries=True)

    # What the crash left: the tip and the receipt, but the session and the inbox as before.
    store = Store(world.database)
    await store.open()
    async with store.transaction() as tx:
        for kind, key, data in session_before_send:
            await tx.conn.execute(
                "INSERT INTO ptb_persistence (kind, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data",
                (kind, key, data),
            )
        await tx.conn.execute(
            "UPDATE inbox SET payload = ?, handled_at = NULL WHERE update_id = ?",
            (json.dumps(send), send["update_id"]),
        )
    await store.close()

    await world.start_bot()
    await world.settle()
    assert alice.last_message().text == receipt
    assert not any("went wrong" in (m.text or "") for m in alice.inbox)
    assert [m for m in world.officer_chat.messages() if m.text and "#2" in m.text] == []
    assert card.text and "#1" in card.text
    assert await pending_in_inbox(world) == []


async def stored_payloads(world: World) -> dict[int, Any]:
    async with world.porch.store.read() as tx:
        return {entry.update_id: entry.payload for entry in await tx.inbox.pending()}


async def test_updates_polled_together_are_all_stored_as_telegram_sent_them_then_each_handled_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty residents write while the bot restarts: one getUpdates brings them all, stored in
    one transaction (bot/inbox.py). Before the first answer goes out, every one is in the inbox
    as Telegram sent it; each is answered once, and the inbox is empty afterwards."""
    batches: list[int] = []
    run = Store.run

    async def counted(store: Store, body: Any) -> Any:
        if getattr(body, "func", None) is inbox._add_received:
            batches.append(len(body.args[0]))
        return await run(store, body)

    monkeypatch.setattr(Store, "run", counted)
    residents = [world.resident(f"Resident{i}") for i in range(30)]
    await world.stop_bot()
    for resident in residents:
        await resident.says("/help")
    sent = {update["update_id"]: update for update in world.emu.updates_log[-30:]}

    with world.emu.hold("sendMessage") as answers:
        await world.start_bot()
        await answers.wait_for_request()
        stored = await stored_payloads(world)
    await world.settle()

    if world.porch.store.shared:  # replicas store each update on its own, PTB's encoding
        assert set(stored) <= set(sent)
    else:
        assert stored == sent

    assert [len(helps_received(r)) for r in residents] == [1] * 30
    assert await pending_in_inbox(world) == []
    # Several replicas store each update with its chat and lease, one by one (PostgreSQL).
    assert batches == ([] if world.porch.store.shared else [30])


async def test_a_batch_stored_twice_keeps_each_update_once(database: str) -> None:
    store = Store(database)
    await store.open()
    first = [(11, json.dumps({"update_id": 11})), (12, json.dumps({"update_id": 12}))]
    async with store.transaction() as tx:
        assert await tx.inbox.add_received(first) == {11, 12}
        await tx.inbox.mark_handled([11])
        again = [*first, (13, json.dumps({"update_id": 13}))]
        assert await tx.inbox.add_received(again) == {13}, "pending or handled: not new"
        assert [e.update_id for e in await tx.inbox.pending()] == [12, 13]
    await store.close()


async def test_a_report_step_commits_the_draft_with_the_update_marked_handled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash keeps both or neither: the draft and conversation step a resident's /report
    changed are written in the very transaction that marks the update handled (a crash before
    it handles the update again), never in a transaction of their own."""
    transactions: list[tuple[str, tuple[Any, ...]]] = []
    run = Store.run

    async def spied(store: Store, body: Any) -> Any:
        function = getattr(body, "func", body)
        transactions.append((function.__name__, getattr(body, "args", ())))
        return await run(store, body)

    alice = world.resident("Alice")
    monkeypatch.setattr(Store, "run", spied)
    await alice.says("/report")
    await world.settle()

    marks = [args for name, args in transactions if name == "_mark_handled"]
    rode_along = [key for done, _, changes in marks for (_, key), _ in changes]
    assert str(alice.id) in rode_along, "the draft rode with the mark"
    assert any(str(alice.id) in key and "[" in key for key in rode_along), "and the step"
    assert "write_changes" not in [name for name, _ in transactions]
