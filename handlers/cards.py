"""Officers open a tip listed during a surge: its full card is posted at once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot import tips
from handlers.common import Context, answer
from handlers.officers import is_officer, officer_t


async def on_open(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    porch = context.porch
    message = query.message
    raw = (query.data or "").removeprefix("open:")
    tip_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 16 else 0
    if message is None or message.chat.id != porch.officers.chat_id or not tip_id:
        await answer(query, context.t("common.stale"))
        return
    if not await is_officer(context, user.id):
        await answer(query, officer_t(context, "officer.not_member"))
        return
    opened = await tips.open_card(
        porch.store,
        porch.officers,
        tip_id=tip_id,
        officer_id=user.id,
        list_message_id=message.message_id,
    )
    if not opened:
        await answer(query, context.t("common.stale"))
        return
    await answer(query, officer_t(context, "surge.opening", ref=tip_id))


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_open, pattern=r"^open:"))
