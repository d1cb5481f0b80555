"""Filing tips: drafts, emergency words, the hourly limit, and the officer card via the outbox."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

from bot import callbacks as cb
from bot import content, duplicates, forum
from bot.blocks import Blocked
from bot.categories import CATEGORIES
from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES, N_, plain, translate
from storage import Store
from storage.models import CLOSED, Broadcast, MediaItem, Tip
from storage.outbox import PRIORITY_ANSWER, PRIORITY_TIP, PRIORITY_URGENT, NewDelivery
from storage.payload import FollowUp, JoinThread, Payload
from storage.tips import NewTip

MAX_MEDIA = 20


@dataclass
class Draft:
    """A report in progress. Lives in the resident's session (bot/session.py) until Send."""

    key: str
    category: str | None = None
    description: str = ""
    media: list[dict[str, str]] = field(default_factory=list)
    media_group: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None
    anonymous: bool = True
    urgent: bool = False
    linked_alert: int | None = None  # the officers' alert this report answers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def add_media(self, kind: str, file_id: str, media_group: str | None) -> bool:
        """Attach a file; False when the report already carries the most it can."""
        if len(self.media) >= MAX_MEDIA:
            return False
        self.media.append({"kind": kind, "file_id": file_id})
        self.media_group = media_group
        return True


def _fold(value: str) -> str:
    """Lower case without accents, so 'AYÚDAME' matches 'ayudame'."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _emergency_pattern() -> re.Pattern[str]:
    words: set[str] = set()
    for language in SUPPORTED_LANGUAGES:
        listed = translate(language, "emergency.words")
        words.update(_fold(w.strip()) for w in listed.split(",") if w.strip())
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def is_emergency(text: str | None) -> bool:
    """Emergency words of every language we speak (a tourist may write in either)."""
    return bool(text) and bool(_emergency_pattern().search(_fold(text or "")))


def reporter_name(first: str | None, last: str | None, username: str | None) -> str | None:
    """The name a resident who shares it is shown by: "Alice Walker (@alice_w)". One function
    for the report's preview and the officers' card, so the preview shows exactly that."""
    full = " ".join(part for part in (first, last) if part)
    if full and username:
        return f"{full} (@{username})"
    return full or (f"@{username}" if username else None)


@dataclass(frozen=True)
class OfficerChat:
    """Where tips go and how officers read them; `forum` says whether the chat has topics now
    (learnt from Telegram while the bot runs, see bot/forum.py)."""

    chat_id: int
    language: str
    zone: ZoneInfo
    forum: forum.ForumMode = field(default_factory=forum.ForumMode, compare=False)


@dataclass(frozen=True)
class Filed:
    tip: Tip
    created: bool


class TooManyTips(Exception):
    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"tip limit reached until {retry_at.isoformat()}")
        self.retry_at = retry_at


async def file_tip(
    store: Store,
    *,
    resident_id: int,
    language: str,
    draft: Draft,
    reporter_name: str | None,
    officers: OfficerChat,
    tips_per_hour: int,
    resident_message_id: int | None = None,
) -> Filed:
    """Commit the tip and its officer card in one transaction, once per draft.

    A repeated Send (double tap, an update delivered twice) returns the tip already filed; a
    blocked resident's tip is refused (Blocked, see bot/blocks.py).
    `resident_message_id` (the resident's receipt) joins the tip's thread, so replying to it
    adds to the tip.
    """
    async with store.transaction() as tx:
        existing = await tx.tips.get_by_source_key(draft.key)
        if existing is not None:
            return Filed(existing, False)
        if await tx.blocks.get(resident_id) is not None:
            raise Blocked
        since = tx.clock.now() - timedelta(hours=1)
        if await tx.tips.count_since(resident_id, since) >= tips_per_hour:
            oldest = await tx.tips.oldest_since(resident_id, since)
            raise TooManyTips((oldest or tx.clock.now()) + timedelta(hours=1))
        tip, created = await tx.tips.insert(
            NewTip(
                source_key=draft.key,
                resident_id=resident_id,
                category=draft.category or "other",
                description=draft.description,
                language=language,
                anonymous=draft.anonymous,
                reporter_name=reporter_name,
                urgent=draft.urgent,
                latitude=draft.latitude,
                longitude=draft.longitude,
                place=draft.place,
                media=tuple(MediaItem(m["kind"], m["file_id"]) for m in draft.media),
                broadcast_id=draft.linked_alert,
            )
        )
        now, lookback = tx.clock.now(), duplicates.lookback(tip)
        candidates = await tx.tips.open_since(now - lookback) if lookback else []
        similar = duplicates.resemblance(tip, candidates, now)
        if similar is not None:  # a merged tip's hint names its primary (bot/merge.py)
            like = next(t.primary_id for t in candidates if t.id == similar.tip_id)
            await tx.tips.set_duplicate(tip.id, like, similar.reason)
            tip = await tx.tips.get(tip.id) or tip
        alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
        await tx.outbox.enqueue(card_delivery(tip, officers, alert))
        if resident_message_id is not None:
            await tx.tips.link(resident_id, [resident_message_id], tip.id, "receipt")
        await tx.audit(
            "tip.filed", actor_id=None, tip_id=tip.id, detail="urgent" if tip.urgent else ""
        )
    return Filed(tip, created)


def duplicate_line(tip: Tip, lang: str) -> str:
    """ "Possibly the same as #41", and why (bot/duplicates.py)."""
    reason = duplicates.Resemblance(tip.duplicate_of or 0, tip.duplicate_reason or "place")
    if reason.code == "pin":
        return translate(lang, "card.duplicate_pin", ref=reason.tip_id, metres=reason.detail)
    if reason.code == "plate":
        return translate(lang, "card.duplicate_plate", ref=reason.tip_id, plate=reason.detail)
    return translate(lang, "card.duplicate_place", ref=reason.tip_id)


def card_texts(
    tip: Tip, officers: OfficerChat, alert: Broadcast | None = None, *, in_topic: bool = False
) -> list[str]:
    """The card's HTML, split when the description is too long for one message.

    Built from the tip's officer view: the resident appears only by the name they chose to
    share, never by id or username. In the tip's own forum topic the hint says to write there.
    """
    lang = officers.language
    lines = []
    if tip.urgent:
        lines.append(translate(lang, "card.urgent"))
    category = translate(lang, CATEGORIES.get(tip.category, CATEGORIES["other"]))
    lines.append(translate(lang, "card.title", ref=tip.id, category=category))
    if tip.place:
        lines.append(translate(lang, "card.where", place=tip.place))
    elif tip.has_location:
        lines.append(translate(lang, "card.where_pin"))
    else:
        lines.append(translate(lang, "card.where_unknown"))
    when = format_datetime(tip.created_at, "d MMM y, HH:mm", tzinfo=officers.zone, locale=lang)
    lines.append(translate(lang, "card.when", when=when, zone=officers.zone.key))
    if tip.detached == "erased":
        lines.append(translate(lang, "card.from_erased"))
    elif tip.detached == "retention":
        lines.append(translate(lang, "card.from_detached"))
    elif tip.anonymous or not tip.reporter_name:
        lines.append(translate(lang, "card.from_anonymous"))
    else:
        lines.append(translate(lang, "card.from_named", name=tip.reporter_name))
    language = LANGUAGE_NAMES.get(tip.language, tip.language)
    lines.append(translate(lang, "card.language", name=language))
    if tip.media:
        lines.append(translate(lang, "card.attachments", count=len(tip.media)))
    if alert is not None:
        snippet = (alert.text or "")[:80] + ("…" if len(alert.text or "") > 80 else "")
        lines.append(translate(lang, "card.in_response", ref=alert.id, text=snippet))
    if tip.merged_into is not None:
        lines.append(
            translate(
                lang, "card.merged_into", into=tip.merged_into, name=tip.merged_by_name or "?"
            )
        )
    elif tip.duplicate_of is not None:
        lines.append(duplicate_line(tip, lang))
    if tip.merged_tips:
        lines.append(translate(lang, "card.also", refs=", ".join(f"#{i}" for i in tip.merged_tips)))
    lines.extend(desk_lines(tip, officers))
    grouped = tip.merged_into is not None or bool(tip.merged_tips)
    hint = N_("card.reply_hint_group") if grouped else N_("card.reply_hint")
    lines.append(translate(lang, N_("card.topic_hint") if in_topic else hint))
    header = "\n".join(lines)
    description = tip.description or translate(lang, "card.no_description")
    whole = header + "\n\n" + html.escape(description, quote=False)
    if content.visible_length(whole) <= content.TEXT_LIMIT:
        return [whole]
    # Too long beside the header: the description follows whole, as typed, under the card
    # (split only if it alone exceeds Telegram's limit, which a single message cannot).
    pieces = content.split_plain(description, content.TEXT_LIMIT)
    below = header + "\n\n" + translate(lang, "card.description_below")
    return [below, *(html.escape(piece, quote=False) for piece in pieces)]


DESK_STATUS = {
    "new": N_("card.status_new"),
    "acknowledged": N_("card.status_acknowledged"),
    "taken": N_("card.status_taken"),
    "resolved": N_("card.status_resolved"),
    "spam": N_("card.status_spam"),
}


def desk_lines(tip: Tip, officers: OfficerChat) -> list[str]:
    """The card's desk state: status and by whom (officers' first names: officer chat only),
    the time to the first answer, the resident's rating and comment."""
    lang = officers.language
    key = DESK_STATUS.get(tip.status, DESK_STATUS["new"])
    who = tip.assignee_name if tip.status == "taken" else tip.status_by_name
    # A merged tip's status is its primary's, shown there: a desk move edits one card.
    merged = tip.merged_into is not None
    lines = [] if merged else [translate(lang, key, name=who or "?")]
    if tip.first_answer_at is not None and not merged:
        delta = max(tip.first_answer_at - tip.created_at, timedelta(0))
        duration = format_timedelta(delta, threshold=1.1, locale=lang)
        lines.append(translate(lang, "card.first_answer", duration=duration))
    if tip.rating is not None:
        lines.append(translate(lang, "card.rating", stars=tip.rating))
        if tip.rating_comment:
            lines.append(translate(lang, "card.rating_comment", comment=tip.rating_comment))
    return lines


DESK_BUTTONS = {
    "new": (("ack", "take"), ("resolve", "spam")),
    "acknowledged": (("take",), ("resolve", "spam")),
    "taken": (("resolve", "spam"),),
    "resolved": (("reopen",),),
    "spam": (("reopen",),),
}


def desk_buttons(tip: Tip, officers: OfficerChat) -> list[list[tuple[str, str]]]:
    """The triage buttons the tip's status allows; Merge while it and its hint are open; a
    merged tip has only Unmerge (its primary's card triages the group, bot/merge.py)."""
    lang = officers.language
    if tip.merged_into is not None:
        return [[(plain(lang, "desk.button_unmerge"), cb.UNMERGE.build(cb.Ref(tip.id)))]]
    rows: list[list[tuple[str, str]]] = [
        [
            (plain(lang, f"desk.button_{action}"), cb.DESK.build(cb.ChoiceRef(action, tip.id)))
            for action in row
        ]
        for row in DESK_BUTTONS.get(tip.status, DESK_BUTTONS["new"])
    ]
    hint, hint_status = tip.duplicate_of, tip.duplicate_status
    if hint is not None and tip.is_open and hint_status is not None and hint_status not in CLOSED:
        label = plain(lang, "desk.button_merge", ref=hint)
        rows.append([(label, cb.MERGE.build(cb.MergeInto(tip.id, hint)))])
    return rows


def card_content(
    tip: Tip, officers: OfficerChat, alert: Broadcast | None = None, *, in_topic: bool | None = None
) -> content.Content:
    """The card's first message as it is now, buttons included (sent, or edited in place: in
    the tip's topic when it has one)."""
    if in_topic is None:
        in_topic = officers.forum.on and tip.topic_id is not None
    texts = card_texts(tip, officers, alert, in_topic=in_topic)
    return content.text(texts[0], desk_buttons(tip, officers))


def tip_priority(tip: Tip) -> int:
    """Urgent tips and everything on their thread go before the rest."""
    return PRIORITY_URGENT if tip.urgent else PRIORITY_TIP


def card_delivery(
    tip: Tip,
    officers: OfficerChat,
    alert: Broadcast | None = None,
    *,
    priority: int | None = None,
    dedupe_key: str | None = None,
) -> NewDelivery:
    """The card row; its location pin and media follow it as replies once it is sent. In a
    forum the row first opens the tip's topic (bot/forum.py), and everything goes there."""
    in_topic = officers.forum.on and tip.topic_state != "unknown"
    texts = card_texts(tip, officers, alert, in_topic=in_topic)
    lane = f"tip:{tip.id}"
    priority = tip_priority(tip) if priority is None else priority
    link = JoinThread(tip.id, "card")
    thread: list[content.Content] = [content.text(t) for t in texts[1:]]
    if tip.has_location:
        thread.append({"type": "location", "latitude": tip.latitude, "longitude": tip.longitude})
    thread.extend(
        content.media_batches([{"type": m.kind, "file_id": m.file_id} for m in tip.media])
    )
    then = tuple(
        FollowUp(kind="tip_thread", reply_to_parent=True, payload=Payload((part,), link=link))
        for part in thread
    )
    return NewDelivery(
        kind="tip_card",
        chat_id=officers.chat_id,
        lane=lane,
        priority=priority,
        tip_id=tip.id,
        dedupe_key=dedupe_key,
        payload=Payload(
            (
                *([forum.topic_step(tip.id)] if in_topic else []),
                card_content(tip, officers, alert, in_topic=in_topic),
            ),
            link=link,
            set_card=True,
            then=then,
        ),
    )


async def of_resident(store: Store, resident_id: int) -> list[Tip]:
    """A resident's latest tips, for /mytips."""
    async with store.read() as tx:
        return await tx.tips.list_for_resident(resident_id)


async def resident_tip(store: Store, tip_id: int, resident_id: int) -> Tip | None:
    """The tip if it is this resident's own; None for anyone else's (or none at all)."""
    async with store.read() as tx:
        tip = await tx.tips.get(tip_id)
    return tip if tip is not None and tip.resident_id == resident_id else None


async def open_card(
    store: Store, officers: OfficerChat, *, tip_id: int, officer_id: int, list_message_id: int
) -> bool:
    """An officer opens a tip from a surge list: its full card, ahead of every queued card
    (an officer is waiting for it). Pressed twice, or by two officers, it is posted once."""
    async with store.transaction() as tx:
        tip = await tx.tips.get(tip_id)
        if tip is None:
            return False
        alert = await tx.broadcasts.get(tip.broadcast_id) if tip.broadcast_id else None
        key = f"open:{tip.id}:{list_message_id}"
        delivery = card_delivery(tip, officers, alert, priority=PRIORITY_ANSWER, dedupe_key=key)
        if await tx.outbox.enqueue(delivery) is not None:
            await tx.audit("tip.opened", actor_id=officer_id, tip_id=tip.id)
    return True


STATUSES = ("new", "acknowledged", "taken", "resolved", "spam")


async def set_status(store: Store, tip_id: int, status: str, *, actor_id: int | None) -> bool:
    """Set a tip's status, audited; False when it had it already. A bare setter with no state
    machine and no message to anyone: the officer desk's triage (Acknowledge, Take, Resolve)
    owns the real moves; escalation only reads the status, and its stories set it here."""
    if status not in STATUSES:
        raise ValueError(f"unknown tip status {status!r}")
    async with store.transaction() as tx:
        changed = await tx.tips.set_status(tip_id, status)
        if changed:
            await tx.audit(f"tip.{status}", actor_id=actor_id, tip_id=tip_id)
    return changed
