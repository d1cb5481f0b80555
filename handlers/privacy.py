"""/privacy (what is kept, why and for how long) and /deleteme (erase it, after a question).

The question lists what goes and what stays, with Erase and Keep buttons bound to it (their
data carries the id of the /deleteme message, remembered in the session): only the person's own
press, in their own chat, on the question still open counts; anything else is refused as stale.
Neither /deleteme nor its buttons register anyone (handlers/common.py): asking to be erased is
not joining. The erasure is one transaction (bot/erasure.py); what lives only in memory — the
session python-telegram-bot holds, a report in progress, the flood counter — is dropped here
after it commits.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import erasure, retention
from bot.i18n import N_, pick_language, translate
from handlers.common import Context, answer, ask, keyboard, tidy

PRIVATE = f.ChatType.PRIVATE


def _language(update: Update, context: Context) -> str:
    """The person's language: the session's, else their Telegram client's (someone asking to
    be erased may never have registered)."""
    session = context.user_data
    if session is not None and session.lang is not None:
        return session.lang
    user = update.effective_user
    default = context.porch.settings.default_language
    return pick_language(user.language_code if user else None, default)


async def on_privacy(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(
            context.t(
                "privacy.full",
                days=context.porch.settings.retention_days,
                delivered=retention.delivered_keep_days(),
            )
        )


async def on_deleteme(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or context.user_data is None:
        return
    lang = _language(update, context)
    kept = await erasure.holdings(context.porch.store, user.id)
    if not erasure.anything_kept(kept):
        await message.reply_html(translate(lang, "erase.nothing"))
        return
    context.user_data.erasing = message.message_id
    rows = [
        [
            (N_("erase.confirm"), cb.ERASE.build(cb.ChoiceRef("yes", message.message_id))),
            (N_("erase.keep"), cb.ERASE.build(cb.ChoiceRef("no", message.message_id))),
        ]
    ]
    question = translate(lang, "erase.question", tips=kept.tips, answers=kept.answers)
    await ask(message, context, question, keyboard(lang, rows))


async def on_erase_press(update: Update, context: Context) -> object:
    """Erase or Keep. Also a fallback of the report conversation: erasing ends the report
    (ConversationHandler.END), keeping leaves it where it was (None)."""
    query, user, session = update.callback_query, update.effective_user, context.user_data
    if query is None or user is None or session is None:
        return None
    lang = _language(update, context)
    press = cb.ERASE.parse(query.data)
    own_chat = isinstance(query.message, Message) and query.message.chat.id == user.id
    if press is None or not own_chat or session.erasing is None or session.erasing != press.id:
        await answer(query, translate(lang, "common.stale"))
        return None
    if press.choice == "no":
        session.erasing = None
        await answer(query)
        await tidy(query.edit_message_text(translate(lang, "erase.kept")))
        return None
    porch = context.porch
    await erasure.erase(
        porch.store,
        porch.officers,
        user_id=user.id,
        labels=erasure.group_labels(user.first_name, user.last_name, user.username),
        key=porch.identity_key,
    )
    context.application.drop_user_data(user.id)
    porch.flood.forget(user.id)
    await answer(query)
    # Said once, not kept for a retry: a lost prompt would be a session naming them again.
    await tidy(query.edit_message_text(translate(lang, "erase.done")))
    return ConversationHandler.END


def erase_press_handler() -> CallbackQueryHandler[Context, object]:
    return CallbackQueryHandler(on_erase_press, pattern=cb.ERASE.loose)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("privacy", on_privacy, filters=PRIVATE))
    app.add_handler(CommandHandler("deleteme", on_deleteme, filters=PRIVATE))
    app.add_handler(erase_press_handler())
