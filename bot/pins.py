"""Pinning for the outbox: an escalated tip's card is pinned, and unpinned once acknowledged.

A content `{"type": "pin"}` or `{"type": "unpin"}` (see bot.content) targets its `message_id`,
or else the message its row replies to (a tip's card, looked up when the row is sent).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.budget import SendOptions

log = logging.getLogger(__name__)

_PIN_REFUSED: set[int] = set()  # chats where a refused pin was already logged


async def pin(
    bot: ExtBot[Any], chat_id: int, message_id: int | None, *, pin: bool, options: SendOptions
) -> None:
    """Pin (or unpin) a message, e.g. an escalated tip's card. Refused — the bot lacks the *pin
    messages* right — it is said once in the log and counts as done: what follows it in the
    lane (the officers' ping) must not wait for a right nobody is going to grant."""
    if message_id is None:
        log.warning(
            "nothing to %s in chat %s: the card was never sent", "pin" if pin else "unpin", chat_id
        )
        return
    try:
        if pin:
            await bot.pin_chat_message(chat_id, message_id, rate_limit_args=options)
        else:
            await bot.unpin_chat_message(chat_id, message_id, rate_limit_args=options)
    except (BadRequest, Forbidden) as error:
        if chat_id not in _PIN_REFUSED:
            _PIN_REFUSED.add(chat_id)
            log.warning(
                "cannot pin or unpin in chat %s (%s): give the bot the Pin messages right;"
                " officers are pinged anyway",
                chat_id,
                error,
            )
