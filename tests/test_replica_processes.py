"""Porchlight as a deployment runs replicas: `porchlight run` children in webhook mode behind a
load balancer, Telegram posting every update to the balancer's URL. Today with ONE child (the
replica machinery of issue 11 — per-chat order and outbox claims in the database, one scheduler
leader — is what makes three safe); the harness takes any number.

Residents and officers act through the emulator; a child is a real process, so `settle` reads
the shared database: Telegram has delivered every update, the inbox holds none unhandled, the
outbox none pending, and no Bot API call came for a moment. What people see is read from their
chats.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from bot import broadcasts
from storage import Store, postgres
from tests.clock import MovableClock
from tests.conftest import seed_subscribers
from tests.telegram.drivers import GroupChat, Officer, Person
from tests.telegram.emulator import BotApiEmulator, EmuMessage, User
from tests.telegram.replicas import WEBHOOK_SECRET, Replicas

QUIET = 0.05  # seconds without a Bot API call, on top of an idle inbox and outbox
SETTLE_TIMEOUT = 20.0
REPLY = "Thanks, a patrol is on the way <now> & then."


class Deployment:
    """The emulator, the officers' chat and the replicas, with drivers whose settle fits them."""

    def __init__(self, emu: BotApiEmulator, replicas: Replicas, store: Store) -> None:
        self.emu = emu
        self.replicas = replicas
        self.store = store  # the replicas' database, read only
        self.officer_chat = GroupChat(emu, replicas.officer_chat_id)

    async def _idle(self) -> bool:
        async with self.store.read() as tx:
            unhandled = await tx.inbox.pending()
            outbox = await tx.outbox.counts()
        return not unhandled and not outbox.get("pending")

    async def settle(self) -> None:
        emu = self.emu
        deadline = time.monotonic() + SETTLE_TIMEOUT
        seen, quiet_since = -1, time.monotonic()
        while True:
            if len(emu.calls) != seen:
                seen, quiet_since = len(emu.calls), time.monotonic()
            elif (
                time.monotonic() - quiet_since >= QUIET
                and emu.all_updates_confirmed()
                and await self._idle()
            ):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replicas never went idle\n{emu.dump()}")
            await asyncio.sleep(0.01)

    def resident(self, name: str) -> Person:
        return Person(self.emu, self.emu.add_user(name), self.settle)

    def officer(self, name: str) -> Officer:
        user = self.emu.add_user(name)
        self.emu.set_member(self.replicas.officer_chat_id, user.id, "member")
        return Officer(self.emu, user, self.replicas.officer_chat_id, self.settle)

    def cards_about(self, description: str) -> list[EmuMessage]:
        return [m for m in self.officer_chat.bot_messages() if description in (m.text or "")]


@pytest_asyncio.fixture
async def deployment(
    emulator: BotApiEmulator, database: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    # Telegram backs off for seconds between attempts; stories wait tens of milliseconds.
    emulator.webhook_retry_first, emulator.webhook_retry_max = 0.05, 0.4
    officers = emulator.add_group("Officers", type="supergroup", members={})
    replicas = Replicas(emulator, 1, database=database, officer_chat_id=officers, workdir=tmp_path)
    await replicas.start()
    store = Store(database)
    await store.open()
    try:
        yield Deployment(emulator, replicas, store)
    finally:
        await store.close()
        codes = await replicas.stop()
        assert codes == [0] * len(codes), replicas.logs()


async def up_to_send(resident: Person, description: str) -> None:
    await resident.says("/report")
    await resident.taps("Suspicious vehicle")
    await resident.says(description)
    await resident.taps("Skip")  # where
    await resident.taps("Skip")  # more media
    await resident.taps("Anonymous (recommended)")


def press_send(resident: Person) -> str:
    """Tap Send without waiting for the bot (it may be down): the callback query's id."""
    summary, data = resident.find_button("Send")
    return resident.emu.user_taps(resident.user, summary.message_id, resident.id, data)


def receipts(resident: Person) -> list[str]:
    return [m.text for m in resident.inbox if "your tip is #" in (m.text or "")]


async def test_tips_reach_officers_through_the_balancer_and_a_reply_comes_back(
    deployment: Deployment,
) -> None:
    emu, replicas = deployment.emu, deployment.replicas
    alice, bob = deployment.resident("Alice"), deployment.resident("Bob")
    officer = deployment.officer("Sergeant")
    vans = {alice: "White van <b>idling</b> & Elm St", bob: "Grey car by the school gate"}
    for resident, description in vans.items():
        await up_to_send(resident, description)
        await resident.taps("Send")
    [card] = deployment.cards_about("White van <b>idling</b> & Elm St")
    assert len(deployment.cards_about("Grey car by the school gate")) == 1
    assert "Alice" not in (card.text or "")

    await officer.replies_to(card, text=REPLY)
    [relayed] = [m for m in alice.inbox if "Officer reply on tip #" in (m.text or "")]
    assert REPLY in (relayed.text or "") and "Sergeant" not in (relayed.text or "")
    assert not any("Officer reply" in (m.text or "") for m in bob.inbox)

    # Every update went Telegram → balancer → the child, each delivered at its first attempt.
    assert emu.webhook_attempts and all(a.ok for a in emu.webhook_attempts)
    assert len(emu.webhook_attempts) == len(emu.updates_log)
    assert sum(replicas.balancer.forwarded.values()) == len(emu.updates_log)
    assert emu.webhook_url == replicas.webhook_url and emu.webhook_secret == WEBHOOK_SECRET

    # Whoever finds the public URL cannot post an "officer" update without the secret.
    forged = {"update_id": 1, **{k: v for k, v in emu.updates_log[-1].items() if k != "update_id"}}
    async with (
        aiohttp.ClientSession() as http,
        http.post(replicas.webhook_url, json=forged) as response,
    ):
        assert response.status == 403


async def test_a_replica_killed_with_work_in_hand_loses_nothing_and_doubles_nothing(
    deployment: Deployment,
) -> None:
    """kill -9 while a tip's card is on its way, tips filed while the bot is down: after the
    restart every tip reaches the officers once, Telegram having kept and redelivered what the
    balancer could not pass on."""
    emu, replicas = deployment.emu, deployment.replicas
    officer_chat = replicas.officer_chat_id
    alice, bob, carol = (deployment.resident(n) for n in ("Alice", "Bob", "Carol"))
    officer = deployment.officer("Sergeant")
    said = {
        alice: "Ladder against No. 12",
        bob: "Broken streetlight on Oak",
        carol: "Van, no plates",
    }
    for resident, description in said.items():
        await up_to_send(resident, description)

    cards = emu.hold("sendMessage", chat_id=officer_chat)
    press_send(alice)
    await cards.wait_for_request(timeout=15)  # Alice's tip is committed, its card on its way
    replicas.kill(0)
    await emu.wait_for(lambda: cards.abandoned == 1, what="the killed child's card request")
    cards.release()

    presses = [press_send(bob), press_send(carol)]
    await emu.wait_for(
        lambda: emu.pending_update_count() == 2 and emu.webhook_attempts[-1].ok is False
    )
    assert emu.webhook_last_error_message == "Wrong response from the webhook: 502 Bad Gateway"

    await replicas.restart(0)
    await deployment.settle()
    for resident, description in said.items():
        assert len(deployment.cards_about(description)) == 1, replicas.logs()
        assert len(receipts(resident)) == 1
    refs = sorted(receipt.split("#")[1].split(".")[0] for r in said for receipt in receipts(r))
    assert refs == ["1", "2", "3"]
    # Bob's and Carol's presses reached the bot only after the restart, through Telegram.
    press_updates = [
        u["update_id"] for u in emu.updates_log if u.get("callback_query", {}).get("id") in presses
    ]
    for update_id in press_updates:
        attempts = emu.webhook_deliveries(update_id)
        assert not attempts[0].ok and attempts[-1].ok and sum(a.ok for a in attempts) == 1
    assert emu.pending_update_count() == 0

    [card] = deployment.cards_about("Broken streetlight on Oak")
    await officer.replies_to(card, text=REPLY)
    assert any(REPLY in (m.text or "") for m in bob.inbox)
    assert not any(REPLY in (m.text or "") for m in (*alice.inbox, *carol.inbox))


# Three replicas on one PostgreSQL, the leader killed halfway through the weekly broadcast. ----

LEADER_LOCK_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = $1 AND objid = $2"
)
WEEKLY_HEADER = "Safety tip of the week"
SUBSCRIBERS = 1000
TIPPERS = 200


async def seeded(emu: BotApiEmulator, database: str) -> list[int]:
    """1,000 residents who pressed Start and take the weekly tip, and the library as loaded a
    week ago, so this week's broadcast (a minute ago, see `weekly_cron`) is owed at start."""
    store = Store(database, MovableClock(datetime.now(UTC) - timedelta(days=7)))
    await store.open()
    try:
        await broadcasts.load_library(store)
        users = [
            user.id for user in await seed_subscribers(emu, store, SUBSCRIBERS, name="Neighbour")
        ]
    finally:
        await store.close()
    return users


def weekly_cron() -> str:
    """This week's weekly broadcast a minute ago (UTC): owed, well within BROADCAST_GRACE."""
    fire = datetime.now(UTC) - timedelta(minutes=1)
    return f"{fire.minute} {fire.hour} * * {fire.strftime('%a').upper()}"


def leader_of(replicas: Replicas) -> int | None:
    """The live child whose log says it leads (and has not said it stopped)."""
    for index, process in enumerate(replicas.processes):
        if process.popen is None or process.popen.poll() is not None:
            continue
        log = process.log(10_000)
        if log.rfind(" leads:") > log.rfind("stops leading"):
            return index
    return None


async def leader_lock_held(database: str) -> bool:
    key = postgres.LEADER_LOCK
    conn = await asyncpg.connect(database)
    try:
        return bool(await conn.fetchval(LEADER_LOCK_HELD, key >> 32, key & 0xFFFFFFFF))
    finally:
        await conn.close()


async def quick_tip(emu: BotApiEmulator, user: User, text: str) -> None:
    """A resident writes, accepts the quick-tip offer and taps Send, as fast as the bot lets."""
    said = emu.user_sends(user, text=text)

    def button(data: str) -> EmuMessage | None:
        for message in reversed(emu.bot_messages(user.id)):
            if any(b[1] == data for b in message.buttons):
                return message
        return None

    quick = f"quick:{said.message_id}"
    await emu.wait_for(lambda: button(quick) is not None, timeout=30, what=f"{text}: offer")
    offer = button(quick)
    assert offer is not None
    emu.user_taps(user, offer.message_id, user.id, quick)
    await emu.wait_for(lambda: button("send:yes") is not None, timeout=30, what=f"{text}: Send")
    summary = button("send:yes")
    assert summary is not None
    emu.user_taps(user, summary.message_id, user.id, "send:yes")


@pytest.mark.postgresql_only(reason="replicas share a PostgreSQL database")
async def test_three_replicas_lose_their_leader_halfway_through_a_broadcast(
    emulator: BotApiEmulator, database: str, tmp_path: Path
) -> None:
    """Three `porchlight run` behind the balancer on one PostgreSQL: the weekly tip to 1,000
    residents, the leader killed (-9) halfway; then 200 tips filed across the replicas and
    answered. Every resident reached once (twice only for what the dead one had in flight),
    one weekly broadcast, a new leader within seconds, every tip exactly once."""
    emu = emulator
    emu.webhook_retry_first, emu.webhook_retry_max = 0.05, 0.4
    emu.webhook_order = "any"  # updates of one chat may reach two replicas at once
    residents = await seeded(emu, database)
    officers = emu.add_group("Officers", type="supergroup", members={})
    env = {
        "SAFETY_BROADCAST_CRON": weekly_cron(),
        "LEASE_SECONDS": "10",  # a dead replica's claims are taken over 10 s on
        "RATE_LIMIT_PER_SECOND": "100",  # shared by the three: the broadcast lasts 10 s
        "RATE_LIMIT_GROUP_PER_MINUTE": "0",  # 200 cards in a minute (the surge has its story)
    }
    replicas = Replicas(
        emu, 3, database=database, officer_chat_id=officers, workdir=tmp_path, env=env
    )
    await replicas.start()
    store = Store(database)
    await store.open()
    deployment = Deployment(emu, replicas, store)
    try:

        def weekly_sent() -> int:
            return sum(
                1
                for call in emu.calls
                if call.method == "sendMessage" and call.ok and WEEKLY_HEADER in str(call.params)
            )

        await emu.wait_for(lambda: leader_of(replicas) is not None, timeout=30, what="a leader")
        first = leader_of(replicas)
        assert first is not None
        await emu.wait_for(lambda: weekly_sent() >= SUBSCRIBERS // 2, timeout=60, what="halfway")
        replicas.kill(first)
        killed_at = time.monotonic()
        while not await leader_lock_held(database):
            assert time.monotonic() - killed_at < 10, "no new leader within 10 s"
            await asyncio.sleep(0.05)
        took_over = time.monotonic() - killed_at
        await emu.wait_for(
            lambda: leader_of(replicas) not in (None, first), timeout=10, what="the new leader"
        )
        await deployment.settle()

        weekly = Counter(
            int(call.chat_id)
            for call in emu.calls
            if call.method == "sendMessage" and call.ok and WEEKLY_HEADER in str(call.params)
        )
        assert set(weekly) == set(residents), "every resident reached"
        assert all(not call.error_code for call in emu.calls if call.method == "sendMessage")
        duplicates = sum(count - 1 for count in weekly.values())
        assert duplicates <= 64, f"{duplicates} sent twice: more than one replica's sends in flight"

        # The killed replica comes back: its catch-up finds this week's broadcast done.
        await replicas.restart(first)
        tippers = residents[:TIPPERS]
        users = {user.id: user for user in emu.users.values() if user.id in set(tippers)}
        for start in range(0, TIPPERS, 50):
            await asyncio.gather(
                *(
                    quick_tip(emu, users[uid], f"Tip {uid}: someone <b>checking</b> doors & gates")
                    for uid in tippers[start : start + 50]
                )
            )
        await deployment.settle()
        officer_texts = [m.text or "" for m in deployment.officer_chat.bot_messages()]
        shown = {uid: sum(f"Tip {uid}:" in text for text in officer_texts) for uid in tippers}
        missing = [uid for uid, n in shown.items() if n != 1]
        assert not missing, f"tips shown other than once: {missing}\n{replicas.logs()}"
        assert all("<b>checking</b> doors & gates" in t for t in officer_texts if "Tip " in t)

        officer = deployment.officer("Sergeant")
        answered = tippers[:20]
        for uid in answered:
            [card] = deployment.cards_about(f"Tip {uid}:")
            await officer.replies_to(card, text=f"On our way to {uid}")
        for uid in tippers:
            replies = [m for m in emu.bot_messages(uid) if "On our way to" in (m.text or "")]
            assert [(m.text or "").count(f"On our way to {uid}") for m in replies] == (
                [1] if uid in answered else []
            )

        conn = await asyncpg.connect(database)
        try:
            weeklies = await conn.fetchval("SELECT count(*) FROM broadcasts WHERE kind = 'weekly'")
        finally:
            await conn.close()
        assert weeklies == 1, "one weekly broadcast across the hand-over and the restart"
        print(f"new leader {took_over:.2f} s after the kill; {duplicates} sent twice")
    finally:
        await store.close()
        await replicas.stop()
