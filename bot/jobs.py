"""Every kind of timed work, as plain functions over storage: when it is next due, and what
runs then. bot.alarms rings them; nothing here knows Telegram or a scheduler, so a new kind
(escalation of unacknowledged urgent tips, the officers' weekly digest, daily retention) is
two functions here and one line in bot.alarms.ALARMS.

A `due` function answers from storage (and the configuration) alone, so the answer is the same
after a restart: a time in the past means "now". A `run` function does what is due at the
store's clock and nothing else, and is idempotent: ringing twice, or ringing early, sends
nothing twice.

- the weekly safety broadcast: due at the cron time in `TIMEZONE` (daylight saving keeps the
  local hour), or at once while this week's run is owed — missed by less than BROADCAST_GRACE;
  its ISO week is its key;
- event reminders and feedback: due at the earliest pending `event_jobs` row; each row is
  claimed in the transaction that queues its messages;
- delivery reports: due as long as a report in the officer chat is open (bot.alarms paces the
  edits REPORT_INTERVAL apart);
- escalation of urgent tips still 'new': due at the next round (ESCALATION_AFTER after the
  tip or its last ping), or at once when an acknowledged tip's card is still pinned; each round
  is claimed with its messages (bot.escalation);
- the stale list: due at STALE_LIST_HOUR on a day something is stale, once per date;
- retention: due at RETENTION_HOUR every day, once per date (bot.retention).
- the officers' weekly digest: due at DIGEST_CRON in `TIMEZONE`, or at once while this week's
  is owed — missed by less than DIGEST_GRACE; its ISO week is its key (bot.digest).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot import broadcasts, digest, escalation, events, retention
from bot.config import Settings
from bot.escalation import Mentions
from bot.schedule import next_fire, previous_fire, week_key, weekly_trigger
from storage import Store

log = logging.getLogger(__name__)

# Between two edits of a delivery report: each one spends the officer chat's 20 a minute.
REPORT_INTERVAL = timedelta(seconds=10)

EditText = Callable[[int, int, str], Awaitable[bool]]
"""Edit the HTML text of a message (chat id, message id, text). False: try again at the next
refresh (Telegram was out of reach); True: edited, unchanged, or refused for good."""


async def weekly_due(store: Store, settings: Settings) -> datetime | None:
    """The last scheduled run while it is owed (not done, less than BROADCAST_GRACE ago, the
    deployment existed then, the library has advice to send); otherwise the next one."""
    trigger = weekly_trigger(settings.safety_broadcast_cron, settings.zone)
    now = store.clock.now()
    fire = previous_fire(trigger, now)
    if fire is not None and now - fire <= settings.grace:
        async with store.read() as tx:
            done = await tx.broadcasts.get_by_key(week_key(fire, settings.zone))
            since = await tx.library.first_loaded_at()
            advice = await tx.library.next_in_rotation()
        if done is None and since is not None and since <= fire and advice is not None:
            return fire
    return next_fire(trigger, now)


async def run_weekly(store: Store, settings: Settings) -> None:
    """The last scheduled run, once, if it is less than BROADCAST_GRACE late (at start, a run
    missed by more is logged and skipped)."""
    await broadcasts.catch_up_weekly(store, settings, store.clock.now())


async def event_jobs_due(store: Store) -> datetime | None:
    """The earliest pending reminder or feedback question."""
    return min(await events.next_due(store), default=None)


async def run_event_jobs(store: Store, settings: Settings) -> None:
    """Every event job due now; a reminder found due after its event started is skipped."""
    for run in await events.run_due(store, settings):
        log.info("event job %s (%s) sent to %d", run.job_id, run.kind, run.sent_to)


async def reports_due(store: Store) -> datetime | None:
    """Since when a delivery report has been open (None: every report is final)."""
    async with store.read() as tx:
        reports = await tx.broadcasts.open_reports()
    return min((report.created_at for report in reports), default=None)


async def refresh_reports(store: Store, settings: Settings, edit: EditText) -> None:
    """Edit each open delivery report in the officer chat; once nothing is pending the edit
    is the summary, and the report is final."""
    async with store.read() as tx:
        reports = await tx.broadcasts.open_reports()
        progress = {report.id: await tx.broadcasts.progress(report.id) for report in reports}
    for report in reports:
        assert report.report_message_id is not None
        text = broadcasts.report_html(report, progress[report.id], settings.default_language)
        if not await edit(settings.officer_chat_id, report.report_message_id, text):
            continue
        if not progress[report.id].get("pending"):
            async with store.transaction() as tx:
                await tx.broadcasts.finish(report.id)


async def escalation_due(store: Store, settings: Settings) -> datetime | None:
    return await escalation.escalation_due(store, settings)


async def run_escalations(store: Store, settings: Settings, who: Mentions) -> None:
    sent = await escalation.run_escalations(store, settings, who)
    if sent:
        log.info("%d urgent tip(s) escalated", sent)


async def stale_due(store: Store, settings: Settings) -> datetime | None:
    return await escalation.stale_due(store, settings)


async def run_stale_list(store: Store, settings: Settings) -> None:
    if await escalation.run_stale_list(store, settings):
        log.info("stale tips listed for officers")


async def retention_due(store: Store, settings: Settings) -> datetime | None:
    return await retention.retention_due(store, settings)


async def run_retention(store: Store, settings: Settings) -> None:
    done = await retention.run_retention(store, settings)
    if done is not None and (done.tips_detached or done.rows_deleted):
        log.info(
            "retention: %d tip(s) detached from their residents, %d delivery row(s) deleted",
            done.tips_detached,
            done.rows_deleted,
        )


async def digest_due(store: Store, settings: Settings) -> datetime | None:
    return await digest.digest_due(store, settings)


async def run_digest(store: Store, settings: Settings) -> None:
    await digest.run_digest(store, settings)
