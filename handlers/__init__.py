"""Telegram-facing adapters: parse an update, call bot/, answer. Registered here, in one place.

handlers → bot → storage: no module here imports `storage` (ruff TID251). Officer-only updates
pass one gate first (handlers/gate.py, group -2), so officer handlers read `context.officer`
instead of checking it themselves; callback data is built and parsed by bot/callbacks.py.
Order matters where noted.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, TypeHandler

from bot import callbacks as cb
from handlers import (
    broadcasts,
    cards,
    desk,
    desk_tools,
    events,
    groups,
    officers,
    overview,
    privacy,
    quick_tip,
    report,
    residents,
    safety,
    start,
    stats,
    subscriptions,
)
from handlers.common import (
    ensure_resident,
    on_error,
    repeat_lost_prompt,
    stale_button,
)

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit: anything longer was not issued by us


def worth_flushing(update: object, officer_chat_id: int) -> bool:
    """Whose drafts and conversation steps are written as soon as their update was handled
    (bot/app.py), so a crash loses at most the step in flight and another replica reads the
    step just taken: private chats and the officer chat (PTB otherwise writes every few
    seconds)."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return False
    chat = update.effective_chat
    return chat.type == "private" or chat.id == officer_chat_id


def worth_handling(update: object, officer_chat_id: int) -> bool:
    """What some handler below takes, decided before an update gets a processing slot: a flood
    of junk (channel posts, group chatter, button presses without usable data) never queues in
    front of people. Everything else is answered, even if only to refuse."""
    if not isinstance(update, Update):
        return True  # PTB's own error objects go to the error handler
    if update.my_chat_member is not None or update.chat_member is not None:
        return True
    query = update.callback_query
    if query is not None:
        data = query.data or ""
        return 0 < len(data.encode()) <= CALLBACK_DATA_LIMIT
    message = update.message
    if message is None:
        return False
    if message.chat.type == "private" or message.chat.id == officer_chat_id:
        return True
    if message.chat.type in ("group", "supergroup"):  # community groups: commands, migration
        command = bool(message.text and message.text.startswith("/"))
        return command or bool(message.migrate_to_chat_id or message.migrate_from_chat_id)
    return False


def register(app: Application, officer_chat_id: int) -> None:
    # Group -4: every update from the officer chat says whether it is a forum now (a topic per
    # tip, bot/forum.py); nothing is answered here.
    app.add_handler(TypeHandler(Update, officers.on_officer_chat_seen), group=-4)
    # Group -3: guards that run before any answer (resident registration, flood control).
    app.add_handler(TypeHandler(Update, ensure_resident), group=-3)
    # Group -2: the officer gate (handlers/gate.py) stops every officer-only update from a
    # non-officer; replies to a tip's thread, and messages in a tip's forum topic, are relayed
    # (and go no further, whatever conversation the officer is in).
    officers.register_guards(app, officer_chat_id)
    # Group -1: a prompt Telegram kept refusing is repeated at the person's next message.
    app.add_handler(TypeHandler(Update, repeat_lost_prompt), group=-1)
    # Group 0, first match wins: officer chat, then the report conversation (it owns /start
    # report and every step), then residents' commands, then anything else in private chats.
    officers.register(app, officer_chat_id)
    broadcasts.register(app, officer_chat_id)
    groups.register(app, officer_chat_id)
    events.register(app, officer_chat_id)
    cards.register(app)
    desk.register(app)  # before the report: a rating press in the middle of one counts
    desk_tools.register(app, officer_chat_id)
    overview.register(app, officer_chat_id)
    stats.register(app, officer_chat_id)
    app.add_handler(report.conversation(app))
    app.add_handler(CallbackQueryHandler(quick_tip.decline_quick_tip, pattern=cb.QUICK_NO.pattern))
    start.register(app)
    privacy.register(app)
    safety.register(app, officer_chat_id)
    subscriptions.register(app)
    residents.register(app)
    officers.register_last(app, officer_chat_id)
    app.add_handler(CallbackQueryHandler(stale_button))
    # Group 1: persist what group 0 changed.
    app.add_error_handler(on_error)
