"""`build_application(settings)`: the one place where storage, translations, handlers,
delivery and the Telegram connection are wired together."""

from __future__ import annotations

import functools
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ChatFullInfo,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    ConversationHandler,
    Defaults,
)

import handlers
from bot import broadcasts, desk, i18n
from bot.alarms import AlarmClock, telegram_editor, telegram_mentions
from bot.budget import TelegramBudget
from bot.commands import OFFICER_COMMANDS, RESIDENT_COMMANDS
from bot.concurrency import PerChatUpdateProcessor, chat_key
from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.delivery import Drainer
from bot.forum_sending import ForumTopics
from bot.http import RawUpdates, make_request
from bot.i18n import plain
from bot.inbox import Inbox
from bot.persistence import SqlitePersistence
from bot.replicas import Replica
from bot.services import FloodGuard, Porch
from bot.session import Session
from bot.shared_budget import SharedFloodBudget
from bot.surge import SurgeGate
from bot.tips import OfficerChat
from handlers.common import Context
from storage import DATABASE_ERRORS, Store
from storage.clock import Clock

log = logging.getLogger(__name__)
start_log = logging.getLogger("porchlight")  # the start line a deployer reads

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "chat_member"]
PorchApp = Application[Any, Context, Session, dict[str, Any], dict[str, Any], Any]


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    budget_clock: Callable[[], float] = time.monotonic,
) -> PorchApp:
    """`clock` is storage's wall clock, `budget_clock` the flood budget's (tests move both)."""
    store = Store(settings.database, clock, pool_size=settings.database_pool_size)
    replica = Replica(store, settings.replica, settings.lease_seconds)
    persistence = SqlitePersistence(store)
    inbox = Inbox(store, replica, persistence)
    # 8 chats at a time: more only queues requests in httpx's pool (measured in bench/).
    processor = PerChatUpdateProcessor(
        8,
        accept=functools.partial(handlers.worth_handling, officer_chat_id=settings.officer_chat_id),
        after=inbox.handled,
    )
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
        .context_types(ContextTypes(context=Context, user_data=Session))
        .persistence(persistence)
        .update_queue(inbox)
        .concurrent_updates(processor)
        # The outbox's sends in flight, the 8 chats' answers and the alarms' edits at once.
        .request(make_request(settings.http_backend, pool_size=in_flight(settings) + 32))
        .get_updates_request(
            RawUpdates(make_request(settings.http_backend, pool_size=2), inbox.received)
        )
        .rate_limiter(telegram_budget(settings, budget_clock, store))
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
        replica=replica,
    )
    handlers.register(app, settings.officer_chat_id)
    processor.after = functools.partial(after_update, app, inbox, settings.officer_chat_id)
    if replica.shared:
        processor.before = functools.partial(chat_turn, app, replica, persistence)
    return app


async def after_update(app: PorchApp, inbox: Inbox, officer_chat_id: int, update: object) -> None:
    """After every handler ran (ApplicationHandlerStop included, and after PTB marked whose
    data changed): the person's draft and step are committed in the transaction that marks the
    update handled, so a crash keeps both or neither (the update is then handled again)."""
    if handlers.worth_flushing(update, officer_chat_id) and inbox.persistence is not None:
        with inbox.persistence.riding():  # queued here, committed with the update's mark
            await app.update_persistence()
    await inbox.handled(update)


async def chat_turn(
    app: PorchApp, replica: Replica, persistence: SqlitePersistence, update: object
) -> None:
    """Before an update is handled (several replicas): its chat's turn, then the chat's
    conversation steps as the replica that handled the previous update left them."""
    if not isinstance(update, Update):
        return
    try:
        await replica.wait_turn(chat_key(update), update.update_id)
        if update.effective_user is not None:
            persistence.seen(update.effective_user.id, update.update_id)
        conversations = [
            handler
            for group in app.handlers.values()
            for handler in group
            if isinstance(handler, ConversationHandler) and handler.persistent
        ]
        await persistence.refresh_conversations(conversations, update)
    except DATABASE_ERRORS as error:  # the handler meets the same database and says so
        log.warning("update %s: its turn could not be read (%s)", update.update_id, error)


def in_flight(settings: Settings) -> int:
    """The outbox's sends in flight. Throughput is sends in flight / Telegram's round trip:
    64 keep 1,000 messages a second (a paid broadcast) up to a 64 ms round trip. httpx scans its
    whole pool on every request, so more than 8 only slow it down (bench/, issue 12). A crash
    can send again at most this many rows (a row holds its slot until its send is recorded)."""
    return 8 if settings.http_backend == "httpx" else 64


def telegram_budget(settings: Settings, clock: Callable[[], float], store: Store) -> TelegramBudget:
    """Every Bot API call goes through one retry policy and one flood budget (bot.budget);
    replicas on one PostgreSQL share the budget through `store` (bot.shared_budget)."""
    shared = (
        SharedFloodBudget(
            store,
            settings.rate_limit_per_second,
            settings.rate_limit_group_per_minute,
            paid_per_second=settings.rate_limit_paid_per_second,
        )
        if settings.shares_flood_limits
        else None
    )
    return TelegramBudget(
        settings.rate_limit_per_second,
        settings.rate_limit_group_per_minute,
        private_per_second=settings.rate_limit_private_per_second,
        paid_per_second=settings.rate_limit_paid_per_second,
        clock=clock,
        shared=shared,
    )


def mode(settings: Settings) -> str:
    if not settings.webhook_url:
        return "long polling"
    return (
        f"webhook {settings.webhook_url} (listening on "
        f"{settings.webhook_listen}:{settings.webhook_port}{settings.listen_path})"
    )


async def officer_chat(app: PorchApp) -> ChatFullInfo | TelegramError:
    """The officer chat as Telegram describes it at start: whether it is a forum (each tip
    then gets a topic, bot/forum.py) is learnt here, before the outbox drains."""
    porch = porch_of(app)
    try:
        chat = await app.bot.get_chat(porch.settings.officer_chat_id)
    except TelegramError as error:
        return error
    porch.officers.forum.observe(bool(chat.is_forum))
    return chat


async def announce(app: PorchApp, settings: Settings, seen: ChatFullInfo | TelegramError) -> None:
    """The start line: who the bot is, where officers are, how updates arrive."""
    chat_id = settings.officer_chat_id
    if isinstance(seen, TelegramError):
        officers = f"officer chat {chat_id} (not visible to the bot: {seen}; run porchlight check)"
    else:
        topics = ", a forum: a topic per tip" if seen.is_forum else ""
        officers = f'officer chat {chat_id} "{seen.title}"{topics}'
    shared = "; flood limits shared through the database" if settings.shares_flood_limits else ""
    start_log.info(
        "Starting Porchlight as @%s; %s; %s%s", app.bot.username, officers, mode(settings), shared
    )


def porch_of(app: PorchApp) -> Porch:
    porch = app.bot_data["porch"]
    assert isinstance(porch, Porch)
    return porch


async def _post_init(app: PorchApp) -> None:
    """Open storage, queue unhandled updates, load the library, start the alarms (they catch
    up and rebuild from storage), resume the outbox, publish menus."""
    porch = porch_of(app)
    await porch.store.open()
    if isinstance(app.update_queue, Inbox):
        porch.replica.take = app.update_queue.requeue
        await app.update_queue.replay(app.bot)  # before polling: stored updates come first
    await broadcasts.load_library(porch.store)
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is required")
    alarms = porch.alarms = AlarmClock(
        porch.store,
        porch.settings,
        app.job_queue,
        telegram_editor(app.bot),
        mentions=telegram_mentions(app.bot, porch.settings),
    )

    async def lead() -> None:  # the alarms ring on the leader only (bot/replicas.py)
        await alarms.start()
        if porch.drainer is not None:
            porch.drainer.wake()  # the officer chat's queue is the leader's

    porch.replica.on_lead, porch.replica.on_follow = lead, alarms.stop
    porch.replica.forget_member = porch.roster.forget
    await porch.replica.start()
    porch.bot_username = app.bot.username
    budget = app.bot.rate_limiter
    surge = (
        SurgeGate(porch.store, budget, porch.officers)
        if isinstance(budget, TelegramBudget)
        else None
    )
    render_card = functools.partial(desk.current_card, porch.store, porch.officers)
    seen = await officer_chat(app)
    topics = ForumTopics(porch.store, app.bot, porch.officers)
    porch.drainer = Drainer(
        porch.store,
        app.bot,
        surge=surge,
        render_card=render_card,
        topics=topics,
        concurrency=in_flight(porch.settings),
        replica=porch.replica,
        officer_chat_id=porch.settings.officer_chat_id,
    )
    porch.replica.holding = porch.drainer.holding
    await porch.drainer.start()
    await set_command_menus(app, porch.settings)
    await announce(app, porch.settings, seen)
    i18n.warm_up()
    # What start-up built (modules, handlers, the library, caches) lives as long as the process:
    # out of the collector's sight, a full collection during a broadcast pauses the loop for a
    # few milliseconds instead of tens (60-90 ms pauses cost a paid alert 5 % of its pace, and
    # a broadcast with limits off 12 %: bench/). Garbage is collected first, not frozen.
    gc.collect()
    gc.freeze()


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
    if porch.alarms is not None:
        await porch.alarms.stop()
    if porch.drainer is not None:
        await porch.drainer.stop()  # gives back what it claimed and did not send
    await porch.replica.stop()  # and the leader's lock


async def _post_shutdown(app: PorchApp) -> None:
    """Close storage, after whatever still uses it: an application that failed to start (a
    webhook port in use) is shut down without post_stop, and the alarms woken by a commit at
    start would otherwise read a closed database."""
    await _post_stop(app)  # a no-op when post_stop ran
    await porch_of(app).store.close()


def allowed_updates() -> list[str]:
    return list(ALLOWED_UPDATES)


__all__ = ["ALLOWED_UPDATES", "Update", "build_application", "porch_of"]
