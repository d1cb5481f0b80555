"""The officers' weekly digest: the /stats report, posted to the officer chat by itself.

It rings at DIGEST_CRON in TIMEZONE (default Monday 08:00) through the alarm service and goes
through the outbox like any delivery that matters. It covers the WEEKS complete ISO weeks
before the week of its scheduled time, so its numbers are final. Once per ISO week: the key
`digest:2026-W49` (the week of the scheduled time) is claimed in the transaction that queues
the outbox row, so a restart, a second ring or a late run never posts a week twice. A run
missed while the bot was down is posted at start when it is less than DIGEST_GRACE late, and
skipped (and logged) otherwise; a deployment that did not exist yet then missed nothing.

The chart travels in the outbox row as its data (a `chart` content holding the ChartSpec as
JSON), and is drawn when the row is sent: the row stays small JSON like every other, the
numbers are those frozen with the text when the week was claimed (a retry hours later draws the
same chart), and no image sits in the database. Drawing is pure and takes a tenth of a second
in a worker thread (bot.sending).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import content, stats
from bot.config import Settings
from bot.schedule import next_fire, previous_fire, week_key, weekly_trigger
from storage import Store
from storage.outbox import PRIORITY_NOTICE, NewDelivery
from storage.payload import Payload

log = logging.getLogger(__name__)

PREFIX = "digest"


async def _owed(store: Store, settings: Settings, fire: datetime) -> bool:
    """Whether the digest of `fire` was not posted yet and the deployment existed then."""
    async with store.read() as tx:
        done = await tx.stats.digest_done(week_key(fire, settings.zone, PREFIX))
        # Loaded at every start before the alarms: set from the deployment's very first start.
        since = await tx.library.first_loaded_at()
    return not done and since is not None and since <= fire


async def digest_due(store: Store, settings: Settings) -> datetime | None:
    """The last scheduled digest while it is owed and less than DIGEST_GRACE late; otherwise
    the next one."""
    trigger = weekly_trigger(settings.digest_cron, settings.zone)
    now = store.clock.now()
    fire = previous_fire(trigger, now)
    timely = fire is not None and now - fire <= settings.digest_grace_delay
    if fire is not None and timely and await _owed(store, settings, fire):
        return fire
    return next_fire(trigger, now)


async def run_digest(store: Store, settings: Settings) -> bool:
    """Post the digest of the last scheduled time, once. A digest missed by more than
    DIGEST_GRACE is logged and skipped. True when it was queued now."""
    zone = settings.zone
    now = store.clock.now()
    fire = previous_fire(weekly_trigger(settings.digest_cron, zone), now)
    if fire is None or not await _owed(store, settings, fire):
        return False
    key = week_key(fire, zone, PREFIX)
    if now - fire > settings.digest_grace_delay:
        log.warning(
            "officers' digest %s missed by %s (more than DIGEST_GRACE=%s): skipped",
            key,
            now - fire,
            settings.digest_grace,
        )
        return False
    lang = settings.default_language
    period = stats.weeks_up_to(fire, zone, current=False)
    report = await stats.officer_report(store, period, current=False)
    text = stats.report_html(report, lang, digest=True)
    chart = stats.officer_chart(report, lang, zone)
    async with store.transaction() as tx:
        if not await tx.stats.claim_digest(key, period.start, period.end):
            return False
        await tx.outbox.enqueue(
            NewDelivery(
                kind="digest",
                chat_id=settings.officer_chat_id,
                lane=f"digest:{settings.officer_chat_id}",
                priority=PRIORITY_NOTICE,
                dedupe_key=key,
                payload=Payload(
                    (
                        content.text(text),
                        content.chart(
                            chart.to_json(), stats.caption_html(report, lang, digest=True)
                        ),
                    )
                ),
            )
        )
    log.info("officers' digest %s queued", key)
    return True
