"""Cards in a surge: when tips queue for a busy officer chat, one list instead of many cards.

The officer chat is a group, so Telegram lets the bot post about 20 messages a minute there, and
the flood budget (bot.budget) keeps the last few of every minute for officers' own commands and
urgent tips. When tips come faster than that, full cards would trickle in one every few seconds
for many minutes. Instead, while the budget is spent, ordinary cards wait in the outbox; when
there is room again and more cards wait than fit, they go out as one list — reference, category
and first words of each, with an Open button that posts the full card at once (as an answer to
an officer, ahead of every queued card). Urgent tips are never listed and never held back: their
cards always go first, in full. In a forum a card opens its tip's topic first, which costs a
message too (the topic's service message): such a card counts twice, and a listed tip gets its
topic when an officer opens it.
"""

from __future__ import annotations

import logging
import math

from bot import callbacks, content
from bot.budget import TelegramBudget
from bot.categories import CATEGORIES
from bot.forum import has_topic_step
from bot.i18n import translate
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.models import OutboxRow, Tip
from storage.outbox import PRIORITY_TIP, PRIORITY_URGENT, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

# Of a forum's minute, ordinary cards leave this much more to urgent ones. In a plain chat the
# budget (bot/budget.py) keeps 2 messages of every minute that ordinary cards may not use and
# urgent cards may: two urgent tips. In a forum an urgent tip is two messages (its topic, then
# its card), so ordinary cards leave 2 more: still two urgent tips a minute.
FORUM_SPARE = 2
MAX_PER_LIST = 30  # lines of one list: well inside 4,096 characters and 100 buttons
FIRST_WORDS = 60


def waits_for_room(row: OutboxRow) -> bool:
    """A full card of an ordinary tip: the kind of message a surge turns into a list line."""
    return row.kind == "tip_card" and row.priority > PRIORITY_URGENT


def cost(row: OutboxRow) -> int:
    """Messages a card spends of the group's budget: a forum topic's creation is one more."""
    payload = row.payload
    left = payload.contents[len(row.message_ids) :] if payload is not None else ()
    return 1 + int(has_topic_step(left))


def list_delivery(tips: list[Tip], officers: OfficerChat) -> NewDelivery:
    """One message listing waiting tips, each with a button that opens its full card."""
    lang = officers.language
    lines = [translate(lang, "surge.title", count=len(tips))]
    buttons: list[tuple[str, str]] = []
    for tip in tips:
        category = translate(lang, CATEGORIES.get(tip.category, CATEGORIES["other"]))
        words = content.first_words(tip.description, FIRST_WORDS)  # translate() escapes it
        lines.append(translate(lang, "surge.line", ref=tip.id, category=category, words=words))
        buttons.append(
            (translate(lang, "surge.open", ref=tip.id), callbacks.OPEN.build(callbacks.Ref(tip.id)))
        )
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return NewDelivery(
        kind="tip_list",
        chat_id=officers.chat_id,
        lane=f"tiplist:{officers.chat_id}",
        priority=PRIORITY_TIP,
        payload=Payload((content.text("\n".join(lines), rows),)),
    )


class SurgeGate:
    """Consulted by the drainer before it sends ordinary cards to a group."""

    def __init__(self, store: Store, budget: TelegramBudget, officers: OfficerChat) -> None:
        self.store = store
        self.budget = budget
        self.officers = officers
        self._held: dict[int, set[str]] = {}
        self._need: dict[int, int] = {}  # room a held chat needs for one card (its topic too)
        # Forum cards admitted and still in flight, by lane: (chat, messages). Between opening
        # the topic and posting the card such a row commits (waking the drainer) before it has
        # spent the budget: what it will spend is kept aside until it is done.
        self._owed: dict[str, tuple[int, int]] = {}

    def _room(self, chat: int, busy: set[str]) -> int:
        owed = sum(n for lane, (owner, n) in self._owed.items() if owner == chat and lane in busy)
        return self.budget.room(chat, PRIORITY_TIP) - owed

    def held_lanes(self, busy: set[str] | None = None) -> set[str]:
        """Lanes of cards waiting for room; a chat with room again is released. `busy`: the
        lanes in flight now."""
        for chat in list(self._held):
            if self._room(chat, busy or set()) >= self._need.get(chat, 1):
                del self._held[chat]
        return set().union(*self._held.values()) if self._held else set()

    def next_look(self) -> float:
        """Seconds until a held chat may have room again (a chat that waits only for forum
        cards in flight needs no timer: each one's end wakes the drainer)."""
        times = []
        for chat in self._held:
            need = self._need.get(chat, 1)
            if self.budget.room(chat, PRIORITY_TIP) < need:
                times.append(self.budget.next_room(chat, PRIORITY_TIP, need))
        return min(times, default=math.inf)

    async def admit(self, rows: list[OutboxRow], now: float, busy: set[str]) -> list[OutboxRow]:
        """The rows to send now: cards without room are held, too many waiting become a list."""
        cards = [row for row in rows if waits_for_room(row)]
        if not cards:
            return rows
        admitted = [row for row in rows if not waits_for_room(row)]
        self._owed = {lane: owed for lane, owed in self._owed.items() if lane in busy}
        for chat in sorted({row.chat_id for row in cards}):
            mine = [row for row in cards if row.chat_id == chat]
            # A forum card also leaves room for an urgent one's topic and card.
            spare = FORUM_SPARE if any(cost(row) > 1 for row in mine) else 0
            room = self._room(chat, busy) - spare
            need = max(cost(row) for row in mine)
            if room < need:  # not even one card fits: wait for room, spending nothing
                self._held.setdefault(chat, set()).update(row.lane for row in mine)
                self._need[chat] = need + spare
                continue
            async with self.store.read() as tx:
                waiting = await tx.outbox.waiting_cards(chat, now, busy)
            if sum(cost(row) for row in waiting) <= room:
                admitted.extend(mine)
                self._owed.update((row.lane, (chat, cost(row))) for row in mine if cost(row) > 1)
            else:
                await self._list(waiting)
        return admitted

    async def _list(self, waiting: list[OutboxRow]) -> None:
        """The waiting cards become lists (Store.run: one round trip, and run again whole if
        PostgreSQL picks it as a deadlock's victim beside the tips being filed)."""

        async def in_one_go(tx: Tx) -> None:
            for start in range(0, len(waiting), MAX_PER_LIST):
                batch = waiting[start : start + MAX_PER_LIST]
                tips = await _tips_of(tx, batch)
                if tips:
                    await tx.outbox.enqueue(list_delivery(tips, self.officers))
                for row in batch:
                    await tx.outbox.mark_final(
                        row.id, "listed", "listed: the officer chat was busy"
                    )

        await self.store.run(in_one_go)
        log.info("officer chat busy: %d waiting cards listed in one message", len(waiting))


async def _tips_of(tx: Tx, rows: list[OutboxRow]) -> list[Tip]:
    tips = []
    for row in rows:
        tip = await tx.tips.get(row.tip_id) if row.tip_id is not None else None
        if tip is not None:
            tips.append(tip)
    return tips
