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
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from storage import Store
from tests.telegram.drivers import GroupChat, Officer, Person
from tests.telegram.emulator import BotApiEmulator, EmuMessage
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
