"""/broadcast in the officer chat: text or photo → alert or announcement → preview with the
exact recipient count → Send. A delivery report in the officer chat is edited live."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import broadcasts
from bot import callbacks as cb
from bot.content import visible_length
from bot.session import BroadcastDraft
from handlers.common import Context, answer, ask, keyboard, tidy
from handlers.officers import officer_t, reply_prompt

log = logging.getLogger(__name__)
WRITE, KIND, CONFIRM = "write", "kind", "confirm"
Step = str | int | None


def _draft(context: Context) -> BroadcastDraft:
    session = context.session
    if session.broadcast is None:
        session.broadcast = BroadcastDraft()
    return session.broadcast


async def start(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or context.officer is None:
        return ConversationHandler.END
    context.session.broadcast = BroadcastDraft()
    await ask(
        message,
        context,
        officer_t(context, "broadcast.ask_text"),
        reply_markup=reply_prompt(message),
    )
    return WRITE


async def on_text(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None:
        return None
    text = (message.caption or "") if message.photo else (message.text or "")
    room = broadcasts.room(photo=bool(message.photo))
    if visible_length(html.escape(text, quote=False)) > room:
        await ask(
            message,
            context,
            officer_t(context, "broadcast.too_long", limit=room),
            reply_markup=reply_prompt(message),
        )
        return None
    draft = _draft(context)
    draft.id, draft.text = message.message_id, text
    draft.photo = message.photo[-1].file_id if message.photo else None
    author = message.from_user.id if message.from_user else 0
    await ask(
        message,
        context,
        officer_t(context, "broadcast.ask_kind"),
        reply_markup=keyboard(
            context.porch.officers.language,
            [
                [
                    ("broadcast.kind_alert", _button(cb.BROADCAST_KIND, "alert", author, draft)),
                    (
                        "broadcast.kind_announcement",
                        _button(cb.BROADCAST_KIND, "ann", author, draft),
                    ),
                ]
            ],
        ),
    )
    return KIND


def _button(kind: cb.Kind[cb.DraftChoice], choice: str, author: int, draft: BroadcastDraft) -> str:
    """A button bound to its draft: its author and the message that gave its text."""
    return kind.build(cb.DraftChoice(choice, author, draft.id or 0))


async def _own_press(
    update: Update, context: Context, kind: cb.Kind[cb.DraftChoice] | None
) -> str | None:
    """The choice pressed on the presser's own current draft; otherwise the press is answered
    (a colleague's preview: only its author may act on it; an older preview: stale) and None."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return None
    press = cb.BROADCAST_KIND.parse(query.data) or cb.BROADCAST_SEND.parse(query.data)
    if press is None or press.author != user.id:
        await answer(query, officer_t(context, "broadcast.not_yours"))
        return None
    draft = context.session.broadcast or BroadcastDraft()
    in_step = kind is not None and kind.parse(query.data) is not None
    if not in_step or press.draft != draft.id or draft.text is None:
        await answer(query, context.t("common.stale"))
        return None
    return press.choice


async def on_foreign_press(update: Update, context: Context) -> None:
    """A broadcast button pressed by someone with no broadcast in progress."""
    await _own_press(update, context, None)


async def on_kind(update: Update, context: Context) -> Step:
    query = update.callback_query
    choice = await _own_press(update, context, cb.BROADCAST_KIND)
    if query is None or choice is None:
        return None
    draft = _draft(context)
    draft.kind = "alert" if choice == "alert" else "announcement"
    await answer(query)
    who = await broadcasts.audience(context.porch.store)
    lang = context.porch.officers.language
    preview = broadcasts.officer_message_html(draft.kind, draft.text or "", lang)
    count = officer_t(
        context, "broadcast.preview_count", residents=who.residents, groups=who.groups
    )
    if draft.kind == "alert" and context.porch.settings.broadcast_paid:
        stars = broadcasts.paid_cost(who, lang)
        count += "\n" + officer_t(context, "broadcast.preview_paid", stars=stars)
    author = query.from_user.id
    buttons = keyboard(
        context.porch.officers.language,
        [
            [
                ("broadcast.send", _button(cb.BROADCAST_SEND, "yes", author, draft)),
                ("broadcast.cancel", _button(cb.BROADCAST_SEND, "no", author, draft)),
            ]
        ],
    )
    if not isinstance(query.message, Message):
        return None
    if draft.photo:
        await query.message.reply_photo(draft.photo, caption=preview)
        await ask(query.message, context, count, reply_markup=buttons)
    else:
        await ask(query.message, context, preview + "\n\n" + count, reply_markup=buttons)
    # Only now: if the preview could not be sent, the officer can simply tap again.
    await query.edit_message_reply_markup(None)
    return CONFIRM


async def on_confirm(update: Update, context: Context) -> Step:
    query = update.callback_query
    choice = await _own_press(update, context, cb.BROADCAST_SEND)
    draft = context.session.broadcast or BroadcastDraft()
    if query is None or choice is None:
        return None
    if draft.kind is None:
        await answer(query, context.t("common.stale"))
        return None
    user = context.officer
    if user is None:
        return None
    await answer(query)
    await tidy(query.edit_message_reply_markup(None))  # cosmetic: never stops the broadcast
    if choice == "no" or not isinstance(query.message, Message):
        await context.bot.send_message(
            context.porch.officers.chat_id, officer_t(context, "broadcast.cancelled")
        )
        return ConversationHandler.END
    porch = context.porch
    broadcast = await broadcasts.send_officer_broadcast(
        porch.store,
        key=f"officer:{query.message.chat.id}:{query.message.message_id}",
        kind=draft.kind,
        text=draft.text or "",
        photo_file_id=draft.photo,
        officer_id=user.id,
        bot_username=porch.bot_username,
        paid=porch.settings.broadcast_paid,
    )
    context.session.broadcast = None
    if broadcast is not None:
        progress = await broadcasts.progress(porch.store, broadcast.id)
        report = await query.message.reply_html(
            broadcasts.report_html(broadcast, progress, porch.officers.language)
        )
        await broadcasts.attach_report(
            porch.store, broadcast.id, report.message_id, finished=not progress.get("pending")
        )
    return ConversationHandler.END


async def on_cancel(update: Update, context: Context) -> Step:
    context.session.broadcast = None
    if update.effective_message is not None:
        await ask(update.effective_message, context, officer_t(context, "broadcast.cancelled"))
    return ConversationHandler.END


async def on_unusable(update: Update, context: Context) -> Step:
    if update.effective_message is not None:
        await ask(update.effective_message, context, officer_t(context, "broadcast.unusable"))
    return None


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    entry: list[BaseHandler[Update, Context, Any]] = [
        CommandHandler("broadcast", start, filters=officer_chat)
    ]
    states: dict[object, list[BaseHandler[Update, Context, Any]]] = {
        WRITE: [
            MessageHandler(officer_chat & ((f.TEXT & ~f.COMMAND) | f.PHOTO), on_text),
            MessageHandler(officer_chat & ~f.COMMAND, on_unusable),
        ],
        KIND: [CallbackQueryHandler(on_kind, pattern=cb.BROADCAST_KIND.pattern)],
        CONFIRM: [CallbackQueryHandler(on_confirm, pattern=cb.BROADCAST_SEND.pattern)],
    }
    fallbacks: list[BaseHandler[Update, Context, Any]] = [
        CommandHandler("cancel", on_cancel, filters=officer_chat)
    ]
    app.add_handler(
        ConversationHandler(
            name="officer_broadcast",
            persistent=True,
            entry_points=entry,
            states=states,
            fallbacks=fallbacks,
        )
    )
    # Any broadcast button nobody's conversation took: a colleague's, or an old one.
    app.add_handler(CallbackQueryHandler(on_foreign_press, pattern=cb.BROADCAST_KIND.loose))
    app.add_handler(CallbackQueryHandler(on_foreign_press, pattern=cb.BROADCAST_SEND.loose))
