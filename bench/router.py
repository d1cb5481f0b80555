"""The reference for tip routing: a bare PTB bot that routes the same tip, without a database.

Why: Porchlight's Send → card is read against what PTB alone costs for the same visible work
on this machine: the report's steps as buttons (drafts kept in memory), and on "Send" the
three calls Porchlight makes (answer the press, edit the summary into the receipt, post the
card in the officer chat). No storage, no outbox, no pacing, no persistence: what is left is
PTB's polling, decoding and sending, with the same concurrency as Porchlight's application.
The prompts carry the texts and buttons bench/tip_routing.py drives, so one driver serves both.
"""

from __future__ import annotations

import html
import itertools
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.app import ALLOWED_UPDATES
from bot.i18n import translate
from tests.telegram.emulator import BotApiEmulator

from . import tip_routing
from .common import BurstResult

CONCURRENT_UPDATES = 8  # as Porchlight's PerChatUpdateProcessor (bot/app.py)
Context = ContextTypes.DEFAULT_TYPE


def _keys(label: str, data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])


class Router:
    """The report conversation in memory: one draft per resident."""

    def __init__(self, officer_chat_id: int) -> None:
        self.officer_chat_id = officer_chat_id
        self.drafts: dict[int, str] = {}
        self.numbers = itertools.count(1)

    async def on_report(self, update: Update, context: Context) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "What did you see?", reply_markup=_keys(tip_routing.CATEGORY, "category")
        )

    async def on_text(self, update: Update, context: Context) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None and message.text is not None
        self.drafts[user.id] = message.text
        await message.reply_text("Where was it?", reply_markup=_keys("Skip", "where"))

    async def on_press(self, update: Update, context: Context) -> None:
        query, user = update.callback_query, update.effective_user
        assert query is not None and user is not None and query.message is not None
        chat = query.message.chat
        step = query.data
        if step == "send":
            await self._send(update, context, user.id)
            return
        await query.answer()
        if step == "category":
            text = translate("en", "report.ask_description")
            await chat.send_message(text)
        elif step == "where":  # as Porchlight: the pressed message becomes the next prompt
            media = translate("en", "report.ask_media")
            await query.edit_message_text(media, reply_markup=_keys("Skip", "media"))
        elif step == "media":
            anonymous = _keys("Anonymous (recommended)", "anonymous")
            await query.edit_message_text("Share your name?", reply_markup=anonymous)
        elif step == "anonymous":
            summary = f"Your tip:\n{html.escape(self.drafts.get(user.id, ''))}"
            await query.edit_message_text(summary, reply_markup=_keys("Send", "send"))

    async def _send(self, update: Update, context: Context, user_id: int) -> None:
        query = update.callback_query
        assert query is not None
        number = next(self.numbers)
        description = self.drafts.pop(user_id, "")
        await query.answer()
        await query.edit_message_text(f"Thank you: your tip is #{number}.")
        await context.bot.send_message(
            self.officer_chat_id,
            f"<b>Tip #{number}</b> · Suspicious vehicle\n\n{html.escape(description)}",
            reply_markup=_keys("Acknowledge", f"ack:{number}"),
        )


def build(emu: BotApiEmulator, officer_chat_id: int) -> Application[Any, Any, Any, Any, Any, Any]:
    router = Router(officer_chat_id)
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(f"{emu.url}/bot")
        .base_file_url(f"{emu.url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(CONCURRENT_UPDATES)
        .build()
    )
    app.add_handler(CommandHandler("report", router.on_report))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, router.on_text))
    app.add_handler(CallbackQueryHandler(router.on_press))
    return app


async def run(residents: int, lost_after: float, *, one_at_a_time: bool = False) -> BurstResult:
    """The same burst as bench/tip_routing.py, against the bare router."""
    emu = BotApiEmulator()
    await emu.start()
    emu.clock = time.monotonic
    officers = emu.add_group("Officers", type="supergroup", members={})
    app = build(emu, officers)
    try:
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        try:
            people = tip_routing.residents_of(emu, residents)
            await tip_routing.drive_to_summary(emu, people)
            name = "bare PTB router (no database)"
            return await tip_routing.tap_send(
                emu, people, officers, lost_after, name, one_at_a_time=one_at_a_time
            )
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
        await emu.stop()
