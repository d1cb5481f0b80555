"""Safety advice: residents browse the library (/safety, with a button to /trends, see
handlers/stats.py), officers curate it (/addtip, /library). The weekly broadcast is an alarm
(bot.alarms, bot.jobs)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler
from telegram.ext import filters as f

from bot import broadcasts, safety
from bot import callbacks as cb
from bot.broadcasts import LIBRARY_TOPICS
from bot.content import TEXT_LIMIT, visible_length
from bot.i18n import N_, plain
from handlers.common import Context, answer, parse_ref
from handlers.officers import officer_t

log = logging.getLogger(__name__)
PRIVATE = f.ChatType.PRIVATE
TOPIC_LABELS = {
    "home": N_("safety.topic_home"),
    "emergency": N_("safety.topic_emergency"),
    "scams": N_("safety.topic_scams"),
    "personal": N_("safety.topic_personal"),
    "online": N_("safety.topic_online"),
}


def _topics_keyboard(lang: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            plain(lang, TOPIC_LABELS[topic]), callback_data=cb.SAFETY_TOPIC.build(cb.Choice(topic))
        )
        for topic in LIBRARY_TOPICS
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    trends = plain(lang, "safety.trends_button")
    rows.append([InlineKeyboardButton(trends, callback_data=cb.TRENDS.build(cb.Choice("show")))])
    return InlineKeyboardMarkup(rows)


async def on_safety(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(
            context.t("safety.choose_topic"), reply_markup=_topics_keyboard(context.lang)
        )


async def on_safety_topic(update: Update, context: Context) -> None:
    query = update.callback_query
    press = cb.SAFETY_TOPIC.parse(query.data) if query else None
    topic = press.choice if press else ""
    if query is None or topic not in LIBRARY_TOPICS:
        await answer(query, context.t("common.stale"))
        return
    lang = context.lang
    items = await safety.by_topic(context.porch.store, topic)
    text = context.t("safety.topic_title", topic=plain(lang, TOPIC_LABELS[topic]))
    for advice in items:
        entry = "\n\n" + broadcasts.advice_html(advice, lang, weekly=False)
        if visible_length(text + entry) > TEXT_LIMIT:
            break
        text += entry
    await answer(query)
    await query.edit_message_text(text, reply_markup=_topics_keyboard(lang))


async def on_add_tip(update: Update, context: Context) -> None:
    """/addtip topic | title | text [| título | texto] — Spanish defaults to the same text."""
    message, user = update.effective_message, context.officer
    if message is None or user is None:
        return
    raw = (message.text or "").split(maxsplit=1)
    parts = [p.strip() for p in raw[1].split("|")] if len(raw) == 2 else []
    if len(parts) not in (3, 5) or parts[0] not in LIBRARY_TOPICS or not all(parts):
        await message.reply_html(
            officer_t(context, "library.add_usage", topics=", ".join(LIBRARY_TOPICS))
        )
        return
    topic, title, body = parts[:3]
    title_es, body_es = (parts[3], parts[4]) if len(parts) == 5 else (title, body)
    await safety.add(
        context.porch.store,
        key=f"officer-{message.chat.id}-{message.message_id}",
        topic=topic,
        title_en=title,
        body_en=body,
        title_es=title_es,
        body_es=body_es,
        officer_id=user.id,
    )
    await message.reply_html(officer_t(context, "library.added", title=title))


async def on_library(update: Update, context: Context) -> None:
    """/library lists the advice; /library retire 12 and /library restore 12 change the rotation."""
    message, user = update.effective_message, context.officer
    if message is None or user is None:
        return
    args = context.args or []
    store = context.porch.store
    advice_id = parse_ref(args[1]) if len(args) == 2 else None
    if advice_id is not None and args[0] in ("retire", "restore"):
        changed = await safety.set_active(
            store, advice_id, args[0] == "restore", officer_id=user.id
        )
        if not changed:
            await message.reply_html(officer_t(context, "library.unknown", id=advice_id))
        elif args[0] == "retire":
            await message.reply_html(officer_t(context, "library.retired", id=advice_id))
        else:
            await message.reply_html(officer_t(context, "library.restored", id=advice_id))
        return
    lang = context.porch.officers.language
    entries = await safety.everything(store)
    lines = [officer_t(context, "library.title", count=sum(t.active for t in entries))]
    for advice in entries:
        line = officer_t(
            context,
            "library.line",
            id=advice.id,
            topic=advice.topic,
            title=advice.title(lang),
            sent=advice.broadcast_count,
        )
        lines.append(line if advice.active else f"<s>{line}</s>")
    text = ""
    for line in [*lines, officer_t(context, "library.usage")]:
        if visible_length(text + "\n" + line) > TEXT_LIMIT:
            await message.reply_html(text)
            text = ""
        text = f"{text}\n{line}" if text else line
    await message.reply_html(text)


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    app.add_handler(CommandHandler("safety", on_safety, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_safety_topic, pattern=cb.SAFETY_TOPIC.pattern))
    app.add_handler(CommandHandler("addtip", on_add_tip, filters=officer_chat))
    app.add_handler(CommandHandler("library", on_library, filters=officer_chat))
