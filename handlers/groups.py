"""Groups the bot is added to: cards for officers, /report pointing to the private chat,
supergroup upgrades, removals. Also where the bot learns a resident blocked it."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import groups, residents
from bot.i18n import plain, translate
from handlers.common import Context, answer

PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def on_my_chat_member(update: Update, context: Context) -> None:
    change = update.my_chat_member
    if change is None:
        return
    porch = context.porch
    chat, status = change.chat, change.new_chat_member.status
    if chat.type == ChatType.PRIVATE:
        # A resident blocked (kicked) or unblocked the bot.
        await residents.set_reachable(
            porch.store,
            chat.id,
            status == ChatMemberStatus.MEMBER,
            default_language=porch.settings.default_language,
            key=porch.identity_key,
        )
        return
    if chat.id == porch.officers.chat_id or chat.type == ChatType.CHANNEL:
        return
    was_present = change.old_chat_member.status in PRESENT
    if status in PRESENT and not was_present:
        by = change.from_user
        name = f"@{by.username}" if by and by.username else (by.full_name if by else None)
        await groups.bot_added(
            porch.store,
            porch.officers,
            chat_id=chat.id,
            title=chat.title or str(chat.id),
            added_by=name,
        )
    elif status not in PRESENT and was_present:
        await groups.bot_removed(porch.store, porch.officers, chat.id)


async def on_group_decision(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    press = cb.GROUP.parse(query.data)
    porch = context.porch
    lang = porch.officers.language
    user = context.officer  # admitted by the officer gate
    if user is None:
        return
    group = (
        await groups.decide(
            porch.store, press.chat_id, approve=press.action == "ok", officer_id=user.id
        )
        if press is not None
        else None
    )
    if group is None:
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    if press is not None and press.action == "ok":
        await query.edit_message_text(translate(lang, "groups.approved", title=group.title))
        return
    await query.edit_message_text(translate(lang, "groups.left", title=group.title))
    with contextlib.suppress(TelegramError):  # already gone: the status says left anyway
        await context.bot.leave_chat(group.chat_id)


async def on_report_in_group(update: Update, context: Context) -> None:
    """Tips are never discussed in public: a button opens the private chat."""
    message = update.effective_message
    if message is None:
        return
    lang = context.porch.settings.default_language
    link = f"https://t.me/{context.porch.bot_username}?start=report"
    await message.reply_html(
        translate(lang, "groups.report_private"),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(plain(lang, "groups.open_private"), url=link)]]
        ),
    )


async def on_migrate(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id:
        await groups.migrated(context.porch.store, message.chat.id, message.migrate_to_chat_id)


def register(app: Application, officer_chat_id: int) -> None:
    community = f.ChatType.GROUPS & ~f.Chat(officer_chat_id)
    app.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(on_group_decision, pattern=cb.GROUP.pattern))
    app.add_handler(CommandHandler("report", on_report_in_group, filters=community))
    app.add_handler(MessageHandler(f.StatusUpdate.MIGRATE, on_migrate))
