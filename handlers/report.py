"""The /report conversation: its entry points, the Send at its end, and its definition.

category → description → where → more media → anonymity → summary (Send / Cancel); the steps
are in handlers/report_steps.py, the quick tip offered for plain text in handlers/quick_tip.py
(one of the entries). The draft lives in the resident's session (persisted); the tip is
committed before the resident is thanked.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import blocks, broadcasts, tips
from bot import callbacks as cb
from bot.blocks import Blocked
from bot.tips import Draft, TooManyTips
from handlers.common import Context, answer, ask, must_edit, parse_int, tidy
from handlers.privacy import erase_press_handler
from handlers.quick_tip import start_quick_tip
from handlers.report_steps import (
    ANONYMITY,
    CATEGORY,
    CONFIRM,
    DESCRIPTION,
    LOCATION,
    MEDIA,
    MEDIA_FILTER,
    PRIVATE,
    TEXT,
    WHERE,
    SameAlbum,
    Step,
    ask_category,
    on_album_item,
    on_anonymity,
    on_category,
    on_description_media,
    on_description_skip,
    on_description_text,
    on_media_done,
    on_media_item,
    on_where_location,
    on_where_skip,
    on_where_text,
    summary_text,
)

# Entry --------------------------------------------------------------------------------------


def refused_text(context: Context) -> str:
    """What a blocked resident is told (bot/blocks.py): neutral, with the emergency route."""
    return context.t("block.refused", number=context.porch.settings.emergency_number)


async def refuse_if_blocked(update: Update, context: Context, message: Message) -> bool:
    """A blocked resident is told at once, before typing a report that would be refused."""
    user = update.effective_user
    if user is None or not await blocks.is_blocked(context.porch.store, user.id):
        return False
    await ask(message, context, refused_text(context))
    return True


async def start_report(update: Update, context: Context) -> Step:
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    if await refuse_if_blocked(update, context, message):
        return ConversationHandler.END
    context.session.report = Draft(key=f"report:{chat.id}:{message.message_id}")
    await ask_category(message, context)
    return CATEGORY


async def start_report_about_alert(update: Update, context: Context) -> Step:
    """ "I have information" under an officers' alert (a button, or a deep link from a group)."""
    chat, message, query = update.effective_chat, update.effective_message, update.callback_query
    if query is not None:
        press = cb.ALERT_INFO.parse(query.data)
        alert_id = press.id if press else None
    else:  # the deep link /start alert-12
        alert_id = parse_int(((message.text if message else "") or "").rsplit("-", 1)[-1])
    alert = await broadcasts.alert(context.porch.store, alert_id) if alert_id else None
    if chat is None or alert is None:
        await answer(query, context.t("common.stale"))
        if query is None and message is not None:
            await ask(message, context, context.t("common.stale"))
        return ConversationHandler.END
    await answer(query)
    anchor = query.id if query else (message.message_id if message else 0)
    context.session.report = Draft(key=f"report:{chat.id}:a{anchor}", linked_alert=alert.id)
    target = query.message if query and isinstance(query.message, Message) else message
    if target is not None:
        await ask(target, context, context.t("report.about_alert", ref=alert.id))
        await ask_category(target, context)
    return CATEGORY


async def start_report_from_menu(update: Update, context: Context) -> Step:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await answer(query)
    if isinstance(query.message, Message) and await refuse_if_blocked(
        update, context, query.message
    ):
        return ConversationHandler.END
    context.session.report = Draft(key=f"report:{chat.id}:q{query.id}")
    if isinstance(query.message, Message):
        await ask_category(query.message, context)
    return CATEGORY


# Send --------------------------------------------------------------------------------------


async def on_send(update: Update, context: Context) -> Step:
    query, draft, user = update.callback_query, context.session.report, update.effective_user
    assert query is not None and user is not None
    if draft is None:
        await answer(query, context.t("common.stale"))
        return ConversationHandler.END
    press = cb.SEND.parse(query.data)
    if press is None or press.choice == "no":
        context.session.report = None
        await answer(query)
        await tidy(query.edit_message_text(context.t("report.cancelled")))
        return ConversationHandler.END
    name = (
        None
        if draft.anonymous
        else tips.reporter_name(user.first_name, user.last_name, user.username)
    )
    porch = context.porch
    summary = query.message if isinstance(query.message, Message) else None
    try:
        filed = await tips.file_tip(
            porch.store,
            resident_id=user.id,
            language=context.lang,
            draft=draft,
            reporter_name=name,
            officers=porch.officers,
            tips_per_hour=porch.settings.tips_per_hour,
            resident_message_id=summary.message_id if summary else None,
        )
    except TooManyTips as limit:
        minutes = max(1, int((limit.retry_at - porch.store.clock.now()).total_seconds() // 60) + 1)
        await answer(query)
        if isinstance(query.message, Message):
            await ask(
                query.message,
                context,
                context.t("report.too_many", limit=porch.settings.tips_per_hour, minutes=minutes),
            )
        return None
    except Blocked:
        context.session.report = None
        await answer(query)
        await must_edit(query, context, refused_text(context))
        return ConversationHandler.END
    context.session.report = None
    await answer(query)
    # The summary becomes the receipt: one edit instead of removing buttons and sending more.
    # A reply to it adds to the tip (linked when the tip was filed).
    thanks = context.t("report.thanks", ref=filed.tip.id)
    await must_edit(query, context, summary_text(context, draft, name) + "\n\n" + thanks)
    return ConversationHandler.END


async def on_cancel(update: Update, context: Context) -> Step:
    context.session.report = None
    if update.effective_message is not None:
        await ask(update.effective_message, context, context.t("report.cancelled"))
    return ConversationHandler.END


async def on_unusable(update: Update, context: Context) -> None:
    """Stickers, contacts, polls… or text where a button is expected: answer, keep the step."""
    message = update.effective_message
    if message is None:
        return
    t = context.t
    await ask(message, context, t("report.use_buttons") if message.text else t("report.unusable"))


Handlers = list[BaseHandler[Update, Context, Any]]


def conversation(app: Application) -> ConversationHandler[Context]:
    """The report, step by step. The album handler comes first in every step after the
    description, so the rest of an album is attached wherever the first item moved us."""
    album_item = MessageHandler(SameAlbum(app) & MEDIA_FILTER, on_album_item)
    unusable = MessageHandler(PRIVATE & ~f.COMMAND, on_unusable)
    entry_points: Handlers = [
        CommandHandler("report", start_report, filters=PRIVATE),
        CommandHandler("start", start_report, filters=PRIVATE & f.Regex(r"^/start report$")),
        CallbackQueryHandler(start_report_from_menu, pattern=cb.MENU.pattern_with("report")),
        CallbackQueryHandler(start_quick_tip, pattern=cb.QUICK_YES.pattern),
        CallbackQueryHandler(start_report_about_alert, pattern=cb.ALERT_INFO.pattern),
        CommandHandler(
            "start", start_report_about_alert, filters=PRIVATE & f.Regex(r"^/start alert-\d+$")
        ),
    ]
    states: dict[object, Handlers] = {
        CATEGORY: [CallbackQueryHandler(on_category, pattern=cb.CATEGORY.pattern)],
        DESCRIPTION: [
            album_item,
            MessageHandler(TEXT, on_description_text),
            MessageHandler(MEDIA_FILTER, on_description_media),
            CallbackQueryHandler(on_description_skip, pattern=cb.DESCRIPTION.pattern),
        ],
        WHERE: [
            album_item,
            MessageHandler(LOCATION, on_where_location),
            MessageHandler(TEXT, on_where_text),
            CallbackQueryHandler(on_where_skip, pattern=cb.WHERE.pattern),
        ],
        MEDIA: [
            MessageHandler(MEDIA_FILTER, on_media_item),
            CallbackQueryHandler(on_media_done, pattern=cb.MEDIA.pattern),
        ],
        ANONYMITY: [album_item, CallbackQueryHandler(on_anonymity, pattern=cb.ANONYMITY.pattern)],
        CONFIRM: [album_item, CallbackQueryHandler(on_send, pattern=cb.SEND.pattern)],
    }
    # Erasing one's data (/deleteme, then Erase) in the middle of a report ends it.
    fallbacks: Handlers = [CommandHandler("cancel", on_cancel), erase_press_handler(), unusable]
    return ConversationHandler(
        name="report",
        persistent=True,
        allow_reentry=True,
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
    )
