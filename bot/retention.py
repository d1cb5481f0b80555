"""Retention: what Porchlight stops keeping by itself, once a day.

- A tip resolved (or marked spam) more than RETENTION_DAYS ago is detached from its resident,
  as erasure detaches it (storage.privacy.PrivacyRepo.detach): no resident id, no shared name,
  no mapping from their chat, no source chat on their follow-ups. The tip stays on record; an
  officer who replies to it is told it is past the retention period (bot/relay.py).
- Finished deliveries (sent, failed, unreachable outbox rows) last touched more than
  DELIVERED_KEEP ago are deleted: the outbox is a delivery log, and the database stays small.
  A pending row is never deleted, nor a row a live delivery report still counts.
- Handled updates are already forgotten by the inbox after 48 hours (bot/inbox.py); a pending
  one is kept until it is handled.

The run is an alarm (bot/alarms.py) at RETENTION_HOUR in TIMEZONE, once per local date (the key
`retention:YYYY-MM-DD` in daily_runs, claimed when a run that did something is complete, so a
run cut by a restart is finished at the next start; a run with nothing to do only reads, and
the alarm service does not ring it again for the same time). Work goes in small transactions
(TIP_BATCH tips, ROW_BATCH rows), so a year's backlog never holds the single SQLite writer for
long. /privacy states both periods from the same settings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from bot.config import Settings
from storage import Store, Tx

log = logging.getLogger(__name__)

DELIVERED_KEEP = timedelta(days=30)
RETENTION_HOUR = 3  # local time: the quiet of the night
TIP_BATCH = 100
ROW_BATCH = 500
DETACHED = "retention"


@dataclass(frozen=True)
class Retained:
    tips_detached: int
    rows_deleted: int


def delivered_keep_days() -> int:
    return DELIVERED_KEEP.days


def run_key(settings: Settings, moment: datetime) -> str:
    return "retention:" + moment.astimezone(settings.zone).date().isoformat()


def _run_time(settings: Settings, moment: datetime) -> datetime:
    """RETENTION_HOUR on the local date of `moment`."""
    local = moment.astimezone(settings.zone).date()
    return datetime.combine(local, time(RETENTION_HOUR), tzinfo=settings.zone)


async def retention_due(store: Store, settings: Settings) -> datetime:
    """Today's run time while today's run is owed (in the past: at once), else tomorrow's."""
    now = store.clock.now()
    async with store.read() as tx:
        done = await tx.escalations.day_done(run_key(settings, now))
    today = _run_time(settings, now)
    return _run_time(settings, today + timedelta(days=1)) if done else today


async def run_retention(store: Store, settings: Settings) -> Retained | None:
    """Today's run, once; None before its time or when it ran already."""
    now = store.clock.now()
    key = run_key(settings, now)
    if now < _run_time(settings, now):
        return None
    async with store.read() as tx:
        if await tx.escalations.day_done(key):
            return None
    days = settings.retention_days
    detached = deleted = 0
    while True:
        async with store.read() as tx:  # a day with nothing to do writes nothing
            tip_ids = await tx.privacy.closed_before(now - timedelta(days=days), TIP_BATCH)
        if not tip_ids:
            break
        await store.run(partial(_detach, tip_ids=tip_ids, days=days))
        detached += len(tip_ids)
        await asyncio.sleep(0)  # others waiting for the writer go first
    while True:
        async with store.read() as tx:
            if not await tx.privacy.any_delivered(now - DELIVERED_KEEP):
                break
        deleted += await store.run(partial(_forget_delivered, before=now - DELIVERED_KEEP))
        await asyncio.sleep(0)
    if detached or deleted:
        async with store.transaction() as tx:
            await tx.escalations.claim_day(key)
    return Retained(detached, deleted)


# One batch each: a whole transaction, run again if PostgreSQL picks it as a deadlock's victim
# (a batch of tips locked in scan order can meet an erasure or a desk press on one of them).
async def _detach(tx: Tx, *, tip_ids: list[int], days: int) -> None:
    await tx.privacy.detach(tip_ids, DETACHED)
    for tip_id in tip_ids:
        await tx.audit("tip.detached", actor_id=None, tip_id=tip_id, detail=str(days))


async def _forget_delivered(tx: Tx, *, before: datetime) -> int:
    forgotten: int = await tx.privacy.forget_delivered(before, ROW_BATCH)
    return forgotten
