"""The officer gate: one early handler that stops every officer-only update from a non-officer.

Officer-only updates are presses of officer buttons (their kind says so, see
bot/callbacks.py), every command in the officer chat but /help and /cancel, and officer
commands sent in a private chat. The gate runs in group -2 (see handlers/__init__.py), before
any conversation: a press outside the officer chat is refused at once, without asking Telegram
about anyone; in the officer chat, membership comes from the roster (cached, corrected by
chat_member updates) and is asked of Telegram only when unknown, with "try again" when Telegram
cannot be asked. A refusal stops the update there (ApplicationHandlerStop).

An admitted officer is put on the context: officer handlers read `context.officer`, and a
handler reached without the gate finds None and does nothing. So a new officer command or
button cannot forget the check; it can only fail closed.
"""

from __future__ import annotations

import logging
from enum import Enum

from telegram import Message, MessageEntity, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler

from bot import callbacks
from bot.i18n import translate
from handlers.common import Context, answer

log = logging.getLogger(__name__)

# Commands of the officer chat that anyone there may use: help, and ending one's own wizard.
OPEN_COMMANDS = frozenset({"help", "cancel"})
# Officer commands refused in private chats (a resident's /events is their own command).
OFFICER_ONLY = (
    "note",
    "broadcast",
    "addtip",
    "library",
    "newevent",
    "cancelevent",
    "block",
    "unblock",
    "canned",
    "r",
    "tips",
    "tip",
    "stats",
)


class Membership(Enum):
    OFFICER = "officer"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"  # Telegram could not be asked right now


REFUSALS = {
    Membership.NOT_MEMBER: "officer.not_member",
    Membership.UNKNOWN: "officer.check_failed",
}


async def membership(context: Context, user_id: int) -> Membership:
    """Membership of the officer chat, cached and corrected by chat_member updates. A failed
    check is not cached and not a "no": the person is asked to try again."""
    roster = context.porch.roster
    known = roster.cached(user_id)
    if known is None:
        try:
            member = await context.bot.get_chat_member(context.porch.officers.chat_id, user_id)
        except TelegramError as error:
            log.warning("could not check officer membership of %s: %s", user_id, error)
            return Membership.UNKNOWN
        known = roster.remember(user_id, member.status)
    return Membership.OFFICER if known else Membership.NOT_MEMBER


def in_officer_chat(update: Update, context: Context) -> bool:
    """Whether the update happened in the officer chat: known without asking Telegram (a
    button press carries the message it belongs to; an inline message carries none)."""
    query = update.callback_query
    if query is not None:
        return query.message is not None and query.message.chat.id == (
            context.porch.officers.chat_id
        )
    chat = update.effective_chat
    return chat is not None and chat.id == context.porch.officers.chat_id


async def _refuse(update: Update, text: str) -> None:
    """One answer to the press, or one reply to the message."""
    if update.callback_query is not None:
        await answer(update.callback_query, text)
    elif update.effective_message is not None:
        await update.effective_message.reply_html(text)


async def admit(update: Update, context: Context) -> User | None:
    """The officer acting (also kept as `context.officer`), or None after refusing: outside
    the officer chat without asking Telegram, then by membership."""
    user = update.effective_user
    if user is None:
        return None
    if not in_officer_chat(update, context):
        key = (
            "officer.button_elsewhere" if update.callback_query else "officer.only_in_officer_chat"
        )
        await _refuse(update, context.t(key))
        return None
    status = await membership(context, user.id)
    if status is not Membership.OFFICER:
        language = context.porch.officers.language
        await _refuse(update, translate(language, REFUSALS[status]))
        return None
    context.officer = user
    return user


def command_of(message: Message | None) -> tuple[str, str] | None:
    """(command, bot) of a message that starts with a command: ("note", "") for /note,
    ("start", "otherbot") for /start@otherbot."""
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, bot = message.text[1 : first.length].partition("@")
    return name.lower(), bot.lower()


class OfficerGate(BaseHandler[Update, Context, None]):
    """Takes exactly the officer-only updates (decided without I/O), and lets an update go
    on only when its sender is an officer in the officer chat."""

    def __init__(self, officer_chat_id: int) -> None:
        super().__init__(self._admit_or_stop)
        self.officer_chat_id = officer_chat_id

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update):
            return False
        query = update.callback_query
        if query is not None:
            return callbacks.for_officers(query.data)
        message = update.message or update.edited_message
        command = command_of(message)
        if message is None or command is None:
            return False
        if message.chat.id == self.officer_chat_id:
            return command[0] not in OPEN_COMMANDS
        return message.chat.type == "private" and command[0] in OFFICER_ONLY

    async def _admit_or_stop(self, update: Update, context: Context) -> None:
        command = command_of(update.message or update.edited_message)
        if command is not None and command[1] not in ("", (context.bot.username or "").lower()):
            return  # addressed to another bot in the officer chat: not ours to gate or answer
        if await admit(update, context) is None:
            raise ApplicationHandlerStop
