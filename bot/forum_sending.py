"""Forum topics, the Telegram side (bot/forum.py says why and what): for the outbox drainer.

- `place`: a row of the officer chat that joins a tip's thread (or replies to its card) goes
  into the tip's topic, looked up when the row is sent, as the card it replies to is.
- `open`: the card row's topic step. Claimed in storage before Telegram is asked and recorded
  after; an answer never received is not asked again (createForumTopic is AT_MOST_ONCE in the
  retry policy, bot/budget.py), and the tip then stays in General.
- `sync`: the topic's name and closed state brought in line with the tip's status, from the
  card edit (a burst of presses is one edit); a change Telegram finds already made counts.
- `recreate`: a message for a deleted topic ("message thread not found") makes a new topic
  with the card re-posted in it, and the message is sent again after them.
A refusal (no *manage topics* right) is said once in the log and never stops a delivery: the
tip's messages go to General instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot import forum
from bot.budget import SendOptions, may_have_happened
from bot.cards import card_delivery
from bot.desk import CARD_EDIT
from bot.tips import OfficerChat
from storage import Store, Tx
from storage.forum_topics import CLOSED, CREATING, OPEN
from storage.models import OutboxRow
from storage.outbox import PRIORITY_ANSWER, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

GONE = ("message thread not found", "topic_id_invalid", "topic_deleted")
NOT_MODIFIED = "topic_not_modified"


def topic_gone(error: BadRequest) -> bool:
    text = str(error).lower()
    return any(words in text for words in GONE)


class TopicGone(Exception):
    """A send or change found the tip's topic deleted."""

    def __init__(self, tip_id: int, thread: int) -> None:
        super().__init__(f"topic {thread} of tip #{tip_id} was deleted")
        self.tip_id = tip_id
        self.thread = thread


@dataclass(frozen=True)
class Place:
    """The topic a row's messages go into."""

    tip_id: int
    thread: int


class ForumTopics:
    def __init__(self, store: Store, bot: ExtBot[Any], officers: OfficerChat) -> None:
        self.store = store
        self.bot = bot
        self.officers = officers
        self._said: set[str] = set()  # refusals already logged

    async def place(self, row: OutboxRow, payload: Payload) -> Place | None:
        """The topic of the tip whose thread the row joins (or whose card it answers)."""
        if row.chat_id != self.officers.chat_id or not self.officers.forum.on:
            return None
        tip_id = payload.link.tip_id if payload.link is not None else payload.reply_to_card
        if tip_id is None:
            return None
        async with self.store.read() as tx:
            tip = await tx.tips.get(tip_id)
        if tip is None or tip.topic_id is None:
            return None
        return Place(tip_id, tip.topic_id)

    async def open(self, tip_id: int, options: SendOptions) -> int | None:
        """The tip's topic, created now if it has none: its thread id, or None for General."""
        if not self.officers.forum.on:
            return None
        async with self.store.transaction() as tx:
            tip = await tx.tips.get(tip_id)
            if tip is None:
                return None
            if tip.topic_id is not None:  # created before a restart: the card goes there
                return tip.topic_id
            if tip.topic_state == CREATING:
                await tx.forum_topics.uncertain(tip_id)
                await _card_in_general(tx, self.officers, tip_id)
                log.warning(
                    "tip #%s: Telegram never answered its topic's creation; it may exist, so it"
                    " is not created twice and the tip stays in General",
                    tip_id,
                )
                return None
            if not await tx.forum_topics.claim(tip_id):
                return None  # 'unknown': handled in General
        look = forum.look(tip, self.officers.language)
        chat = self.officers.chat_id
        try:
            created = await self.bot.create_forum_topic(
                chat, look.name, icon_color=look.color, rate_limit_args=options
            )
        except BadRequest as error:
            await self._not_created(tip_id, in_general=True)
            self._refused(error)
            return None
        except RetryAfter:
            await self._not_created(tip_id)
            raise
        except NetworkError as error:
            if not may_have_happened(error):
                await self._not_created(tip_id)
                raise
            async with self.store.transaction() as tx:
                await tx.forum_topics.uncertain(tip_id)
                await _card_in_general(tx, self.officers, tip_id)
            log.warning(
                "tip #%s: no answer to its topic's creation (%s); not asked twice, the tip"
                " stays in General",
                tip_id,
                error,
            )
            return None
        except TelegramError:
            await self._not_created(tip_id)
            raise
        thread = created.message_thread_id
        async with self.store.transaction() as tx:
            await tx.forum_topics.created(tip_id, thread, look.name)
            await tx.tips.link(chat, [thread], tip_id, "topic")
        await self.sync(tip_id, options)  # a status changed meanwhile, or a resolved tip
        return thread

    async def _not_created(self, tip_id: int, *, in_general: bool = False) -> None:
        async with self.store.transaction() as tx:
            await tx.forum_topics.not_created(tip_id)
            if in_general:
                await _card_in_general(tx, self.officers, tip_id)

    def _refused(self, error: BadRequest) -> None:
        text = str(error)
        if "not a forum" in text.lower():
            if self.officers.forum.observe(False):
                log.info("the officer chat has no topics any more: tips go to the chat itself")
            return
        if text not in self._said:
            self._said.add(text)
            log.warning(
                "cannot create or change topics in the officer chat (%s): give the bot the"
                " Manage topics right; tips go to General meanwhile",
                text,
            )

    async def sync(self, tip_id: int, options: SendOptions) -> None:
        """Name and close (or reopen) the tip's topic as its status says."""
        if not self.officers.forum.on:
            return
        async with self.store.read() as tx:
            tip = await tx.tips.get(tip_id)
        if tip is None or tip.topic_id is None or tip.topic_state not in (OPEN, CLOSED):
            return
        want = forum.look(tip, self.officers.language)
        chat, thread = self.officers.chat_id, tip.topic_id
        name, closed = tip.topic_name, tip.topic_state == CLOSED
        if want.name != name and await self._change(
            self.bot.edit_forum_topic(chat, thread, name=want.name, rate_limit_args=options),
            tip_id,
            thread,
        ):
            name = want.name
        if want.closed != closed:
            method = self.bot.close_forum_topic if want.closed else self.bot.reopen_forum_topic
            if await self._change(method(chat, thread, rate_limit_args=options), tip_id, thread):
                closed = want.closed
        if (name, closed) != (tip.topic_name, tip.topic_state == CLOSED):
            async with self.store.transaction() as tx:
                await tx.forum_topics.set_look(tip_id, thread, name or "", closed)

    async def _change(self, call: Any, tip_id: int, thread: int) -> bool:
        """One topic change; True when the topic now shows it."""
        try:
            await call
        except BadRequest as error:
            if NOT_MODIFIED in str(error).lower():
                return True  # already so (an officer did it, or an earlier try went through)
            if topic_gone(error):
                raise TopicGone(tip_id, thread) from error
            self._refused(error)
            return False
        return True

    async def recreate(self, row: OutboxRow, gone: TopicGone) -> None:
        """The topic was deleted: a new one with the card re-posted in it (once per deleted
        topic), then the row again, after them in the tip's lane. A card edit is not sent
        again: the new card shows the tip as it is."""
        async with self.store.transaction() as tx:
            first = await tx.forum_topics.lost(gone.tip_id, gone.thread)
            tip = await tx.tips.get(gone.tip_id)
            payload = row.payload
            is_card = payload is not None and forum.has_topic_step(payload.contents)
            if first and tip is not None and not is_card:
                alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
                key = f"topic:{tip.id}:{gone.thread}"
                await tx.outbox.enqueue(card_delivery(tip, self.officers, alert, dedupe_key=key))
            if payload is not None and row.kind != CARD_EDIT:
                await tx.outbox.enqueue(
                    NewDelivery(
                        kind=row.kind,
                        chat_id=row.chat_id,
                        payload=payload,
                        lane=row.lane,
                        priority=row.priority,
                        tip_id=row.tip_id,
                    )
                )
            await tx.outbox.mark_final(row.id, "requeued", f"{gone}: sent again in a new topic")
        log.info("%s: a new topic is created and the card posted again", gone)


async def _card_in_general(tx: Tx, officers: OfficerChat, tip_id: int) -> None:
    """The card was written for a topic it will not be in: an edit right after it (same lane,
    so it waits for the card) shows the hint for General instead ("Reply to this card…")."""
    await tx.outbox.enqueue(
        NewDelivery(
            kind=CARD_EDIT,
            chat_id=officers.chat_id,
            lane=f"tip:{tip_id}",
            priority=PRIORITY_ANSWER,
            tip_id=tip_id,
            payload=Payload(({"type": CARD_EDIT, "tip_id": tip_id},)),
        )
    )
