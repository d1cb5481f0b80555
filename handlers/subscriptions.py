"""/settings (topics and language), /subscribe and /unsubscribe."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import residents
from bot.i18n import N_, plain
from bot.residents import TOPICS
from handlers.common import Context, answer
from handlers.start import on_language

PRIVATE = f.ChatType.PRIVATE
SETTINGS_LANGUAGE = cb.SETTINGS.build(cb.Choice("lang"))
TOPIC_LABELS = {
    "safety": N_("settings.topic_safety"),
    "events": N_("settings.topic_events"),
    "alerts": N_("settings.topic_alerts"),
}


async def _keyboard(context: Context, user_id: int) -> InlineKeyboardMarkup:
    resident = await residents.get(context.porch.store, user_id)
    on = resident.subscriptions if resident else frozenset()
    lang = context.lang
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if topic in on else "⬜ ") + plain(lang, TOPIC_LABELS[topic]),
                callback_data=cb.SUBSCRIPTION.build(cb.Choice(topic)),
            )
        ]
        for topic in TOPICS
    ]
    rows.append(
        [InlineKeyboardButton(plain(lang, "settings.language"), callback_data=SETTINGS_LANGUAGE)]
    )
    return InlineKeyboardMarkup(rows)


async def on_settings(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await message.reply_html(
        context.t("settings.title"), reply_markup=await _keyboard(context, user.id)
    )


async def on_toggle(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    press = cb.SUBSCRIPTION.parse(query.data) if query else None
    if query is None or user is None or press is None:
        await answer(query, context.t("common.stale"))
        return
    if not await residents.toggle_subscription(context.porch.store, user.id, press.choice):
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    await query.edit_message_reply_markup(await _keyboard(context, user.id))


async def on_settings_language(update: Update, context: Context) -> None:
    await answer(update.callback_query)
    await on_language(update, context)


async def on_subscribe(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await residents.set_opt_in(context.porch.store, user.id, True)
    await message.reply_html(context.t("settings.subscribed"))


async def on_unsubscribe(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await residents.set_opt_in(context.porch.store, user.id, False)
    await message.reply_html(context.t("settings.unsubscribed"))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("settings", on_settings, filters=PRIVATE))
    app.add_handler(CommandHandler("subscribe", on_subscribe, filters=PRIVATE))
    app.add_handler(CommandHandler("unsubscribe", on_unsubscribe, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_toggle, pattern=cb.SUBSCRIPTION.loose))
    app.add_handler(
        CallbackQueryHandler(on_settings_language, pattern=cb.SETTINGS.pattern_with("lang"))
    )
