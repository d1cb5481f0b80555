"""/tips and /tip 42 in the officer chat: open tips with their cards, a tip's card and history.

The officer gate admitted the sender (`context.officer`). Officers' names for the history are
asked of the officer chat here (bot/ never sees Telegram); one that cannot be asked is shown by
id, never guessed.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler
from telegram.ext import filters as f

from bot import forum, overview
from bot.numbers import parse_int
from handlers.common import Context
from handlers.officers import officer_t, tip_of

log = logging.getLogger(__name__)


async def on_tips(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or context.officer is None:
        return
    listing = await overview.open_tips(context.porch.store, context.porch.officers)
    markup = None
    if listing.buttons:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in listing.buttons
            ]
        )
    await message.reply_html(listing.html, reply_markup=markup, disable_web_page_preview=True)


async def on_tip(update: Update, context: Context) -> None:
    message = update.effective_message
    officer = context.officer
    if message is None or officer is None:
        return
    args = context.args or []
    tip_id = parse_int(args[0].lstrip("#")) if len(args) == 1 else None
    if not args:  # in a tip's forum topic: that tip
        found = await tip_of(context, message)
        tip_id = found[0] if found is not None else None
    if tip_id is None:
        await message.reply_html(officer_t(context, "tips.tip_usage"))
        return
    porch = context.porch
    actors = await overview.actors(porch.store, tip_id)
    if actors is None:
        await message.reply_html(officer_t(context, "tips.unknown", ref=tip_id))
        return
    names = {actor: await _name(context, actor) for actor in sorted(actors)}
    await overview.repost_with_history(
        porch.store,
        porch.officers,
        tip_id=tip_id,
        officer_id=officer.id,
        request_id=message.message_id,
        names={actor: name for actor, name in names.items() if name},
    )
    await _point_to_topic(context, message, tip_id)


async def _point_to_topic(context: Context, message: Message, tip_id: int) -> None:
    """In a forum the card and history go into the tip's topic: asked anywhere else, the
    officer is told where (with a link), not left looking at nothing."""
    porch = context.porch
    topic = await forum.topic_of(porch.store, tip_id, porch.officers.forum)
    here = message.message_thread_id if message.is_topic_message else None
    if topic is None or topic == here:
        return
    link = overview.card_link(porch.officers.chat_id, topic) or ""
    await message.reply_html(officer_t(context, "forum.in_its_topic", ref=tip_id, link=link))


async def _name(context: Context, user_id: int) -> str | None:
    """An officer's name as the officer chat knows it (None: Telegram could not say)."""
    try:
        member = await context.bot.get_chat_member(context.porch.officers.chat_id, user_id)
    except TelegramError as error:
        log.info("no name for officer %s: %s", user_id, error)
        return None
    return member.user.full_name


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    app.add_handler(CommandHandler("tips", on_tips, filters=officer_chat))
    app.add_handler(CommandHandler("tip", on_tip, filters=officer_chat))
