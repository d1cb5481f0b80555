"""The parts of `porchlight check` a replicated deployment needs (README "Several replicas
behind a load balancer"): the webhook as Telegram sees it, and the PostgreSQL server as the
replicas will use it (its version, and whether every replica's pool fits its connections)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Bot
from telegram.error import TelegramError

from bot.app import ALLOWED_UPDATES
from bot.config import Settings
from storage.sql import Connection

OK, WARN, PROBLEM = "OK     ", "WARNING", "PROBLEM"
# PostgreSQL 13 is the oldest the migrations and queries are written for (README).
OLDEST_POSTGRES = 130000
# A webhook error this recent, with updates waiting, means deliveries are failing now.
RECENT_ERROR_S = 3600
# Connections kept out of the replicas' sum: `porchlight check`, `export`, `migrate`, psql.
SPARE_CONNECTIONS = 3


class Report:
    def __init__(self) -> None:
        self.problems = 0

    def say(self, level: str, text: str) -> None:
        if level == PROBLEM:
            self.problems += 1
        print(f"[{level}] {text}")


def ago(seconds: float) -> str:
    """'12 seconds ago', '5 minutes ago', '3 hours ago', '2 days ago' (rounded down)."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{seconds} second{'s' if seconds != 1 else ''} ago"


async def check_webhook(
    bot: Bot, settings: Settings, report: Report, now: datetime | None = None
) -> None:
    """What Telegram holds for this bot (getWebhookInfo), against what the settings ask."""
    try:
        info = await bot.get_webhook_info()
    except TelegramError as error:
        report.say(PROBLEM, f"could not read the webhook from Telegram: {error}")
        return
    wanted = settings.webhook_url
    if not wanted:
        if info.url:
            report.say(
                WARN,
                f"a webhook is set at Telegram ({info.url}) and WEBHOOK_URL is not: long polling"
                " gets 409 Conflict while it is set; the bot deletes it when it starts polling"
                " (set WEBHOOK_URL if the webhook is what you want)",
            )
        else:
            report.say(OK, "long polling (WEBHOOK_URL unset, no webhook set at Telegram)")
        return
    if not info.url:
        report.say(
            WARN,
            f"no webhook is registered at Telegram yet: starting the bot registers {wanted}",
        )
    elif info.url != wanted:
        report.say(
            PROBLEM,
            f"Telegram posts updates to {info.url}, not to WEBHOOK_URL {wanted}: another"
            " deployment with this token (or an old setting) registered it; starting the bot"
            " registers WEBHOOK_URL again, so stop the other one first",
        )
    else:
        report.say(OK, f"webhook registered at Telegram: {info.url}")
    pending = info.pending_update_count
    report.say(OK, f"Telegram holds {pending} update(s) not yet delivered to the webhook")
    if info.last_error_date is not None:
        moment = (now or datetime.now(UTC)) - info.last_error_date
        when = f"{info.last_error_date:%Y-%m-%d %H:%M:%S} UTC, {ago(moment.total_seconds())}"
        failing = pending > 0 and moment.total_seconds() < RECENT_ERROR_S
        report.say(
            PROBLEM if failing else WARN,
            f"Telegram's last delivery error ({when}): {info.last_error_message}; check that"
            " the reverse proxy reaches a running replica (WEBHOOK_LISTEN, WEBHOOK_PORT)",
        )
    report.say(
        OK,
        "WEBHOOK_SECRET is set: requests without it are refused (Telegram never shows the one"
        " it holds; starting the bot registers it, the same for every replica)",
    )
    if info.url:
        report.say(OK, f"Telegram opens at most {info.max_connections} connections at once to it")
        sent = set(info.allowed_updates or ())
        if sent != set(ALLOWED_UPDATES):
            shown = ", ".join(sorted(sent)) or "Telegram's default"
            report.say(
                WARN,
                f"Telegram sends updates of kinds {shown}, and the bot needs"
                f" {', '.join(sorted(ALLOWED_UPDATES))}: starting the bot sets them",
            )
        else:
            report.say(OK, f"allowed updates are the bot's: {', '.join(sorted(sent))}")


CONTROL_CONNECTIONS = 1  # a replica's own connection outside the pool (bot/replicas.py)


async def check_postgres(conn: Connection, pool_size: int, report: Report) -> None:
    """The server's version, and the connection arithmetic of replicas × DATABASE_POOL_SIZE."""
    async with conn.execute(
        "SELECT current_setting('server_version'), current_setting('server_version_num'),"
        " current_setting('max_connections'), current_setting('superuser_reserved_connections'),"
        " coalesce(current_setting('reserved_connections', true), '0'),"
        " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
        " (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'porchlight')"
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    version, number = str(row[0]).split(" ", 1)[0], int(row[1])
    if number < OLDEST_POSTGRES:
        report.say(PROBLEM, f"PostgreSQL {version}: Porchlight needs PostgreSQL 13 or newer")
    else:
        report.say(OK, f"PostgreSQL {version}")
    most, reserved = int(row[2]), int(row[3]) + int(row[4])
    usable = most - reserved
    in_use, ours = int(row[5]), int(row[6])
    each = pool_size + CONTROL_CONNECTIONS
    replicas = max(0, (usable - SPARE_CONNECTIONS) // each)
    now = f"{in_use} connected now, {ours} of them Porchlight's"
    if replicas == 0:
        report.say(
            PROBLEM,
            f"max_connections {most} − {reserved} reserved = {usable} for clients, and one"
            f" replica needs DATABASE_POOL_SIZE = {pool_size} + {CONTROL_CONNECTIONS} of its own"
            f" + {SPARE_CONNECTIONS} spare"
            f" ({now}): lower DATABASE_POOL_SIZE or raise the server's max_connections",
        )
        return
    sums = (
        f"max_connections {most} − {reserved} reserved = {usable} for clients; each replica"
        f" opens at most DATABASE_POOL_SIZE = {pool_size} and {CONTROL_CONNECTIONS} of its own"
        f" (news and the leader's lock), and {SPARE_CONNECTIONS} stay spare for porchlight"
        f" check/export/migrate and psql: {replicas} replica(s) fit"
        f" ({replicas} × {each} + {SPARE_CONNECTIONS} ="
        f" {replicas * each + SPARE_CONNECTIONS} ≤ {usable}); {now}"
    )
    if replicas == 1:
        report.say(WARN, f"{sums}. A second replica needs a smaller DATABASE_POOL_SIZE")
    else:
        report.say(OK, sums)
