"""The officers' overview: /tips (open tips by urgency and age, each with a way to its card)
and /tip 42 (the card posted again, followed by the tip's history from the audit log).

The history names officers as the officer chat knows them: the audit log keeps an officer's
Telegram id, and the handler asks the chat for the names (`names`). A resident never appears
in it by anything but "the resident": the log keeps no resident id (a filed tip's actor is
None), and the card shows only the name a resident chose to share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_datetime

from bot import callbacks, content
from bot.cards import card_delivery
from bot.escalation import MAX_LISTED, age_text, category_text
from bot.i18n import N_, Html, translate
from bot.tips import OfficerChat
from storage import Store
from storage.models import AuditEntry, Tip
from storage.outbox import PRIORITY_ANSWER, NewDelivery
from storage.payload import Payload

Buttons = list[list[tuple[str, str]]]
MAX_HISTORY = 40  # the latest lines of a history: one message, well inside 4,096 characters

# audit action → how the history says it (actions this module does not know are shown as is)
ACTIONS = {
    "tip.filed": "history.filed",
    "tip.opened": "history.opened",
    "tip.reply": "history.reply",
    "tip.note": "history.note",
    "tip.escalated": "history.escalated",
    "tip.unpinned": "history.unpinned",
    "tip.acknowledged": "history.acknowledged",
    "tip.taken": "history.taken",
    "tip.resolved": "history.resolved",
    "tip.spam": "history.spam",
    "tip.reopened": "history.reopened",
    "tip.rated": "history.rated",
    "tip.rating_comment": "history.rating_comment",
    "resident.blocked": "history.blocked",
    "resident.unblocked": "history.unblocked",
    "tip.merged": "history.merged",
    "tip.merged_in": "history.merged_in",
    "tip.unmerged": "history.unmerged",
    "tip.split_off": "history.split_off",
    "tip.erased": "history.erased",
    "tip.detached": "history.detached",
}
# What the resident did (audited without their id): shown as "the resident", not "Porchlight".
RESIDENT_ACTIONS = frozenset({"tip.filed", "tip.rated", "tip.rating_comment", "tip.erased"})


STATUSES = {
    "new": N_("tips.status_new"),
    "acknowledged": N_("tips.status_acknowledged"),
    "taken": N_("tips.status_taken"),
}


def card_link(chat_id: int, message_id: int | None, topic: int | None = None) -> str | None:
    """A link to a message of a supergroup (https://t.me/c/<internal id>/<message id>, with
    the forum topic's thread id before the message id when it is in one); a basic group's
    messages have no link. A topic's own id (its first message) links to the topic."""
    text = str(chat_id)
    if message_id is None or not text.startswith("-100"):
        return None
    within = f"{topic}/" if topic is not None and topic != message_id else ""
    return f"https://t.me/c/{text[4:]}/{within}{message_id}"


@dataclass(frozen=True)
class Listing:
    html: str
    buttons: Buttons


async def open_tips(store: Store, officers: OfficerChat) -> Listing:
    """Open tips (new, acknowledged, taken): urgent first, then oldest first."""
    lang = officers.language
    async with store.read() as tx:
        tips = await tx.overview.open_tips()
        now = tx.clock.now()
    if not tips:
        return Listing(translate(lang, "tips.none"), [])
    lines = [translate(lang, "tips.title", count=len(tips))]
    buttons = []
    for tip in tips[:MAX_LISTED]:
        lines.append(_line(tip, officers, now))
        label = translate(lang, "surge.open", ref=tip.id)
        buttons.append((label, callbacks.OPEN.build(callbacks.Ref(tip.id))))
    if len(tips) > MAX_LISTED:
        lines.append(translate(lang, "stale.more", count=len(tips) - MAX_LISTED))
    return Listing("\n".join(lines), [buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def _line(tip: Tip, officers: OfficerChat, now: datetime) -> str:
    lang = officers.language
    ref = f"<b>#{tip.id}</b>"
    topic = tip.topic_id if officers.forum.on else None
    link = card_link(officers.chat_id, tip.card_message_id, topic)
    if link is not None:
        ref = f'<a href="{link}">#{tip.id}</a>'
    status = translate(lang, STATUSES[tip.status]) if tip.status in STATUSES else tip.status
    line = translate(
        lang,
        N_("tips.line_urgent") if tip.urgent else N_("tips.line"),
        ref=Html(ref),
        category=Html(category_text(lang, tip)),
        status=status,
        age=Html(age_text(lang, now - tip.created_at)),
    )
    if tip.merged_tips:  # merged tips are not listed apart: their primary names them
        line += translate(lang, "tips.also", refs=", ".join(f"#{i}" for i in tip.merged_tips))
    return line


async def actors(store: Store, tip_id: int) -> set[int] | None:
    """The officers named in a tip's history (None: no such tip)."""
    async with store.read() as tx:
        if await tx.tips.get(tip_id) is None:
            return None
        entries = await tx.overview.audit_of(tip_id)
    return {entry.actor_id for entry in entries if entry.actor_id is not None}


async def repost_with_history(
    store: Store,
    officers: OfficerChat,
    *,
    tip_id: int,
    officer_id: int,
    request_id: int,
    names: dict[int, str],
) -> bool:
    """The tip's card again, ahead of queued cards, then its history as a reply to it (one
    lane: the history waits for the card). Once per request message. False: no such tip."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return False
        entries = await tx.overview.audit_of(tip_id)
        alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
        key = f"tip:{tip.id}:{request_id}"
        card = card_delivery(tip, officers, alert, priority=PRIORITY_ANSWER, dedupe_key=key)
        if await tx.outbox.enqueue(card) is None:
            return True
        history = history_text(entries[-MAX_HISTORY:], officers, names)
        await tx.outbox.enqueue(
            NewDelivery(
                kind="tip_history",
                chat_id=officers.chat_id,
                lane=card.lane,
                priority=PRIORITY_ANSWER,
                tip_id=tip.id,
                payload=Payload((content.text(history),), reply_to_card=tip.id),
            )
        )
        await tx.audit("tip.opened", actor_id=officer_id, tip_id=tip.id, detail="/tip")
    return True


def history_text(entries: list[AuditEntry], officers: OfficerChat, names: dict[int, str]) -> str:
    """Who did what, when: one line per audit entry, officers by name (or by id when the
    chat no longer knows them), the resident never by anything but "the resident"."""
    lang = officers.language
    lines = [translate(lang, "history.title")]
    for entry in entries:
        when = format_datetime(entry.created_at, "d MMM, HH:mm", tzinfo=officers.zone, locale=lang)
        if entry.actor_id is None:
            by_resident = entry.action in RESIDENT_ACTIONS
            who = translate(lang, N_("history.resident") if by_resident else N_("history.bot"))
        else:
            who = translate(
                lang, "history.officer", name=names.get(entry.actor_id) or entry.actor_id
            )
        key = ACTIONS.get(entry.action)
        if entry.action == "tip.filed" and entry.detail == "urgent":
            key = N_("history.filed_urgent")
        what = (
            translate(lang, key, detail=entry.detail)
            if key
            else translate(lang, "history.other", action=entry.action, detail=entry.detail)
        )
        lines.append(translate(lang, "history.line", when=when, who=Html(who), what=Html(what)))
    return "\n".join(lines)
