"""Residents' welcome, help, language and broadcast opt-in (/privacy: handlers/privacy.py)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import residents
from bot.commands import RESIDENT_COMMANDS
from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES, plain, translate
from handlers.common import Context, answer

PRIVATE = f.ChatType.PRIVATE
MENU_REPORT = cb.MENU.build(cb.Choice("report"))
OPT_IN, OPT_OUT = (cb.OPT_IN.build(cb.Choice(choice)) for choice in ("1", "0"))


def command_list(lang: str, commands: dict[str, str]) -> str:
    """ "/command — what it does", one a line, from the same table as the command menu."""
    return "\n".join(f"/{command} — {translate(lang, key)}" for command, key in commands.items())


def resident_help(lang: str) -> str:
    """Every resident command, from RESIDENT_COMMANDS (the menu), so help cannot miss one."""

    return "\n".join(
        [
            translate(lang, "help.resident_title"),
            command_list(lang, RESIDENT_COMMANDS),
            translate(lang, "help.resident_footer"),
        ]
    )


def menu_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(plain(lang, "menu.report"), callback_data=MENU_REPORT)]]
    )


async def on_start(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    t, number = context.t, context.porch.settings.emergency_number
    await message.reply_html(
        "\n\n".join(
            [t("start.welcome"), t("emergency.notice", number=number), t("privacy.summary")]
        )
    )
    lang = context.lang
    await message.reply_html(
        t("start.opt_in"),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(plain(lang, "start.opt_in_yes"), callback_data=OPT_IN),
                    InlineKeyboardButton(plain(lang, "start.opt_in_no"), callback_data=OPT_OUT),
                ]
            ]
        ),
    )


async def on_opt_in(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    press = cb.OPT_IN.parse(query.data) if query else None
    if query is None or user is None or press is None:
        return
    opted_in = press.choice == "1"
    await residents.set_opt_in(context.porch.store, user.id, opted_in)
    await answer(query)
    t = context.t
    await query.edit_message_text(t("start.opted_in") if opted_in else t("start.opted_out"))
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            resident_help(context.lang),
            reply_markup=menu_keyboard(context.lang),
        )


async def on_help(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(
            resident_help(context.lang), reply_markup=menu_keyboard(context.lang)
        )


async def on_language(update: Update, context: Context) -> None:
    if update.effective_message is None:
        return
    buttons = [
        InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=cb.LANGUAGE.build(cb.Choice(code)))
        for code in SUPPORTED_LANGUAGES
    ]
    await update.effective_message.reply_html(
        context.t("language.choose"), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def on_language_chosen(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    press = cb.LANGUAGE.parse(query.data) if query else None
    code = press.choice if press else ""
    if query is None or user is None or code not in SUPPORTED_LANGUAGES:
        await answer(query, context.t("common.stale"))
        return
    await residents.set_language(context.porch.store, user.id, code)
    context.session.lang = code
    await answer(query)
    await query.edit_message_text(translate(code, "language.set"))


async def on_cancel_idle(update: Update, context: Context) -> None:
    """/cancel outside a report: ends "Add information to #N" (from /mytips), if chosen."""
    message = update.effective_message
    if message is None:
        return
    session = context.session
    adding, session.adding_to = session.adding_to, None
    if adding is not None:
        await message.reply_html(context.t("mytips.add_cancelled", ref=adding))
    else:
        await message.reply_html(context.t("common.nothing_to_cancel"))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", on_start, filters=PRIVATE))
    app.add_handler(CommandHandler("help", on_help, filters=PRIVATE))
    app.add_handler(CommandHandler("language", on_language, filters=PRIVATE))
    app.add_handler(CommandHandler("cancel", on_cancel_idle, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_opt_in, pattern=cb.OPT_IN.loose))
    app.add_handler(CallbackQueryHandler(on_language_chosen, pattern=cb.LANGUAGE.loose))
