"""Cards in a surge: when tips queue for a busy officer chat, one list instead of many cards.

The officer chat is a group, so Telegram lets the bot post about 20 messages a minute there, and
the flood budget (bot.budget) keeps the last few of every minute for officers' own commands and
urgent tips. When tips come faster than that, full cards would trickle in one every few seconds
for many minutes. Instead, while the budget is spent, ordinary cards wait in the outbox; when
there is room again and more cards wait than fit, they go out as one list — reference, category
and first words of each, with an Open button that posts the full card at once (as an answer to
an officer, ahead of every queued card). Urgent tips are never listed and never held back: their
cards always go first, in full.
"""

from __future__ import annotations

import logging
import math

from bot import callbacks, content
from bot.budget import TelegramBudget
from bot.i18n import translate
from bot.tips import CATEGORIES, OfficerChat
from storage import Store, Tx
from storage.models import OutboxRow, Tip
from storage.outbox import PRIORITY_TIP, PRIORITY_URGENT, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

MAX_PER_LIST = 30  # lines of one list: well inside 4,096 characters and 100 buttons
FIRST_WORDS = 60


def waits_for_room(row: OutboxRow) -> bool:
    """A full card of an ordinary tip: the kind of message a surge turns into a list line."""
    return row.kind == "tip_card" and row.priority > PRIORITY_URGENT


def first_words(text: str, limit: int = FIRST_WORDS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


def list_delivery(tips: list[Tip], officers: OfficerChat) -> NewDelivery:
    """One message listing waiting tips, each with a button that opens its full card."""
    lang = officers.language
    lines = [translate(lang, "surge.title", count=len(tips))]
    buttons: list[tuple[str, str]] = []
    for tip in tips:
        category = translate(lang, CATEGORIES.get(tip.category, CATEGORIES["other"]))
        words = first_words(tip.description)  # translate() escapes it
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

    def held_lanes(self) -> set[str]:
        """Lanes of cards waiting for room; a chat with room again is released."""
        for chat in list(self._held):
            if self.budget.room(chat, PRIORITY_TIP) > 0:
                del self._held[chat]
        return set().union(*self._held.values()) if self._held else set()

    def next_look(self) -> float:
        """Seconds until a held chat may have room again."""
        return min(
            (self.budget.next_room(chat, PRIORITY_TIP) for chat in self._held), default=math.inf
        )

    async def admit(self, rows: list[OutboxRow], now: float, busy: set[str]) -> list[OutboxRow]:
        """The rows to send now: cards without room are held, too many waiting become a list."""
        cards = [row for row in rows if waits_for_room(row)]
        if not cards:
            return rows
        admitted = [row for row in rows if not waits_for_room(row)]
        for chat in sorted({row.chat_id for row in cards}):
            mine = [row for row in cards if row.chat_id == chat]
            room = self.budget.room(chat, PRIORITY_TIP)
            if room == 0:
                self._held.setdefault(chat, set()).update(row.lane for row in mine)
                continue
            async with self.store.read() as tx:
                waiting = await tx.outbox.waiting_cards(chat, now, busy)
            if len(waiting) <= room:
                admitted.extend(mine)
            else:
                await self._list(waiting)
        return admitted

    async def _list(self, waiting: list[OutboxRow]) -> None:
        async with self.store.transaction() as tx:
            for start in range(0, len(waiting), MAX_PER_LIST):
                batch = waiting[start : start + MAX_PER_LIST]
                tips = await _tips_of(tx, batch)
                if tips:
                    await tx.outbox.enqueue(list_delivery(tips, self.officers))
                for row in batch:
                    await tx.outbox.mark_final(
                        row.id, "listed", "listed: the officer chat was busy"
                    )
        log.info("officer chat busy: %d waiting cards listed in one message", len(waiting))


async def _tips_of(tx: Tx, rows: list[OutboxRow]) -> list[Tip]:
    tips = []
    for row in rows:
        tip = await tx.tips.get(row.tip_id) if row.tip_id is not None else None
        if tip is not None:
            tips.append(tip)
    return tips
