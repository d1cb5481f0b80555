"""The officer chat: replies relayed to residents, internal notes, and refusals elsewhere.

Only members of the officer chat act as officers. A reply to a message of a tip's thread is
relayed; a reply that starts with /note is kept internal; anything else is officers' own talk.
"""

from __future__ import annotations

import logging
from enum import Enum

from telegram import ForceReply, Message, Update, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import relay
from bot.i18n import translate
from handlers.common import Context, answer, said_from
from handlers.start import command_list

log = logging.getLogger(__name__)

# Callback data prefixes of every button that only officers may press (keep in step with the
# handlers that issue them): event cards, event confirmations, group cards, broadcasts, /newevent,
# surge lists.
OFFICER_BUTTONS = r"^(evo|evc|grp|bk|bs|ne|open):"


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


async def officer_of(update: Update, context: Context) -> User | None:
    """The officer acting, or None after refusing: outside the officer chat without asking
    Telegram, then by membership (cached; "try again" when Telegram could not be asked).
    A refused button press is answered here; an accepted one is left for the handler."""
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
        await _refuse(update, officer_t(context, REFUSALS[status]))
        return None
    return user


def reply_prompt(message: Message) -> ForceReply | None:
    """Markup for a question to the officer who wrote `message`: their client opens a reply to
    it (selective: only them, not the whole chat). A bot that is not an administrator of the
    officer chat sees only such replies. Nothing when `message` is the bot's own (after a
    button press), as a selective ForceReply would then invite nobody."""
    author = message.from_user
    if author is None or author.is_bot:
        return None
    return ForceReply(selective=True)


def officer_t(context: Context, key: str, **values: object) -> str:
    """A message for the officer chat, in its language."""
    return translate(context.porch.officers.language, key, **values)


async def from_officer(update: Update, context: Context) -> tuple[Message, User] | None:
    """The message and its sender if the sender is an officer; otherwise refuse, and None."""
    message = update.effective_message
    if message is None:
        return None
    user = await officer_of(update, context)
    return (message, user) if user is not None else None


async def _tip_of_reply(context: Context, message: Message) -> tuple[int, str] | None:
    replied = message.reply_to_message
    if replied is None:
        return None
    link = await relay.thread_link(context.porch.store, message.chat.id, replied.message_id)
    return (link.tip_id, link.role) if link else None


async def on_officer_reply(update: Update, context: Context) -> None:
    """Group -1: a reply to a message of a tip's thread goes to the resident, even while the
    officer is in the middle of a conversation (/broadcast, /newevent), and is never taken as
    that conversation's answer. Any other reply carries on to group 0, where a conversation
    takes it exactly like a plain message (an answer to its prompt) or nobody does."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    found = await _tip_of_reply(context, message)
    if found is None or found[1] == "note":
        return  # not for a resident: a conversation's answer, or officers' own talk
    await _relay(update, context, message, user, found[0])
    raise ApplicationHandlerStop


async def _relay(
    update: Update, context: Context, message: Message, user: User, tip_id: int
) -> None:
    if await officer_of(update, context) is None:
        return
    said = said_from(message)
    if said is None:
        await message.reply_html(officer_t(context, "officer.unrelayable"))
        return
    porch = context.porch
    await relay.relay_officer_reply(
        porch.store,
        porch.officers,
        tip_id=tip_id,
        officer_id=user.id,
        said=said,
        source_message_id=message.message_id,
    )


async def on_note(update: Update, context: Context) -> None:
    found = await from_officer(update, context)
    if found is None:
        return
    message, user = found
    tip = await _tip_of_reply(context, message)
    parts = (message.text or "").split(maxsplit=1)
    text = parts[1].strip() if len(parts) == 2 else ""
    if tip is None or not text:
        await message.reply_html(officer_t(context, "officer.note_usage"))
        return
    porch = context.porch
    await relay.save_note(
        porch.store,
        porch.officers,
        tip_id=tip[0],
        officer_id=user.id,
        text=text,
        source_message_id=message.message_id,
    )


def officer_help(context: Context) -> str:
    """How the officer chat works, then every officer command from OFFICER_COMMANDS (the
    officer chat's menu), so help cannot miss one."""
    from bot.app import OFFICER_COMMANDS  # bot.app imports the handlers: import when used

    lang = context.porch.officers.language
    return "\n\n".join(
        [
            officer_t(context, "help.officer"),
            officer_t(context, "help.officer_commands")
            + "\n"
            + command_list(lang, OFFICER_COMMANDS),
        ]
    )


async def on_officer_help(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(officer_help(context))


async def on_officer_cancel_idle(update: Update, context: Context) -> None:
    """/cancel in the officer chat with no conversation in progress."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(officer_t(context, "officer.nothing_to_cancel"))


async def on_officer_unknown_command(update: Update, context: Context) -> None:
    """Any other command in the officer chat gets the officer help; commands addressed to
    another bot (/start@otherbot) are not ours to answer."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    await message.reply_html(
        officer_t(context, "common.unknown_command") + "\n\n" + officer_help(context)
    )


async def refuse_elsewhere(update: Update, context: Context) -> None:
    """Officer commands outside the officer chat are refused, whoever sends them."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(context.t("officer.only_in_officer_chat"))


async def guard_officer_buttons(update: Update, context: Context) -> None:
    """Early guard: an officer button pressed anywhere but the officer chat (forged data, or a
    message forwarded elsewhere) is refused at once, without asking Telegram about anyone."""
    if not in_officer_chat(update, context):
        await answer(update.callback_query, context.t("officer.button_elsewhere"))
        raise ApplicationHandlerStop


async def on_officer_membership(update: Update, context: Context) -> None:
    change = update.chat_member
    if change is None or change.chat.id != context.porch.officers.chat_id:
        return
    member = change.new_chat_member
    context.porch.roster.remember(member.user.id, member.status)
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        log.info("user %s left the officer chat: officer rights revoked", member.user.id)


OFFICER_ONLY = ["note", "broadcast", "addtip", "tips", "newevent", "cancelevent"]


def register_guards(app: Application, officer_chat_id: int) -> None:
    """Group -1: what must happen before any conversation of group 0 sees the update."""
    app.add_handler(CallbackQueryHandler(guard_officer_buttons, pattern=OFFICER_BUTTONS), group=-2)
    officer_replies = f.Chat(officer_chat_id) & f.REPLY & ~f.COMMAND
    app.add_handler(MessageHandler(officer_replies, on_officer_reply), group=-2)


def register_last(app: Application, officer_chat_id: int) -> None:
    """After every officer-chat handler and conversation: /cancel with nothing to cancel, and
    unknown commands, so every command in the officer chat gets an answer."""
    officer_chat = f.Chat(officer_chat_id)
    app.add_handler(CommandHandler("cancel", on_officer_cancel_idle, filters=officer_chat))
    app.add_handler(MessageHandler(officer_chat & f.COMMAND, on_officer_unknown_command))


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    app.add_handler(CommandHandler("note", on_note, filters=officer_chat))
    app.add_handler(CommandHandler("help", on_officer_help, filters=officer_chat))
    app.add_handler(
        CommandHandler(OFFICER_ONLY, refuse_elsewhere, filters=~officer_chat & ~f.ChatType.GROUPS)
    )
    app.add_handler(ChatMemberHandler(on_officer_membership, ChatMemberHandler.CHAT_MEMBER))
