"""Filing tips: drafts, emergency words, the hourly limit, and the officer card via the outbox."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from bot import duplicates, forum
from bot.blocks import Blocked
from bot.cards import card_delivery
from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import translate
from storage import Store, Tx
from storage.models import MediaItem, Tip
from storage.outbox import PRIORITY_ANSWER
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

    async def in_one_go(tx: Tx) -> Filed:  # nothing but statements: one round trip
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

    return await store.run(in_one_go)


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
