"""The outbox payload's JSON: rows written by the version before the typed payload are read
unchanged (an upgrade with a backlog), rows written now keep that shape, and a row this
version cannot read fails with the reason instead of stopping every delivery."""

from __future__ import annotations

import json

import pytest

from storage import Store
from storage.payload import FollowUp, JoinThread, Payload, PayloadError, from_json, to_json
from tests.conftest import World
from tests.old_payloads import OLD_CARD, OLD_FOLLOWUP, old_relay
from tests.test_tip_line import file_tip


def test_a_card_written_by_the_previous_version_reads_as_a_typed_payload() -> None:
    card = from_json(OLD_CARD)
    link = JoinThread(1, "card")
    assert card.link == link and card.set_card
    assert [child.kind for child in card.then] == ["tip_thread", "tip_thread"]
    assert all(child.reply_to_parent and child.payload.link == link for child in card.then)
    assert card.then[0].chat_id is None and card.then[0].priority is None  # the parent's
    assert card.then[1].payload.contents[0]["items"][1] == {"type": "photo", "file_id": "P2"}


def test_a_relay_written_by_the_previous_version_keeps_its_outcomes() -> None:
    relay = from_json(old_relay(1, -1001, 77))
    assert relay.link == JoinThread(1, "relayed")
    (receipt,) = relay.then
    assert (receipt.kind, receipt.chat_id, receipt.lane, receipt.priority) == (
        "receipt",
        -1001,
        "react:tip:1",
        200,
    )
    (blocked,) = relay.on_unreachable
    (failed,) = relay.on_failed
    assert not blocked.append_reason and failed.append_reason
    assert failed.payload.reply_to == 77
    assert from_json(OLD_FOLLOWUP).reply_to_card == 1


@pytest.mark.parametrize("old", [OLD_CARD, old_relay(3, -5, 9), OLD_FOLLOWUP])
def test_payloads_are_written_in_the_shape_the_previous_version_reads(old: str) -> None:
    """A downgrade after an upgrade still finds rows it understands: the same JSON, but for
    `append_reason: false`, which is the default and left out."""

    def without_false_flags(value: object) -> object:
        if isinstance(value, dict):
            return {k: without_false_flags(v) for k, v in value.items() if v is not False}
        if isinstance(value, list):
            return [without_false_flags(v) for v in value]
        return value

    assert json.loads(to_json(from_json(old))) == without_false_flags(json.loads(old))


def test_a_payload_round_trips() -> None:
    payload = Payload(
        contents=({"type": "text", "html": "hi", "buttons": [["Open #1", "open:1"]]},),
        reply_to=4,
        link=JoinThread(2, "notice"),
        on_failed=(
            FollowUp(
                kind="officer_notice",
                payload=Payload(({"type": "text", "html": "x"},), reply_to_card=2),
                lane="tip:2",
                append_reason=True,
            ),
        ),
        then=(
            FollowUp(
                kind="receipt",
                payload=Payload(({"type": "reaction", "message_id": 4, "emoji": "👍"},)),
                dedupe_key="receipt:-100:4",
            ),
        ),
    )
    assert from_json(to_json(payload)) == payload


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        '{"contents": [{"html": "no type"}]}',
        '{"contents": [], "reply_to": "12"}',
        '{"contents": [], "reply_to": true}',
        '{"contents": [], "link": {"tip_id": 1}}',
        '{"contents": [], "then": [{"payload": {"contents": []}}]}',
        '{"contents": [], "set_card": 1}',
        '{"contents": [], "then": [{"kind": "r", "payload": {"contents": []}, "dedupe_key": 7}]}',
    ],
)
def test_a_malformed_payload_is_refused(text: str) -> None:
    with pytest.raises(PayloadError):
        from_json(text)


async def _insert(
    database: str, kind: str, chat_id: int, lane: str, payload: str, tip: int
) -> None:
    """A row as an earlier version wrote it, behind the bot's back (the bot is stopped)."""
    store = Store(database)
    await store.open()
    async with store.transaction() as tx:
        await tx.conn.execute(
            "INSERT INTO outbox (kind, chat_id, lane, priority, payload, tip_id, created_at,"
            " updated_at) VALUES (?, ?, ?, 20, ?, ?, '2026-11-25T12:00:00+00:00',"
            " '2026-11-25T12:00:00+00:00')",
            (kind, chat_id, lane, payload, tip),
        )
    await store.close()


async def test_a_backlog_written_before_an_upgrade_is_delivered_after_it(world: World) -> None:
    alice = world.resident("Alice")
    world.officer("Sergeant")
    card = await file_tip(world, alice)
    await world.stop_bot()
    # The previous version queued an officer's reply and died before sending it.
    relay = old_relay(1, world.officer_chat_id, card.message_id)
    await _insert(world.database, "relay", alice.id, f"chat:{alice.id}", relay, 1)
    await world.start_bot()
    await world.settle()

    relayed = alice.last_message()
    assert "Officer reply on tip #1:" in relayed.text and "We are on it" in relayed.text
    assert world.emu.reactions.get((world.officer_chat_id, card.message_id))  # then: receipt
    async with world.porch.store.read() as tx:
        link = await tx.tips.find_link(alice.id, relayed.message_id)
    assert link is not None and (link.tip_id, link.role) == (1, "relayed")


async def test_an_unreadable_row_fails_with_its_reason_and_the_rest_still_go(
    world: World,
) -> None:
    alice = world.resident("Alice")
    world.officer("Sergeant")
    await file_tip(world, alice)
    await world.stop_bot()
    await _insert(world.database, "relay", alice.id, f"chat:{alice.id}", '{"contents": 5}', 1)
    await world.start_bot()
    await world.settle()

    async with world.porch.store.read() as tx:
        (row,) = await tx.outbox.rows("relay")
    assert (row.status, row.last_error, row.payload) == ("failed", "unreadable payload", None)
    card = await file_tip(world, alice, "A second tip after the bad row")  # deliveries go on
    assert "A second tip after the bad row" in card.text
