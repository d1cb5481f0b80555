"""What every handler shares: the context type, reading a message's content, guards, errors."""

from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackContext, ExtBot

from bot import residents
from bot.budget import not_modified
from bot.i18n import Translator, pick_language, plain, translator
from bot.numbers import parse_int as parse_int  # re-exported for handlers
from bot.numbers import parse_ref as parse_ref
from bot.relay import Said
from bot.services import Porch
from bot.session import LostPrompt, Session

log = logging.getLogger(__name__)


class Context(CallbackContext[ExtBot[None], Session, dict[str, Any], dict[str, Any]]):
    """Typed access to the bot's services, the person's session and language."""

    officer: User | None = None  # set by the officer gate (handlers/gate.py) once admitted

    @property
    def porch(self) -> Porch:
        porch = self.application.bot_data["porch"]
        assert isinstance(porch, Porch)
        return porch

    @property
    def session(self) -> Session:
        """The person's session (user_data); a scratch one for updates without a person
        (a channel post), which nothing keeps."""
        return self.user_data if self.user_data is not None else Session()

    @property
    def lang(self) -> str:
        lang = self.user_data.lang if self.user_data is not None else None
        return lang if lang is not None else self.porch.settings.default_language

    @property
    def t(self) -> Translator:
        return translator(self.lang)


Rows = list[list[tuple[str, str]]]


def keyboard(lang: str, rows: Rows) -> InlineKeyboardMarkup:
    """Inline buttons labelled by message ids, in `lang`: [(message id, callback data)]."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(plain(lang, key), callback_data=data) for key, data in row]
            for row in rows
        ]
    )


def buttons(rows: Rows) -> InlineKeyboardMarkup:
    """Inline buttons whose labels are already translated: [(label, callback data)]."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


MEDIA_KINDS = ("photo", "video", "voice", "document", "audio", "animation")


def said_from(message: Message) -> Said | None:
    """The content of a message we can store and relay; None for stickers, polls, contacts…"""
    if message.location is not None:
        return Said(
            kind="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            text=_venue_title(message),
        )
    if message.photo:
        return Said(kind="photo", file_id=message.photo[-1].file_id, text=message.caption)
    for kind in MEDIA_KINDS[1:]:
        media = getattr(message, kind)
        if media is not None:
            return Said(kind=kind, file_id=media.file_id, text=message.caption)
    if message.text:
        return Said(kind="text", text=message.text)
    return None


def _venue_title(message: Message) -> str | None:
    if message.venue is not None:
        return ", ".join(p for p in (message.venue.title, message.venue.address) if p)
    return None


# Ids of the button presses answered lately, per bot object (one per application; bots
# compare equal by token, so the key is the object's identity while it lives): Telegram takes
# one answer per press and refuses a second with "query is too old".
_answered: dict[int, OrderedDict[str, None]] = {}
ANSWERED_KEPT = 1000


def _answered_ids(query: CallbackQuery) -> OrderedDict[str, None]:
    bot = query.get_bot()
    key = id(bot)
    if key not in _answered:
        _answered[key] = OrderedDict()
        weakref.finalize(bot, _answered.pop, key, None)
    return _answered[key]


def was_answered(query: CallbackQuery) -> bool:
    return query.id in _answered_ids(query)


async def answer(query: CallbackQuery | None, text: str | None = None) -> None:
    """Always answer a button press promptly, even to refuse; a stale query is not an error.
    A press is answered once: a second call (the error handler after a failed step) is a no-op."""
    if query is None:
        return
    seen = _answered_ids(query)
    if query.id in seen:
        log.warning("callback query %s answered twice; the second answer is dropped", query.id)
        return
    seen[query.id] = None
    while len(seen) > ANSWERED_KEPT:
        seen.popitem(last=False)
    try:
        await query.answer(text)
    except TelegramError as error:
        log.info("could not answer callback query: %s", error)


async def pressed(update: Update) -> Message | None:
    """Answer a step's button and take the buttons off its message (they did their job)."""
    query = update.callback_query
    if query is None:
        return None
    await answer(query)
    await tidy(query.edit_message_reply_markup(None))
    return query.message if isinstance(query.message, Message) else None


# A step's prompt that Telegram kept refusing (after the retry policy): the person's next
# message gets it again (Session.lost_prompt), so a conversation never waits forever for a
# prompt nobody saw.
TRANSIENT = (NetworkError, RetryAfter)


async def ask(
    message: Message,
    context: Context,
    text: str,
    reply_markup: InlineKeyboardMarkup | ForceReply | None = None,
    *,
    do_quote: bool | None = None,
) -> Message | None:
    """Send a conversation step's prompt (or a receipt the person must see) in reply."""
    return await _must_see(
        context,
        message.chat.id,
        message.reply_html(text, reply_markup=reply_markup, do_quote=do_quote),
        text,
        reply_markup,
    )


async def _must_see(
    context: Context,
    chat_id: int,
    sending: Awaitable[object],
    text: str,
    markup: InlineKeyboardMarkup | ForceReply | None,
) -> Message | None:
    session = context.session
    try:
        sent = await sending
    except BadRequest as error:
        if not_modified(error):
            # An update handled again after a crash: the message already says this.
            session.lost_prompt = None
            return None
        raise  # our mistake, not the weather: repeating it would fail the same way
    except TRANSIENT as error:
        log.warning("prompt to %s not delivered (%s): repeated at the next message", chat_id, error)
        session.lost_prompt = LostPrompt(
            chat=chat_id,
            text=text,
            markup=markup.to_dict() if markup is not None else None,
            force_reply=isinstance(markup, ForceReply),
        )
        return None
    session.lost_prompt = None
    return sent if isinstance(sent, Message) else None


async def step_to(
    update: Update,
    context: Context,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """A button step: the pressed message becomes the next prompt — two calls (answer, edit)
    instead of three (answer, take the buttons off, send a new prompt). A message Telegram will
    not edit any more (deleted, or too old) gets the prompt as a new message instead."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    await answer(query)
    message = query.message
    editing = query.edit_message_text(text, reply_markup=reply_markup)
    try:
        await _must_see(context, message.chat.id, editing, text, reply_markup)
    except BadRequest as error:
        log.info("step prompt not edited into %s (%s): sent anew", message.message_id, error)
        await tidy(query.edit_message_reply_markup(None))
        await ask(message, context, text, reply_markup)


async def must_edit(query: CallbackQuery, context: Context, text: str) -> None:
    """Turn a message into something the person must see (a receipt): if Telegram keeps
    refusing, the text is repeated at their next message, like a lost prompt."""
    chat = query.message.chat.id if query.message is not None else 0
    await _must_see(context, chat, query.edit_message_text(text), text, None)


async def repeat_lost_prompt(update: Update, context: Context) -> None:
    """Group -1: a message after a lost prompt is answered with that prompt (commands pass)."""
    lost, message = context.session.lost_prompt, update.message
    if lost is None or message is None or message.chat.id != lost.chat:
        return
    if message.text and message.text.startswith("/"):
        return
    markup: InlineKeyboardMarkup | ForceReply | None = None
    if lost.markup and lost.force_reply:
        markup = ForceReply.de_json(lost.markup, context.bot)
    elif lost.markup:
        markup = InlineKeyboardMarkup.de_json(lost.markup, context.bot)
    if await ask(message, context, lost.text, markup) is not None:
        raise ApplicationHandlerStop


async def tidy(edit: Awaitable[object]) -> None:
    """A cosmetic edit (buttons taken off, a choice echoed): its failure stops nothing."""
    try:
        await edit
    except TelegramError as error:
        log.info("cosmetic edit failed: %s", error)


async def stale_button(update: Update, context: Context) -> None:
    """A button from an old message, or data nobody issued: refuse briefly."""
    await answer(update.callback_query, context.t("common.stale"))


def about_erasure(update: Update) -> bool:
    """/deleteme and its buttons: asking to be erased does not register anyone."""
    message, query = update.message, update.callback_query
    if message is not None:
        words = (message.text or "").split(maxsplit=1)
        return bool(words) and words[0].split("@", 1)[0] == "/deleteme"
    return query is not None and (query.data or "").startswith("erase:")


async def ensure_resident(update: Update, context: Context) -> None:
    """Group -2 guard for private chats: register the resident once, slow down floods."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    session = context.user_data
    if session is not None and session.lang is None and not about_erasure(update):
        porch = context.porch
        language = pick_language(user.language_code, porch.settings.default_language)
        resident = await residents.ensure(porch.store, user.id, language, key=porch.identity_key)
        session.lang = resident.language
    if update.message is not None:
        allowed, warn = context.porch.flood.allow(user.id)
        if not allowed:
            if warn:
                await update.message.reply_html(context.t("common.slow_down"))
            raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """Log with context; tell a waiting user that something went wrong, in their language."""
    log.error("error while handling %r", update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    query = update.callback_query
    if query is not None and not was_answered(query):
        await answer(query, context.t("common.error"))
    if update.effective_chat.type != "private":
        return
    try:
        await context.bot.send_message(update.effective_chat.id, context.t("common.error"))
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
