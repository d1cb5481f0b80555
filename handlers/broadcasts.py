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
from bot.content import visible_length
from handlers.common import Context, answer, ask, callback_parts, keyboard, parse_int
from handlers.officers import from_officer, officer_of, officer_t, reply_prompt

log = logging.getLogger(__name__)
WRITE, KIND, CONFIRM = "write", "kind", "confirm"
Step = str | int | None


def _draft(context: Context) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft: dict[str, Any] = data.setdefault("broadcast", {})
    return draft


async def start(update: Update, context: Context) -> Step:
    found = await from_officer(update, context)
    if found is None:
        return ConversationHandler.END
    message, _ = found
    if context.user_data is not None:
        context.user_data["broadcast"] = {}
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
    draft.update(id=message.message_id, text=text, photo=None)
    if message.photo:
        draft["photo"] = message.photo[-1].file_id
    tag = _tag(message.from_user.id if message.from_user else 0, draft)
    await ask(
        message,
        context,
        officer_t(context, "broadcast.ask_kind"),
        reply_markup=keyboard(
            context.porch.officers.language,
            [
                [
                    ("broadcast.kind_alert", f"bk:alert:{tag}"),
                    ("broadcast.kind_announcement", f"bk:ann:{tag}"),
                ]
            ],
        ),
    )
    return KIND


def _tag(author_id: int, draft: dict[str, Any]) -> str:
    """Which draft a button belongs to: its author and the message that gave its text."""
    return f"{author_id}:{draft.get('id', 0)}"


async def _own_press(update: Update, context: Context, choices: tuple[str, ...]) -> str | None:
    """The choice pressed on the presser's own current draft; otherwise the press is answered
    (a colleague's preview: only its author may act on it; an older preview: stale) and None."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return None
    _, choice, author, draft_id = callback_parts(query.data, 4)
    if parse_int(author) != user.id:
        await answer(query, officer_t(context, "broadcast.not_yours"))
        return None
    draft = _draft(context)
    if choice not in choices or parse_int(draft_id) != draft.get("id") or "text" not in draft:
        await answer(query, context.t("common.stale"))
        return None
    return choice


async def on_foreign_press(update: Update, context: Context) -> None:
    """A broadcast button pressed by someone with no broadcast in progress."""
    await _own_press(update, context, ())


async def on_kind(update: Update, context: Context) -> Step:
    query = update.callback_query
    choice = await _own_press(update, context, ("alert", "ann"))
    if query is None or choice is None:
        return None
    draft = _draft(context)
    draft["kind"] = "alert" if choice == "alert" else "announcement"
    await answer(query)
    who = await broadcasts.audience(context.porch.store)
    lang = context.porch.officers.language
    preview = broadcasts.officer_message_html(draft["kind"], draft["text"], lang)
    count = officer_t(
        context, "broadcast.preview_count", residents=who.residents, groups=who.groups
    )
    tag = _tag(query.from_user.id, draft)
    buttons = keyboard(
        context.porch.officers.language,
        [[("broadcast.send", f"bs:yes:{tag}"), ("broadcast.cancel", f"bs:no:{tag}")]],
    )
    if not isinstance(query.message, Message):
        return None
    if draft.get("photo"):
        await query.message.reply_photo(draft["photo"], caption=preview)
        await ask(query.message, context, count, reply_markup=buttons)
    else:
        await ask(query.message, context, preview + "\n\n" + count, reply_markup=buttons)
    # Only now: if the preview could not be sent, the officer can simply tap again.
    await query.edit_message_reply_markup(None)
    return CONFIRM


async def on_confirm(update: Update, context: Context) -> Step:
    query = update.callback_query
    choice = await _own_press(update, context, ("yes", "no"))
    draft = _draft(context)
    if query is None or choice is None:
        return None
    if "kind" not in draft:
        await answer(query, context.t("common.stale"))
        return None
    user = await officer_of(update, context)
    if user is None:
        return None
    await answer(query)
    await query.edit_message_reply_markup(None)
    if choice == "no" or not isinstance(query.message, Message):
        await context.bot.send_message(
            context.porch.officers.chat_id, officer_t(context, "broadcast.cancelled")
        )
        return ConversationHandler.END
    porch = context.porch
    broadcast = await broadcasts.send_officer_broadcast(
        porch.store,
        key=f"officer:{query.message.chat.id}:{query.message.message_id}",
        kind=draft["kind"],
        text=draft["text"],
        photo_file_id=draft.get("photo"),
        officer_id=user.id,
        bot_username=porch.bot_username,
    )
    if context.user_data is not None:
        context.user_data.pop("broadcast", None)
    if broadcast is not None:
        async with porch.store.read() as tx:
            progress = await tx.broadcasts.progress(broadcast.id)
        report = await query.message.reply_html(
            broadcasts.report_html(broadcast, progress, porch.officers.language)
        )
        async with porch.store.transaction() as tx:
            await tx.broadcasts.set_report(broadcast.id, report.message_id)
            if not progress.get("pending"):
                await tx.broadcasts.finish(broadcast.id)
    return ConversationHandler.END


async def on_cancel(update: Update, context: Context) -> Step:
    if context.user_data is not None:
        context.user_data.pop("broadcast", None)
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
        KIND: [CallbackQueryHandler(on_kind, pattern=r"^bk:")],
        CONFIRM: [CallbackQueryHandler(on_confirm, pattern=r"^bs:")],
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
    app.add_handler(CallbackQueryHandler(on_foreign_press, pattern=r"^b[ks]:"))
