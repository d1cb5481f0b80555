"""Broadcasts: the weekly safety tip and (later) officers' alerts, fanned out through the outbox.

A broadcast is one `broadcasts` row, keyed so that a run happens once (weekly:2026-W48), and
one outbox row per recipient (unique per broadcast and chat), all written in one transaction.
The drainer sends them after every tip card and relay, at Telegram's limits.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from bot import content
from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.i18n import translate
from bot.schedule import previous_fire, week_key, weekly_trigger
from storage import Store, Tx
from storage.broadcasts import NewSafetyTip
from storage.models import Broadcast, SafetyTip
from storage.outbox import PRIORITY_BULK, NewDelivery

log = logging.getLogger(__name__)

LIBRARY_TOPICS = ("home", "emergency", "scams", "personal", "online")


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    language: str


def shipped_library() -> list[NewSafetyTip]:
    """The default tips shipped with the package (bot/library/safety_tips.json)."""
    source = resources.files("bot") / "library" / "safety_tips.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    return [
        NewSafetyTip(
            key=tip["key"],
            topic=tip["topic"],
            title_en=tip["en"]["title"],
            body_en=tip["en"]["body"],
            title_es=tip["es"]["title"],
            body_es=tip["es"]["body"],
        )
        for tip in data["tips"]
    ]


async def load_library(store: Store) -> int:
    """Add shipped tips the database does not have yet (by key). Returns how many were added;
    officers' retirements and rotation counts are never touched."""
    async with store.transaction() as tx:
        added = 0
        for tip in shipped_library():
            added += await tx.library.add(tip)
    if added:
        log.info("safety-tip library: %d tip(s) added", added)
    return added


def safety_tip_html(tip: SafetyTip, language: str, *, weekly: bool) -> str:
    header = translate(language, "safety.weekly_header") if weekly else ""
    title = html.escape(tip.title(language), quote=False)
    body = html.escape(tip.body(language), quote=False)
    return (header + "\n" if header else "") + f"<b>{title}</b>\n{body}"


async def recipients(tx: Tx, topic: str) -> list[Recipient]:
    """Subscribed, reachable residents and approved community groups, each with a language."""
    people = [Recipient(r.user_id, r.language) for r in await tx.residents.subscribers(topic)]
    groups = [Recipient(g.chat_id, g.language) for g in await tx.groups.approved()]
    return people + groups


async def fan_out(
    tx: Tx, broadcast: Broadcast, audience: list[Recipient], texts: dict[str, str]
) -> int:
    """One delivery row per recipient, in the recipient's language. Returns the count."""
    for recipient in audience:
        await tx.outbox.enqueue(
            NewDelivery(
                kind="broadcast",
                chat_id=recipient.chat_id,
                payload={"contents": [content.text(texts[recipient.language])]},
                priority=PRIORITY_BULK,
                dedupe_key=f"broadcast:{broadcast.id}:{recipient.chat_id}",
                broadcast_id=broadcast.id,
            )
        )
    await tx.broadcasts.set_recipients(broadcast.id, len(audience))
    return len(audience)


async def run_weekly(store: Store, settings: Settings, fire: datetime) -> Broadcast | None:
    """The weekly safety tip for the week of `fire`, once: a second call for the same week (a
    restart, a second replica, a clock jump) finds the key taken and sends nothing."""
    key = week_key(fire, settings.zone)
    async with store.transaction() as tx:
        tip = await tx.library.next_in_rotation()
        if tip is None:
            log.warning("weekly broadcast %s skipped: the safety-tip library is empty", key)
            return None
        broadcast = await tx.broadcasts.create(key, "weekly", safety_tip_id=tip.id)
        if broadcast is None:
            log.info("weekly broadcast %s already ran", key)
            return None
        await tx.library.mark_broadcast(tip.id)
        texts = {lang: safety_tip_html(tip, lang, weekly=True) for lang in SUPPORTED_LANGUAGES}
        count = await fan_out(tx, broadcast, await recipients(tx, "safety"), texts)
    log.info("weekly broadcast %s: tip %s to %d recipient(s)", key, tip.key, count)
    return broadcast


async def catch_up_weekly(store: Store, settings: Settings, now: datetime) -> Broadcast | None:
    """At start: a run missed while the bot was down goes out once if it is less than
    BROADCAST_GRACE late, and is skipped (and logged) otherwise."""
    fire = previous_fire(weekly_trigger(settings.safety_broadcast_cron, settings.zone), now)
    if fire is None:
        return None
    async with store.read() as tx:
        done = await tx.broadcasts.get_by_key(week_key(fire, settings.zone))
    if done is not None:
        return None
    late = now - fire
    if late > settings.grace:
        log.warning(
            "weekly broadcast %s missed by %s (more than BROADCAST_GRACE=%s): skipped",
            week_key(fire, settings.zone),
            late,
            settings.broadcast_grace,
        )
        return None
    return await run_weekly(store, settings, fire)
