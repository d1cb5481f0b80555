"""The officer desk's buttons: triage and merging on a tip's card (officers), a rating (the
resident)."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot import callbacks as cb
from bot import desk, merge
from bot.i18n import plain
from handlers.common import Context, answer


async def on_desk_press(update: Update, context: Context) -> None:
    query, officer = update.callback_query, context.officer  # admitted by the officer gate
    if query is None or officer is None:
        return
    porch = context.porch
    pressed = cb.DESK.parse(query.data)
    if pressed is None:
        await answer(query, context.t("common.stale"))
        return
    result = await desk.press(
        porch.store,
        porch.officers,
        tip_id=pressed.id,
        action=pressed.choice,
        officer=desk.Actor(officer.id, officer.first_name),
    )
    await answer(query, plain(porch.officers.language, result.key, **result.values))


async def on_merge_press(update: Update, context: Context) -> None:
    """🔗 Merge into #41 and ✂ Unmerge (bot/merge.py); forged data is answered as stale."""
    query, officer = update.callback_query, context.officer  # admitted by the officer gate
    if query is None or officer is None:
        return
    porch = context.porch
    actor = desk.Actor(officer.id, officer.first_name)
    merging, unmerging = cb.MERGE.parse(query.data), cb.UNMERGE.parse(query.data)
    if merging is not None:
        result = await merge.merge(
            porch.store, porch.officers, tip_id=merging.tip_id, into=merging.into, officer=actor
        )
    elif unmerging is not None:
        result = await merge.unmerge(
            porch.store, porch.officers, tip_id=unmerging.id, officer=actor
        )
    else:
        result = desk.Press(False, "common.stale", {})
    await answer(query, plain(porch.officers.language, result.key, **result.values))


async def on_rate(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    pressed = cb.TIP_RATE.parse(query.data)
    porch = context.porch
    rated = (
        await desk.rate(
            porch.store,
            porch.officers,
            tip_id=pressed.tip_id,
            resident_id=user.id,
            stars=pressed.stars,
        )
        if pressed is not None
        else desk.Rated(None)
    )
    if rated.stars is None:
        await answer(query, context.t("common.stale"))
        return
    key = "desk.rated_already" if rated.already else "desk.rated_answer"
    await answer(query, plain(context.lang, key, stars=rated.stars))
    if not rated.already:  # the buttons are spent (cosmetic: the rating is stored already)
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_desk_press, pattern=cb.DESK.pattern))
    app.add_handler(CallbackQueryHandler(on_rate, pattern=cb.TIP_RATE.pattern))
    for kind in (cb.MERGE, cb.UNMERGE):  # every press of these kinds: forged ones answered here
        app.add_handler(CallbackQueryHandler(on_merge_press, pattern=kind.loose))
