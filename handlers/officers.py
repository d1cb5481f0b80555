"""The officer chat: replies relayed to residents, internal notes, and refusals elsewhere.

Only members of the officer chat act as officers. A reply to a message of a tip's thread is
relayed; a reply that starts with /note is kept internal; anything else is officers' own talk.
In a forum (bot/forum.py), a message written in a tip's topic is about that tip without any
reply: relayed, or a note with /note. There too, a reply to something that is not the tip's
(a colleague's message, a note, one of the bot's questions) stays among officers. Messages in
General or in a topic that is no tip's are officers' talk; service messages and other bots'
messages are never relayed.
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Message, Update, User
from telegram.constants import ChatMemberStatus
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import relay
from bot.commands import OFFICER_COMMANDS
from bot.i18n import translate
from handlers.common import Context, said_from
from handlers.gate import OfficerGate, admit
from handlers.start import command_list

log = logging.getLogger(__name__)


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


async def tip_of(context: Context, message: Message) -> tuple[int, str] | None:
    """(tip id, role) of what a message of the officer chat is about: the message it replies
    to, or else the tip's forum topic it was written in (role "topic"). In a topic, Telegram
    shows every message as a reply to the topic's first message: that is no reply of the
    officer's."""
    topic = message.message_thread_id if message.is_topic_message else None
    replied = message.reply_to_message
    target = replied.message_id if replied is not None and replied.message_id != topic else topic
    if target is None:
        return None
    link = await relay.thread_link(context.porch.store, message.chat.id, target)
    return (link.tip_id, link.role) if link else None


async def on_officer_reply(update: Update, context: Context) -> None:
    """Group -1: a reply to a message of a tip's thread goes to the resident, even while the
    officer is in the middle of a conversation (/broadcast, /newevent), and is never taken as
    that conversation's answer. Any other reply carries on to group 0, where a conversation
    takes it exactly like a plain message (an answer to its prompt) or nobody does."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    found = await tip_of(context, message)
    if found is None or found[1] == "note":
        return  # not for a resident: a conversation's answer, or officers' own talk
    await _relay(update, context, message, user, found)
    raise ApplicationHandlerStop


async def _relay(
    update: Update, context: Context, message: Message, user: User, found: tuple[int, str]
) -> None:
    """Relay to the tip's residents (every resident of a merged group, except that a reply to
    one resident's follow-up answers that resident alone)."""
    if await admit(update, context) is None:
        return
    said = said_from(message)
    if said is None:
        await message.reply_html(officer_t(context, "officer.unrelayable"))
        return
    porch = context.porch
    await relay.relay_officer_reply(
        porch.store,
        porch.officers,
        tip_id=found[0],
        officer_id=user.id,
        said=said,
        source_message_id=message.message_id,
        officer_name=user.first_name,
        whole_group=found[1] != "followup",
    )


async def on_note(update: Update, context: Context) -> None:
    message, user = update.effective_message, context.officer
    if message is None or user is None:
        return
    tip = await tip_of(context, message)
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

    lang = context.porch.officers.language
    forum = [officer_t(context, "help.officer_forum")] if context.porch.officers.forum.on else []
    return "\n\n".join(
        [
            officer_t(context, "help.officer"),
            *forum,
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


async def on_officer_chat_seen(update: Update, context: Context) -> None:
    """Group -4: every update from the officer chat says whether it is a forum now (a group
    can turn topics on or off at any time; Telegram sends no update for that alone)."""
    chat = update.effective_chat
    officers = context.porch.officers
    if chat is None or chat.id != officers.chat_id:
        return
    if officers.forum.observe(bool(chat.is_forum)):
        if chat.is_forum:
            log.info("the officer chat is a forum now: each new tip gets a topic")
        else:
            log.info("the officer chat has no topics any more: tips go to the chat itself")


async def on_officer_membership(update: Update, context: Context) -> None:
    change = update.chat_member
    if change is None or change.chat.id != context.porch.officers.chat_id:
        return
    member = change.new_chat_member
    context.porch.roster.remember(member.user.id, member.status)
    await context.porch.replica.membership_changed(member.user.id)  # the other replicas too
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        log.info("user %s left the officer chat: officer rights revoked", member.user.id)


def register_guards(app: Application, officer_chat_id: int) -> None:
    """Group -2: what must happen before any conversation of group 0 sees the update. The two
    take disjoint updates: replies that are not commands go to the relay (which admits their
    author itself), officer commands and officer buttons to the gate."""
    # A reply, or any message written in a forum topic (it may be a tip's); never a service
    # message (a topic renamed by hand, a member joining).
    officer_replies = (
        f.Chat(officer_chat_id) & (f.REPLY | f.IS_TOPIC_MESSAGE) & ~f.COMMAND & ~f.StatusUpdate.ALL
    )
    app.add_handler(MessageHandler(officer_replies, on_officer_reply), group=-2)
    app.add_handler(OfficerGate(officer_chat_id), group=-2)


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
    app.add_handler(ChatMemberHandler(on_officer_membership, ChatMemberHandler.CHAT_MEMBER))
