"""`build_application(settings)`: the one place where storage, translations, handlers,
delivery and the Telegram connection are wired together."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

import handlers
from bot import broadcasts, startup
from bot.concurrency import PerChatUpdateProcessor
from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.delivery import Drainer
from bot.i18n import N_, plain
from bot.persistence import SqlitePersistence
from bot.schedule import weekly_trigger
from bot.services import FloodGuard, Porch
from bot.tips import OfficerChat
from handlers import events as event_handlers
from handlers import safety
from handlers.common import Context
from storage import Store
from storage.clock import Clock

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "chat_member"]
# Command menus (setMyCommands): command → description message id.
RESIDENT_COMMANDS = {
    "report": N_("command.report"),
    "mytips": N_("command.mytips"),
    "language": N_("command.language"),
    "events": N_("command.events"),
    "safety": N_("command.safety"),
    "settings": N_("command.settings"),
    "subscribe": N_("command.subscribe"),
    "unsubscribe": N_("command.unsubscribe"),
    "privacy": N_("command.privacy"),
    "help": N_("command.help"),
    "cancel": N_("command.cancel"),
}
OFFICER_COMMANDS = {
    "note": N_("command.officer_note"),
    "broadcast": N_("command.officer_broadcast"),
    "newevent": N_("command.officer_newevent"),
    "events": N_("command.officer_events"),
    "cancelevent": N_("command.officer_cancelevent"),
    "addtip": N_("command.officer_addtip"),
    "tips": N_("command.officer_tips"),
    "help": N_("command.officer_help"),
}

PorchApp = Application[Any, Context, dict[str, Any], dict[str, Any], dict[str, Any], Any]


def build_application(settings: Settings, *, clock: Clock | None = None) -> PorchApp:
    store = Store(settings.database_path, clock)
    api = settings.telegram_api_url
    app: PorchApp = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=Context))
        .persistence(SqlitePersistence(store))
        # 8 chats at a time: more only queues requests in httpx's pool (measured in bench/).
        .concurrent_updates(PerChatUpdateProcessor(8))
        .connection_pool_size(64)
        .rate_limiter(paced_limiter(settings))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["porch"] = Porch(
        settings=settings,
        store=store,
        officers=OfficerChat(settings.officer_chat_id, settings.default_language, settings.zone),
        flood=FloodGuard(settings.messages_per_minute),
    )
    handlers.register(app, settings.officer_chat_id)
    return app


GROUP_BURST = 4


def paced_limiter(settings: Settings) -> AIORateLimiter:
    """PTB's AIORateLimiter, paced the way Telegram counts.

    Its default lets a full second's worth of messages out at once and then refills, so a
    long broadcast keeps bursting past "30 in any second" and collects 429s (each pausing every
    send). Overall we send evenly, one every 1/rate seconds (less 1 %); a group may get a
    small burst (a tip card and its thread) but never more than its per-minute limit in any
    minute. A 429 still reaches the outbox (max_retries=0), which honours retry_after.
    """
    # 1 % under the limit: timer jitter must never put one message too many in a second.
    overall = settings.rate_limit_per_second * 0.99
    group = settings.rate_limit_group_per_minute
    # A bucket of `burst` refilled at r per second allows burst + 60·r in a minute: keep it ≤ group.
    burst = max(1, min(GROUP_BURST, int(group // 2)))
    refill = 60 * burst / (group - burst) if group > burst else 60 * burst / group if group else 0
    return AIORateLimiter(
        overall_max_rate=1 if overall else 0,
        overall_time_period=1 / overall if overall else 0,
        group_max_rate=burst if group else 0,
        group_time_period=refill,
        max_retries=0,
    )


def porch_of(app: PorchApp) -> Porch:
    porch = app.bot_data["porch"]
    assert isinstance(porch, Porch)
    return porch


async def _post_init(app: PorchApp) -> None:
    """Open storage, load the library, rebuild schedules, resume the outbox, publish menus."""
    porch = porch_of(app)
    await porch.store.open()
    await broadcasts.load_library(porch.store)
    schedule_jobs(app, porch.settings)
    await broadcasts.catch_up_weekly(porch.store, porch.settings, porch.store.clock.now())
    await event_handlers.reschedule(app)
    porch.bot_username = app.bot.username
    porch.drainer = Drainer(porch.store, app.bot)
    await porch.drainer.start()
    await set_command_menus(app, porch.settings)
    await startup.announce(app, porch.settings)


def schedule_jobs(app: PorchApp, settings: Settings) -> None:
    """APScheduler is only the clock: each job reads what to do from the database."""
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is required")
    app.job_queue.run_custom(
        safety.weekly_job,
        job_kwargs={
            "trigger": weekly_trigger(settings.safety_broadcast_cron, settings.zone),
            "misfire_grace_time": int(settings.grace.total_seconds()),
            "coalesce": True,
        },
        name="weekly-safety-broadcast",
    )


async def set_command_menus(app: PorchApp, settings: Settings) -> None:
    try:
        for language in SUPPORTED_LANGUAGES:
            commands = [BotCommand(c, plain(language, key)) for c, key in RESIDENT_COMMANDS.items()]
            code = None if language == settings.default_language else language
            await app.bot.set_my_commands(
                commands, scope=BotCommandScopeAllPrivateChats(), language_code=code
            )
        lang = settings.default_language
        await app.bot.set_my_commands(
            [BotCommand(c, plain(lang, key)) for c, key in OFFICER_COMMANDS.items()],
            scope=BotCommandScopeChat(settings.officer_chat_id),
        )
    except TelegramError as error:
        log.warning("could not set the command menus: %s (is the bot in the officer chat?)", error)


async def _post_stop(app: PorchApp) -> None:
    porch = porch_of(app)
    if porch.drainer is not None:
        await porch.drainer.stop()


async def _post_shutdown(app: PorchApp) -> None:
    await porch_of(app).store.close()


def allowed_updates() -> list[str]:
    return list(ALLOWED_UPDATES)


__all__ = ["ALLOWED_UPDATES", "Update", "build_application", "porch_of"]
