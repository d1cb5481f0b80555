"""Urgent tips nobody acknowledged, and ordinary tips nobody answered: the desk's two alarms.

**Escalation.** An urgent tip whose status is still 'new' ESCALATION_AFTER after it was filed
is re-announced: its card is pinned and officers are pinged — a message replying to the card
that mentions the officer chat's administrators (bots skipped) or the ON_DUTY list. The ping
is repeated ESCALATION_AFTER after the previous one, ESCALATION_REPEATS times in all, and stops
at the first acknowledgement (any status but 'new'). Once acknowledged, the card is unpinned:
the pin means "nobody has this yet", and a chat's pinned list is worth nothing if every tip
that was ever urgent stays in it. A round is a row (tip, round), claimed in the transaction
that queues its messages, so a restart or a second ring never repeats one; a round missed
while the bot was down is sent at start, and the next one ESCALATION_AFTER later (never a
burst). Pins, pings and unpins go through the outbox at urgent priority, in the tip's lane
(after its card, whose message id is then known). A pin Telegram refuses (the bot lacks the
*pin messages* right) is said once in the log; the pings go on.

The ping is not part of the tip's thread: an officer who answers it ("on it") talks to
colleagues, not to the resident. Replying to the card still reaches the resident.

Who is mentioned is asked of Telegram when a round rings (`Mentions`, a port the alarm
service implements over the bot); this module stays free of Telegram objects.

**Stale tips.** Every day at STALE_LIST_HOUR (TIMEZONE), the non-urgent tips still 'new'
STALE_AFTER after filing are listed in one message with an Open button each (the surge list's
button kind). Once per date: the key `stale:YYYY-MM-DD` is claimed with the message.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot import callbacks, content
from bot.categories import CATEGORIES
from bot.config import Settings
from bot.i18n import translate
from storage import Store
from storage.models import Tip
from storage.outbox import PRIORITY_TIP, PRIORITY_URGENT, NewDelivery
from storage.payload import Payload

MAX_LISTED = 30  # lines (and Open buttons) of one list


@dataclass(frozen=True)
class Mention:
    user_id: int
    name: str


Mentions = Callable[[], Awaitable[list[Mention]]]
"""The officers to ping now: the ON_DUTY list, or the officer chat's administrators."""


def mention_html(mention: Mention) -> str:
    """A mention that pings a person with or without a username; the name escaped."""
    name = html.escape(mention.name or str(mention.user_id), quote=False)
    return f'<a href="tg://user?id={mention.user_id}">{name}</a>'


def age_text(language: str, delta: timedelta) -> str:
    """ "12 min", "5 h", "3 d": how long a tip has waited, rounded down."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return translate(language, "age.minutes", n=minutes)
    if minutes < 48 * 60:
        return translate(language, "age.hours", n=minutes // 60)
    return translate(language, "age.days", n=minutes // (24 * 60))


def category_text(language: str, tip: Tip) -> str:
    return translate(language, CATEGORIES.get(tip.category, CATEGORIES["other"]))


# Escalation ---------------------------------------------------------------------------------


async def escalation_due(store: Store, settings: Settings) -> datetime | None:
    """The next round of an unacknowledged urgent tip, or a pin to release (due at once)."""
    if settings.escalation_repeats == 0:
        return None
    async with store.read() as tx:
        waiting = await tx.escalations.unanswered(settings.escalation_repeats)
        released = await tx.escalations.pins_to_release()
    times = [entry.since + settings.escalation_delay for entry in waiting]
    times.extend(since for _, since in released)
    return min(times, default=None)


async def run_escalations(store: Store, settings: Settings, who: Mentions) -> int:
    """Every round due now, and every pin to release; returns the rounds sent."""
    now = store.clock.now()
    async with store.read() as tx:
        waiting = [
            entry
            for entry in await tx.escalations.unanswered(settings.escalation_repeats)
            if entry.since + settings.escalation_delay <= now
        ]
    sent = 0
    mentions = await who() if waiting else []
    for entry in waiting:
        sent += await _escalate(store, settings, entry.tip_id, entry.rounds + 1, mentions)
    await _release_pins(store, settings)
    return sent


async def _escalate(
    store: Store, settings: Settings, tip_id: int, round_: int, mentions: list[Mention]
) -> int:
    lang = settings.default_language
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None or tip.status != "new":
            return 0
        if not await tx.escalations.claim(tip_id, round_, tip.card_message_id):
            return 0
        lane, chat = f"tip:{tip.id}", settings.officer_chat_id
        if round_ == 1:
            pin: content.Content = {"type": "pin"}
            if tip.card_message_id is not None:
                pin["message_id"] = tip.card_message_id
            await tx.outbox.enqueue(_delivery("tip_pin", chat, lane, tip, pin))
        names = " ".join(mention_html(m) for m in mentions)
        text = translate(
            lang,
            "escalation.ping",
            ref=tip.id,
            category=category_text(lang, tip),
            age=age_text(lang, tx.clock.now() - tip.created_at),
            round=round_,
            rounds=settings.escalation_repeats,
        )
        ping = content.text(text + ("\n" + names if names else ""))
        await tx.outbox.enqueue(_delivery("escalation", chat, lane, tip, ping))
        await tx.audit("tip.escalated", actor_id=None, tip_id=tip.id, detail=str(round_))
    return 1


async def _release_pins(store: Store, settings: Settings) -> None:
    async with store.read() as tx:
        released = await tx.escalations.pins_to_release()
    for tip_id, _ in released:
        async with store.transaction() as tx:
            tip = await tx.tips.get(tip_id)
            if tip is None or not await tx.escalations.release(tip_id):
                continue
            pinned = await tx.escalations.pinned_message(tip_id)
            unpin: content.Content = {"type": "unpin"}
            if pinned is not None:
                unpin["message_id"] = pinned
            lane = f"tip:{tip.id}"
            await tx.outbox.enqueue(
                _delivery("tip_unpin", settings.officer_chat_id, lane, tip, unpin)
            )
            await tx.audit("tip.unpinned", actor_id=None, tip_id=tip.id)


def _delivery(kind: str, chat: int, lane: str, tip: Tip, body: content.Content) -> NewDelivery:
    """Urgent, in the tip's lane (after its card), replying to (or pinning) the card."""
    return NewDelivery(
        kind=kind,
        chat_id=chat,
        lane=lane,
        priority=PRIORITY_URGENT,
        tip_id=tip.id,
        payload=Payload((body,), reply_to_card=tip.id),
    )


# Stale tips ---------------------------------------------------------------------------------


def _list_time(settings: Settings, day: datetime) -> datetime:
    """STALE_LIST_HOUR on the local date of `day`, as an aware time."""
    local = day.astimezone(settings.zone).date()
    return datetime.combine(local, time(settings.stale_list_hour), tzinfo=settings.zone)


def stale_key(settings: Settings, moment: datetime) -> str:
    return "stale:" + moment.astimezone(settings.zone).date().isoformat()


async def stale_due(store: Store, settings: Settings) -> datetime | None:
    """Today's list time while today's list is owed and something is stale by then; else the
    first list time at which a tip waiting now will be stale."""
    now = store.clock.now()
    async with store.read() as tx:
        oldest = await tx.overview.oldest_unanswered()
        today_done = await tx.escalations.day_done(stale_key(settings, now))
    if oldest is None:
        return None
    stale_from = oldest + settings.stale_delay
    fire = _list_time(settings, now + timedelta(days=1) if today_done else now)
    if stale_from > fire:
        fire = _list_time(settings, stale_from)
        if fire < stale_from:
            fire = _list_time(settings, stale_from + timedelta(days=1))
    return fire


async def run_stale_list(store: Store, settings: Settings) -> bool:
    """Today's list of stale tips, once; nothing before the list time or when none is stale."""
    now = store.clock.now()
    if now < _list_time(settings, now):
        return False
    lang = settings.default_language
    async with store.transaction() as tx:
        tips = await tx.overview.stale(now - settings.stale_delay)
        if not tips or not await tx.escalations.claim_day(stale_key(settings, now)):
            return False
        lines = [
            translate(
                lang, "stale.title", count=len(tips), age=age_text(lang, settings.stale_delay)
            )
        ]
        buttons = []
        for tip in tips[:MAX_LISTED]:
            category = category_text(lang, tip)
            age = age_text(lang, now - tip.created_at)
            lines.append(translate(lang, "stale.line", ref=tip.id, category=category, age=age))
            label = translate(lang, "surge.open", ref=tip.id)
            buttons.append((label, callbacks.OPEN.build(callbacks.Ref(tip.id))))
        if len(tips) > MAX_LISTED:
            lines.append(translate(lang, "stale.more", count=len(tips) - MAX_LISTED))
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        await tx.outbox.enqueue(
            NewDelivery(
                kind="stale_list",
                chat_id=settings.officer_chat_id,
                lane=f"tiplist:{settings.officer_chat_id}",
                priority=PRIORITY_TIP,
                dedupe_key=stale_key(settings, now),
                payload=Payload((content.text("\n".join(lines), rows),)),
            )
        )
    return True
