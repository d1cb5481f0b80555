"""Officers open a tip listed during a surge: its full card is posted at once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot import callbacks as cb
from bot import tips
from handlers.common import Context, answer
from handlers.officers import officer_t


async def on_open(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    officer = context.officer  # admitted by the officer gate
    if officer is None:
        return
    porch = context.porch
    press = cb.OPEN.parse(query.data)
    tip_id = press.id if press else None
    opened = tip_id is not None and await tips.open_card(
        porch.store,
        porch.officers,
        tip_id=tip_id,
        officer_id=officer.id,
        list_message_id=query.message.message_id,
    )
    if not opened:
        await answer(query, context.t("common.stale"))
        return
    await answer(query, officer_t(context, "surge.opening", ref=tip_id))


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_open, pattern=cb.OPEN.pattern))
