"""Privacy: /deleteme erases a resident's data (their tips stay on record, detached), retention
detaches old closed tips and forgets old deliveries, and /privacy says both periods."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from storage.outbox import NewDelivery
from storage.payload import Payload
from storage.sql import Connection
from tests.conftest import World
from tests.telegram.drivers import Person
from tests.test_events import create_event
from tests.test_tip_line import file_tip

ERASE, KEEP = "🗑 Erase my data", "Keep my data"
STALE = "This is no longer available."
DAY = 86400


async def occurrences(world: World, user_id: int, words: list[str]) -> list[str]:
    """Every table.column of the database holding the Telegram id (an integer equal to it, or
    text containing it as a number of its own: JSON payloads, keys, lanes) or one of `words`
    (text, any case). Every table and column the database lists (SQLite: sqlite_master and
    PRAGMA table_info, each value's own type; PostgreSQL: information_schema, the column's)."""
    alone = re.compile(rf"(?<![0-9]){user_id}(?![0-9])")  # not a part of a longer number
    found = []
    async with world.porch.store.read() as tx:
        conn = tx.conn
        for table, column, integer, text in await _columns(conn):
            if integer is not None:
                query = f"SELECT count(*) FROM {table} WHERE {integer} AND {column} = ?"
                async with conn.execute(query, (user_id,)) as c:
                    row = await c.fetchone()
                if row is not None and row[0]:
                    found.append(f"{table}.{column} = {user_id}")
            for needle in [str(user_id), *words] if text is not None else []:
                query = f"SELECT {column} FROM {table} WHERE {text} AND lower({column}) LIKE ?"
                async with conn.execute(query, (f"%{needle.lower()}%",)) as c:
                    values = [row[0] for row in await c.fetchall()]
                if needle == str(user_id):
                    values = [value for value in values if alone.search(value)]
                found.extend(f"{table}.{column} LIKE {needle}: {v[:120]}" for v in values)
    return found


async def _columns(conn: Connection) -> list[tuple[str, str, str | None, str | None]]:
    """(table, column, "is an integer" condition, "is text" condition) of every column; None
    where the column's type rules it out."""
    if conn.dialect.name == "postgresql":
        async with conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ) as c:
            return [
                (
                    row[0],
                    row[1],
                    "TRUE" if row[2] == "bigint" else None,
                    "TRUE" if row[2] == "text" else None,
                )
                for row in await c.fetchall()
            ]
    async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as c:
        tables = [row[0] for row in await c.fetchall()]
    found = []
    for table in tables:
        async with conn.execute(f"PRAGMA table_info({table})") as c:
            for row in await c.fetchall():
                column = row[1]
                integer, text = f"typeof({column}) = 'integer'", f"typeof({column}) = 'text'"
                found.append((table, column, integer, text))
    return found


async def finished_before(world: World, *, days: int) -> int:
    """Outbox rows sent, failed or unreachable, last touched more than `days` days ago."""
    cutoff = (world.clock.now() - timedelta(days=days)).isoformat(timespec="microseconds")
    async with (
        world.porch.store.read() as tx,
        tx.conn.execute(
            "SELECT count(*) FROM outbox WHERE status != 'pending' AND updated_at < ?", (cutoff,)
        ) as c,
    ):
        row = await c.fetchone()
    return int(row[0]) if row else 0


async def opted_in(world: World, person: Person) -> None:
    await person.says("/start")
    await person.taps("Yes, keep me informed")


async def tip_row(world: World, tip_id: int) -> tuple[object, ...]:
    async with (
        world.porch.store.read() as tx,
        tx.conn.execute(
            "SELECT resident_id, reporter_name, detached FROM tips WHERE id = ?", (tip_id,)
        ) as c,
    ):
        row = await c.fetchone()
    assert row is not None
    return tuple(row)


async def test_deleteme_erases_every_trace_of_the_resident_and_keeps_the_tip(world: World) -> None:
    zeb = world.resident("Zebulon", last_name="Quixley", username="zq_erase")
    carol = world.resident("Carol")
    dana = world.officer("Dana")
    await opted_in(world, zeb)
    await opted_in(world, carol)
    await create_event(world, dana)
    await zeb.taps("Going")

    # A named tip with a photo and a map pin, an officer's reply, a follow-up, a rating.
    world.officer_chat.skip_existing()
    await zeb.says("/report")
    await zeb.taps("Suspicious vehicle")
    await zeb.sends_photo(caption="Grey van, engine running all night")
    await zeb.shares_location(40.4168, -3.7038)
    await zeb.taps("Skip")
    await zeb.taps("Share my name with officers")
    await zeb.taps("Send")
    card = await world.officer_chat.next_message()
    assert "Zebulon Quixley (@zq_erase)" in card.text
    await dana.replies_to(card, text="We are on our way")
    await zeb.replies_to(zeb.last_message(), text="It is back again tonight")
    assert "Added to your tip #1" in zeb.last_message().text
    await dana.taps("✅ Resolve", card)
    await zeb.taps("4 ★")
    await zeb.replies_to(zeb.last_message(), text="Quick and kind")
    # A report in progress, and an alert Telegram keeps refusing to deliver to them (pending).
    await zeb.says("/report")
    await zeb.taps("Vandalism")
    await zeb.says("Fresh graffiti on the school wall")
    assert "Where was it?" in zeb.last_message().text
    world.emu.fail_next(
        "sendMessage", chat_id=zeb.id, error_code=502, description="Bad Gateway", times=4
    )
    await dana.says("/broadcast")
    await dana.says("Lost dog near the park")
    await dana.taps("🚨 Alert")
    await dana.taps("Send")
    assert "Lost dog near the park" in carol.last_message().text
    async with world.porch.store.read() as tx:
        waiting = [r for r in await tx.outbox.rows("broadcast") if r.chat_id == zeb.id]
    assert waiting[-1].status == "pending"  # backed off after Telegram's 502s
    assert await occurrences(world, zeb.id, ["Zebulon", "Quixley", "zq_erase"])  # the scan sees

    await zeb.says("/deleteme")
    question = zeb.last_message()
    assert "Erase your data?" in question.text
    assert "your tips (1)" in question.text and "answers to events (1)" in question.text
    assert [label for label, _ in question.buttons] == [ERASE, KEEP]
    await zeb.taps(ERASE, question)
    assert question.text.startswith("✅ Your data has been erased.")
    assert question.buttons == []

    assert await occurrences(world, zeb.id, ["Zebulon", "Quixley", "zq_erase"]) == []
    # The alert that was waiting never goes out; everyone else's went.
    before = len(zeb.inbox)
    await world.advance(600)
    await world.settle()
    assert len(zeb.inbox) == before
    assert not any("Lost dog" in (m.text or "") for m in zeb.inbox)

    # Officers: the card lost the name and says why; the tip is on record with its history.
    assert "Zebulon" not in card.text and "a resident who erased their data" in card.text
    assert "Grey van, engine running all night" in card.text and "★4" in card.text
    world.officer_chat.skip_existing()
    await dana.says("/tip 1")
    repost = await world.officer_chat.next_message()
    (history,) = [m.text for m in world.officer_chat.thread_of(repost) if m.text]
    assert "a resident who erased their data" in repost.text and "Zebulon" not in repost.text
    assert "erased their data: the tip is no longer linked to them" in history
    await dana.replies_to(card, text="Any news?")
    assert "the resident erased their data" in world.officer_chat.last_message().text
    assert len(zeb.inbox) == before
    assert await occurrences(world, zeb.id, ["Zebulon", "Quixley", "zq_erase"]) == []

    # They may come back, as a new resident with no link to the old tip.
    await zeb.replies_to(zeb.inbox[-2], text="Hello again")  # a reply in the old thread
    assert zeb.last_message().text == "Send this to officers as a tip?"
    await zeb.says("/mytips")
    assert "You have not sent any tips yet" in zeb.last_message().text


async def test_a_report_in_progress_ends_with_the_erasure(world: World) -> None:
    zeb = world.resident("Zebulon")
    await zeb.says("/report")
    await zeb.taps("Vandalism")
    await zeb.says("/deleteme")
    await zeb.taps(ERASE)
    assert zeb.last_message().text.startswith("✅ Your data has been erased.")
    assert await occurrences(world, zeb.id, ["Zebulon"]) == []  # the conversation step too
    await zeb.says("Fresh graffiti on the school wall")  # no longer a report's description
    assert zeb.last_message().text == "Send this to officers as a tip?"


async def test_keep_changes_nothing_and_the_report_goes_on(world: World) -> None:
    zeb = world.resident("Zebulon")
    await opted_in(world, zeb)
    await zeb.says("/report")
    await zeb.taps("Vandalism")
    await zeb.says("/deleteme")
    question = zeb.last_message()
    _, erase = zeb.find_button(ERASE, question)
    await zeb.taps(KEEP, question)
    assert question.text == "Nothing was erased."
    await zeb.taps_data(question, erase)  # the answered question's Erase, pressed after all
    assert zeb.last_answer() == STALE
    await zeb.says("Fresh graffiti on the school wall")  # the report is where it was
    assert "Where was it?" in zeb.last_message().text
    async with world.porch.store.read() as tx:
        resident = await tx.residents.get(zeb.id)
    assert resident is not None and resident.subscriptions == {"safety", "events", "alerts"}


async def test_forged_and_stale_erase_presses_are_refused(world: World) -> None:
    zeb = world.resident("Zebulon")
    mallory = world.resident("Mallory")
    await opted_in(world, zeb)
    await opted_in(world, mallory)
    await zeb.says("/deleteme")
    question = zeb.last_message()
    _, erase = zeb.find_button(ERASE, question)
    # Someone else pressing Zebulon's button (forged into his chat), or the same data in their
    # own chat, erases nobody.
    await mallory.taps_data(question, erase)
    assert mallory.last_answer() == STALE
    await mallory.taps_data(mallory.last_message(), erase)
    assert mallory.last_answer() == STALE
    await zeb.taps_data(question, "erase:yes:99999")  # not the question asked
    assert zeb.last_answer() == STALE
    await zeb.taps_data(question, "erase:yes:../1")
    assert zeb.last_answer() == STALE
    async with world.porch.store.read() as tx:
        assert await tx.residents.get(zeb.id) is not None
        assert await tx.residents.get(mallory.id) is not None
    await zeb.taps(ERASE, question)
    assert question.text.startswith("✅ Your data has been erased.")
    await zeb.taps_data(question, erase)  # after the erasure: stale, and no one registered
    assert zeb.last_answer() == STALE
    assert await occurrences(world, zeb.id, ["Zebulon"]) == []


async def test_deleteme_twice_or_without_ever_using_the_bot(world: World) -> None:
    newcomer = world.resident("Nadia", language="es")
    await newcomer.says("/deleteme")
    assert newcomer.last_message().text == (
        "Porchlight no guarda nada sobre ti: no hay nada que borrar."
    )
    assert await occurrences(world, newcomer.id, ["Nadia"]) == []

    zeb = world.resident("Zebulon", language="es")
    await opted_in_es(zeb)
    await zeb.says("/deleteme")
    await zeb.taps("🗑 Borrar mis datos")
    assert zeb.last_message().text.startswith("✅ Tus datos se han borrado.")
    await zeb.says("/deleteme")
    assert "no hay nada que borrar" in zeb.last_message().text
    assert await occurrences(world, zeb.id, ["Zebulon"]) == []


async def opted_in_es(person: Person) -> None:
    await person.says("/start")
    await person.taps("Sí, mantenme informado")


async def test_erasure_does_not_lift_a_block(world: World) -> None:
    zeb = world.resident("Zebulon")
    dana = world.officer("Dana")
    await file_tip(world, zeb)
    await dana.says("/block #1 threats")
    await zeb.says("/deleteme")
    await zeb.taps(ERASE)
    assert await occurrences(world, zeb.id, ["Zebulon"]) == []  # the block is a keyed hash

    await zeb.says("/report")  # the same account, back: blocked again
    assert "not accepting messages from you" in zeb.last_message().text
    await dana.says("/unblock #1")  # by the tip the block was made from
    assert "can reach officers again" in world.officer_chat.last_message().text
    await zeb.says("/report")
    assert "What is it about?" in zeb.last_message().text


async def test_retention_detaches_old_closed_tips_and_forgets_old_deliveries(
    world: World,
) -> None:
    alice = world.resident("Alice", username="alice_r")
    dana = world.officer("Dana")
    old = await file_tip(world, alice, anonymous=False)
    await dana.taps("✅ Resolve", old)
    spam = await file_tip(world, alice, "Buy cheap watches", category="Other")
    await dana.taps("🚫 Spam", spam)
    await world.advance(2 * DAY)
    recent = await file_tip(world, alice, "Broken street light on Oak Ave")
    await dana.taps("✅ Resolve", recent)
    store = world.porch.store
    async with store.transaction() as tx:  # a delivery still waiting, far in the future
        row = await tx.outbox.enqueue(
            NewDelivery(
                kind="status",
                chat_id=alice.id,
                lane="waiting",  # not in Alice's lane, which it would hold up
                payload=Payload(({"type": "text", "html": "still waiting"},)),
            )
        )
        assert row is not None
        far = (world.clock.now() + timedelta(days=800)).timestamp()
        await tx.outbox.mark_retry(row, far, "Bad Gateway")

    await world.advance(364 * DAY)  # the first two closed 366 days ago, the last 364
    assert await finished_before(world, days=30) > 0
    await world.ring_alarms()
    assert await tip_row(world, 1) == (None, None, "retention")
    assert await tip_row(world, 2) == (None, None, "retention")
    assert await tip_row(world, 3) == (alice.id, None, None)

    assert await finished_before(world, days=30) == 0  # sent rows of 31 days and more: gone
    async with store.read() as tx:
        kept = await tx.outbox.get(row)
    assert kept is not None and kept.status == "pending"  # a pending one stays, however old

    before = len(alice.inbox)
    await dana.replies_to(old, text="Following up on this")
    assert "past the retention period" in world.officer_chat.last_message().text
    assert len(alice.inbox) == before
    await dana.replies_to(recent, text="The light is fixed")
    assert "The light is fixed" in alice.last_message().text
    await alice.says("/mytips")
    assert "#3" in alice.last_message().text and "#1" not in alice.last_message().text
    await dana.says("/tip 1")
    assert "detached it from its resident (365 days" in world.officer_chat.last_message().text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("90 days after a tip is resolved", "deleted after 30 days", "/deleteme")),
        ("es", ("90 días después de resolverse", "se borra a los 30 días", "/deleteme")),
    ],
)
async def test_privacy_states_the_configured_periods(
    world: World, language: str, words: tuple[str, ...]
) -> None:
    world.overrides["retention_days"] = 90
    await world.restart_bot()
    person = world.resident("Ana", language=language)
    await person.says("/privacy")
    text = person.last_message().text
    assert all(word in text for word in words), text
    await person.says("/help")
    assert "/deleteme" in person.last_message().text


def test_retention_days_must_be_at_least_one() -> None:
    required = {"bot_token": "123456:ABCdefgh", "officer_chat_id": -100, "_env_file": None}
    with pytest.raises(ConfigError) as error:
        load_settings(**required, retention_days=0)
    assert "RETENTION_DAYS" in str(error.value)
    assert load_settings(**required).retention_days == 365
