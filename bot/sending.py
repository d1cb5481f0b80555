"""One outbox content → the Bot API call that sends it (bot.content describes the contents).

The drainer (bot/delivery.py) decides when and records what happened; this module only knows
how each kind of content is sent: text with buttons, a location, an album, a file by id (a
copy, never a forward), a pin, a reaction, a chart (drawn from its data in a worker thread and
uploaded as a photo); text and files marked `paid` go as paid broadcasts. Every call carries
the outbox row's `SendOptions`, so the flood budget (bot/budget.py) knows its priority.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot import charts, pins
from bot.budget import SendOptions
from bot.content import Content

INPUT_MEDIA = {
    "photo": InputMediaPhoto,
    "video": InputMediaVideo,
    "document": InputMediaDocument,
    "audio": InputMediaAudio,
}


def markup(content: Content) -> InlineKeyboardMarkup | None:
    rows = content.get("buttons")
    if not rows:
        return None
    return InlineKeyboardMarkup([[_button(label, data) for label, data in row] for row in rows])


def _button(label: str, data: str) -> InlineKeyboardButton:
    """Callback data, or a link (deep links into the private chat, e.g. from a group)."""
    if data.startswith("https://"):
        return InlineKeyboardButton(label, url=data)
    return InlineKeyboardButton(label, callback_data=data)


# `do_api_request` asks for the named method when there is one: here the raw answer is the point.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)


async def _text(
    bot: ExtBot[Any],
    chat_id: int,
    content: Content,
    reply: ReplyParameters | None,
    thread: int | None,
    options: SendOptions,
    paid: dict[str, Any],
) -> int:
    """A text: the same call as `send_message` with the bot's defaults, but only the message
    id read from Telegram's answer. Building a `Message` from it is most of PTB's own cost per
    send (a broadcast's thousands), and nothing here would read it."""
    call: dict[str, Any] = {
        "chat_id": chat_id,
        "text": content["html"],
        "parse_mode": ParseMode.HTML,
        "link_preview_options": {"is_disabled": True},
        **paid,
    }
    keyboard = markup(content)
    if keyboard is not None:
        call["reply_markup"] = keyboard
    if reply is not None:
        call["reply_parameters"] = reply
    if thread is not None:
        call["message_thread_id"] = thread
    answer = await bot.do_api_request("sendMessage", api_kwargs=call, rate_limit_args=options)
    return int(answer["message_id"])


async def send_content(
    bot: ExtBot[Any],
    chat_id: int,
    content: Content,
    reply_to: int | None,
    options: SendOptions,
    thread: int | None = None,
) -> list[int]:
    """One content → Telegram. Media is re-sent by file id: a copy, never a forward. `thread`
    is the forum topic it goes into (None: the chat itself, or a forum's General topic)."""
    kind = content["type"]
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    )
    # A paid broadcast (Telegram charges Stars per message, allows 1,000 a second).
    paid: dict[str, Any] = {"allow_paid_broadcast": True} if content.get("paid") else {}
    sent: Message | tuple[Message, ...]
    if kind == "text":
        return [await _text(bot, chat_id, content, reply, thread, options, paid)]
    if kind == "location":
        sent = await bot.send_location(
            chat_id,
            latitude=content["latitude"],
            longitude=content["longitude"],
            message_thread_id=thread,
            reply_parameters=reply,
            rate_limit_args=options,
        )
    elif kind == "album":
        media = [INPUT_MEDIA[item["type"]](media=item["file_id"]) for item in content["items"]]
        sent = await bot.send_media_group(
            chat_id,
            media=media,
            message_thread_id=thread,
            reply_parameters=reply,
            rate_limit_args=options,
        )
    elif kind == "chart":
        png = await charts.png(charts.ChartSpec.from_json(content["chart"]))
        sent = await bot.send_photo(
            chat_id,
            InputFile(png, filename="chart.png"),
            caption=content.get("caption"),
            reply_parameters=reply,
            rate_limit_args=options,
        )
    elif kind in ("pin", "unpin"):
        target = content.get("message_id") or reply_to
        await pins.pin(bot, chat_id, target, pin=kind == "pin", options=options)
        return []
    elif kind == "reaction":
        await bot.set_message_reaction(
            chat_id, content["message_id"], content["emoji"], rate_limit_args=options
        )
        return []
    else:
        method = getattr(bot, f"send_{kind}")
        extra: dict[str, Any] = dict(paid)
        if content.get("caption"):
            extra["caption"] = content["caption"]
        sent = await method(
            chat_id,
            content["file_id"],
            message_thread_id=thread,
            reply_parameters=reply,
            reply_markup=markup(content),
            **extra,
            rate_limit_args=options,
        )
    if isinstance(sent, tuple):
        return [message.message_id for message in sent]
    return [sent.message_id]
