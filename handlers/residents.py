"""A resident's messages outside a report: follow-ups on their tips, /mytips, quick tips."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import desk, relay, tips
from bot.categories import CATEGORIES
from bot.i18n import N_, plain
from bot.relay import Outcome
from bot.session import Session
from handlers.common import Context, answer, said_from
from handlers.quick_tip import offer_quick_tip
from handlers.start import resident_help

PRIVATE = f.ChatType.PRIVATE
STATUS = {
    "new": N_("status.new"),
    "acknowledged": N_("status.acknowledged"),
    "taken": N_("status.taken"),
    "resolved": N_("status.resolved"),
    "spam": N_("status.spam"),
}


async def on_my_tips(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    t, lang = context.t, context.lang
    mine = await tips.of_resident(context.porch.store, user.id)
    if not mine:
        await message.reply_html(t("mytips.none"))
        return
    lines = [t("mytips.title")]
    buttons = []
    for tip in mine:
        lines.append(
            t(
                "mytips.line",
                ref=tip.id,
                category=plain(lang, CATEGORIES[tip.category]),
                status=plain(lang, STATUS.get(tip.status, STATUS["new"])),
            )
        )
        buttons.append(
            [
                InlineKeyboardButton(
                    plain(lang, "mytips.add", ref=tip.id),
                    callback_data=cb.ADD_TO_TIP.build(cb.Ref(tip.id)),
                )
            ]
        )
    await message.reply_html("\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


async def on_add_chosen(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or context.user_data is None:
        return
    press = cb.ADD_TO_TIP.parse(query.data)
    tip = await tips.resident_tip(context.porch.store, press.id, user.id) if press else None
    if tip is None:
        await answer(query, context.t("common.stale"))
        return
    context.user_data.adding_to = tip.id
    await answer(query)
    if isinstance(query.message, Message):
        await query.message.reply_html(context.t("mytips.add_prompt", ref=tip.id))


async def on_private_message(update: Update, context: Context) -> None:
    """Anything a resident sends outside a report: a follow-up, a quick tip, or a polite no."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    session = context.session
    said = said_from(message)
    if said is not None and said.kind == "text" and await _rating_comment(message, context):
        return
    tip_id = await _target_tip(message, context, session)
    if tip_id is not None:
        if said is None:
            await message.reply_html(context.t("followup.unusable"))
            return
        await _follow_up(message, context, tip_id, said, session)
        return
    if said is not None and said.kind == "text":
        await offer_quick_tip(message, context)
    elif said is not None:
        await message.reply_html(context.t("private.media_outside_report"))
    else:
        await message.reply_html(context.t("report.unusable"))


async def _rating_comment(message: Message, context: Context) -> bool:
    """A reply to the thanks for a rating is its comment (once; later ones are follow-ups)."""
    replied = message.reply_to_message
    if replied is None or not message.text:
        return False
    porch = context.porch
    link = await relay.thread_link(porch.store, message.chat.id, replied.message_id)
    if link is None or link.role != "rating":
        return False
    saved = await desk.comment(
        porch.store,
        porch.officers,
        tip_id=link.tip_id,
        resident_id=message.chat.id,
        text=message.text,
    )
    if saved:
        await message.reply_html(context.t("desk.comment_saved", ref=link.tip_id))
    return saved


async def _target_tip(message: Message, context: Context, session: Session) -> int | None:
    """The tip this message adds to: chosen in /mytips, a reply to a tip message, or the rest
    of an album that already went to a tip."""
    album = message.media_group_id
    if album and session.adding_group == album and session.adding_group_tip is not None:
        return session.adding_group_tip
    if session.adding_to is not None:
        return session.adding_to
    replied = message.reply_to_message
    if replied is not None:
        link = await relay.thread_link(context.porch.store, message.chat.id, replied.message_id)
        if link is not None:
            return link.tip_id
    return None


async def _follow_up(
    message: Message, context: Context, tip_id: int, said: relay.Said, session: Session
) -> None:
    porch = context.porch
    outcome = await relay.add_followup(
        porch.store,
        porch.officers,
        tip_id=tip_id,
        resident_id=message.chat.id,
        said=said,
        source_message_id=message.message_id,
    )
    in_album = message.media_group_id is not None and session.adding_group == (
        message.media_group_id
    )
    session.adding_to = None
    if message.media_group_id:
        session.adding_group, session.adding_group_tip = message.media_group_id, tip_id
    if outcome is Outcome.NOT_YOURS:
        await message.reply_html(context.t("common.stale"))
        return
    if outcome is Outcome.BLOCKED:  # neutral, with the emergency route (bot/blocks.py)
        if not in_album:
            number = porch.settings.emergency_number
            await message.reply_html(context.t("block.refused", number=number))
        return
    if tips.is_emergency(said.text) and not in_album:
        await message.reply_html(
            context.t("emergency.notice", number=porch.settings.emergency_number)
        )
    if outcome is Outcome.QUEUED and not in_album:
        await message.reply_html(context.t("followup.added", ref=tip_id))


async def on_unknown_command(update: Update, context: Context) -> None:
    """Unknown commands get help, never silence."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(
            context.t("common.unknown_command") + "\n\n" + resident_help(context.lang)
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("mytips", on_my_tips, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(on_add_chosen, pattern=cb.ADD_TO_TIP.pattern))
    app.add_handler(MessageHandler(PRIVATE & ~f.COMMAND, on_private_message))
    app.add_handler(MessageHandler(PRIVATE & f.COMMAND, on_unknown_command))
