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
from decimal import Decimal
from importlib import resources

from babel.numbers import format_decimal

from bot import callbacks, content
from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.i18n import translate
from bot.schedule import previous_fire, week_key, weekly_trigger
from storage import Store, Tx
from storage.broadcasts import NewAdvice
from storage.models import Advice, Broadcast
from storage.outbox import PRIORITY_BULK, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

LIBRARY_TOPICS = ("home", "emergency", "scams", "personal", "online")


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    language: str


def shipped_library() -> list[NewAdvice]:
    """The default tips shipped with the package (bot/library/safety_tips.json)."""
    source = resources.files("bot") / "library" / "safety_tips.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    return [
        NewAdvice(
            key=advice["key"],
            topic=advice["topic"],
            title_en=advice["en"]["title"],
            body_en=advice["en"]["body"],
            title_es=advice["es"]["title"],
            body_es=advice["es"]["body"],
        )
        for advice in data["tips"]
    ]


async def load_library(store: Store) -> int:
    """Add shipped tips the database does not have yet (by key). Returns how many were added;
    officers' retirements and rotation counts are never touched."""
    async with store.transaction() as tx:
        added = 0
        for advice in shipped_library():
            added += await tx.library.add(advice)
    if added:
        log.info("safety-advice library: %d added", added)
    return added


def advice_html(advice: Advice, language: str, *, weekly: bool) -> str:
    header = translate(language, "safety.weekly_header") if weekly else ""
    title = html.escape(advice.title(language), quote=False)
    body = html.escape(advice.body(language), quote=False)
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
                payload=Payload((content.text(texts[recipient.language]),)),
                priority=PRIORITY_BULK,
                dedupe_key=f"broadcast:{broadcast.id}:{recipient.chat_id}",
                broadcast_id=broadcast.id,
            )
        )
    await tx.broadcasts.set_recipients(broadcast.id, len(audience))
    return len(audience)


async def run_weekly(store: Store, settings: Settings, fire: datetime) -> Broadcast | None:
    """The weekly safety advice for the week of `fire`, once: a second call for the same week (a
    restart, a second replica, a clock jump) finds the key taken and sends nothing."""
    key = week_key(fire, settings.zone)

    async def in_one_go(tx: Tx) -> tuple[Advice | None, Broadcast | None, int]:
        """Thousands of rows, one round trip: nothing but statements (Store.run)."""
        advice = await tx.library.next_in_rotation()
        if advice is None:
            return None, None, 0
        broadcast = await tx.broadcasts.create(key, "weekly", advice_id=advice.id)
        if broadcast is None:
            return advice, None, 0
        await tx.library.mark_broadcast(advice.id)
        texts = {lang: advice_html(advice, lang, weekly=True) for lang in SUPPORTED_LANGUAGES}
        count = await fan_out(tx, broadcast, await recipients(tx, "safety"), texts)
        return advice, broadcast, count

    advice, broadcast, count = await store.run(in_one_go)
    if advice is None:
        log.warning("weekly broadcast %s skipped: the safety-advice library is empty", key)
    elif broadcast is None:
        log.info("weekly broadcast %s already ran", key)
    else:
        log.info("weekly broadcast %s: advice %s to %d recipient(s)", key, advice.key, count)
    return broadcast


async def catch_up_weekly(store: Store, settings: Settings, now: datetime) -> Broadcast | None:
    """At start: a run missed while the bot was down goes out once if it is less than
    BROADCAST_GRACE late, and is skipped (and logged) otherwise. A deployment that did not
    exist yet at the last scheduled time (a brand-new database) missed nothing."""
    fire = previous_fire(weekly_trigger(settings.safety_broadcast_cron, settings.zone), now)
    if fire is None:
        return None
    async with store.read() as tx:
        done = await tx.broadcasts.get_by_key(week_key(fire, settings.zone))
        # load_library runs first at every start, so this is set from the very first one.
        since = await tx.library.first_loaded_at()
    if done is not None or since is None or since > fire:
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


@dataclass(frozen=True)
class Audience:
    residents: int
    groups: int


# Officers' alerts and announcements go to residents subscribed to "urgent alerts": the
# subscription that means "officers may write to me at any time". Events have their own topic.
OFFICER_TOPIC = "alerts"


async def audience(store: Store) -> Audience:
    async with store.read() as tx:
        people = await tx.residents.count_subscribers(OFFICER_TOPIC)
        groups = len(await tx.groups.approved())
    return Audience(people, groups)


def room(*, photo: bool) -> int:
    """How long an officer's broadcast text may be: residents get it under a header (in their
    language) and the officers' preview adds the recipient count, within one message."""
    limit = content.CAPTION_LIMIT if photo else content.TEXT_LIMIT
    header = max(
        content.visible_length(translate(language, key))
        for language in SUPPORTED_LANGUAGES
        for key in ("broadcast.alert_header", "broadcast.announcement_header")
    )
    return limit - header - PREVIEW_ROOM


PREVIEW_ROOM = 200  # the recipient count under the preview, in any language


STARS_PER_MESSAGE = Decimal("0.1")  # Telegram's fee for a paid broadcast message


def paid_cost(audience: Audience, language: str) -> str:
    """What a paid alert to `audience` costs in Telegram Stars, written for `language`."""
    stars = (audience.residents + audience.groups) * STARS_PER_MESSAGE
    return format_decimal(stars, format="#,##0.#", locale=language)


def officer_message_html(kind: str, text: str, language: str) -> str:
    """What residents see: a header by kind, then the officer's words, escaped."""
    header_key = "broadcast.alert_header" if kind == "alert" else "broadcast.announcement_header"
    return translate(language, header_key) + "\n" + html.escape(text, quote=False)


async def send_officer_broadcast(
    store: Store,
    *,
    key: str,
    kind: str,
    text: str,
    photo_file_id: str | None,
    officer_id: int,
    bot_username: str,
    paid: bool = False,
) -> Broadcast | None:
    """Fan out an officer's alert or announcement, once per key (a double tap sends once).

    Alerts carry an "I have information" button: a callback in private chats, a deep link in
    groups (so the answer is given in private, never in public). A `paid` alert (BROADCAST_PAID)
    goes as a paid broadcast: decided here, when officers confirm the preview that says so, and
    kept on each row, so a restart or a changed setting never changes what was confirmed.
    """
    paid = paid and kind == "alert"

    async def in_one_go(tx: Tx) -> Broadcast | None:
        """Thousands of rows, one round trip: nothing but statements (Store.run)."""
        broadcast = await tx.broadcasts.create(
            key, kind, created_by=officer_id, text=text, photo_file_id=photo_file_id
        )
        if broadcast is None:
            return None
        await tx.audit(f"broadcast.{kind}", actor_id=officer_id, tip_id=None, detail=text[:200])
        targets = await recipients(tx, OFFICER_TOPIC)
        for target in targets:
            body = officer_message_html(kind, text, target.language)
            buttons = None
            if kind == "alert":
                label = translate(target.language, "broadcast.have_info")
                data = (
                    callbacks.ALERT_INFO.build(callbacks.Ref(broadcast.id))
                    if target.chat_id > 0
                    else f"https://t.me/{bot_username}?start=alert-{broadcast.id}"
                )
                buttons = [[(label, data)]]
            if photo_file_id:
                message: content.Content = {
                    "type": "photo",
                    "file_id": photo_file_id,
                    "caption": body,
                    "buttons": buttons,
                }
            else:
                message = content.text(body, buttons)
            if paid:
                message["paid"] = True
            await tx.outbox.enqueue(
                NewDelivery(
                    kind="broadcast",
                    chat_id=target.chat_id,
                    payload=Payload((message,)),
                    priority=PRIORITY_BULK,
                    dedupe_key=f"broadcast:{broadcast.id}:{target.chat_id}",
                    broadcast_id=broadcast.id,
                )
            )
        await tx.broadcasts.set_recipients(broadcast.id, len(targets))
        return broadcast

    broadcast = await store.run(in_one_go)
    return None if broadcast is None else await _reload(store, broadcast.id)


async def _reload(store: Store, broadcast_id: int) -> Broadcast | None:
    async with store.read() as tx:
        return await tx.broadcasts.get(broadcast_id)


async def progress(store: Store, broadcast_id: int) -> dict[str, int]:
    """How many deliveries of a broadcast are sent, pending, failed, unreachable."""
    async with store.read() as tx:
        return await tx.broadcasts.progress(broadcast_id)


async def attach_report(
    store: Store, broadcast_id: int, message_id: int, *, finished: bool
) -> None:
    """The delivery report's message in the officer chat (edited live until `finished`)."""
    async with store.transaction() as tx:
        await tx.broadcasts.set_report(broadcast_id, message_id)
        if finished:
            await tx.broadcasts.finish(broadcast_id)


def report_html(broadcast: Broadcast, progress: dict[str, int], language: str) -> str:
    """The live delivery report, and its final summary once nothing is pending."""
    values = {
        "ref": broadcast.id,
        "total": broadcast.recipients,
        "sent": progress.get("sent", 0),
        "pending": progress.get("pending", 0),
        "failed": progress.get("failed", 0),
        "unreachable": progress.get("unreachable", 0),
    }
    if values["pending"]:
        return translate(language, "broadcast.report", **values)
    return translate(language, "broadcast.report_done", **values)


async def alert(store: Store, broadcast_id: int) -> Broadcast | None:
    """An officers' alert that residents may answer with a tip (None for anything else)."""
    async with store.read() as tx:
        found = await tx.broadcasts.get(broadcast_id)
    return found if found is not None and found.kind == "alert" else None
