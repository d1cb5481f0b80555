"""The /report conversation and the quick tip offered for plain text.

category → description → where → more media → anonymity → summary (Send / Cancel).
The draft lives in user_data (persisted); the tip is committed before the resident is thanked.
"""

from __future__ import annotations

import html
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

from bot import broadcasts, tips
from bot import callbacks as cb
from bot.i18n import plain
from bot.session import Session
from bot.tips import CATEGORIES, Draft, TooManyTips
from handlers.common import (
    Context,
    answer,
    ask,
    keyboard,
    must_edit,
    parse_int,
    pressed,
    said_from,
    tidy,
)

CATEGORY, DESCRIPTION, WHERE, MEDIA, ANONYMITY, CONFIRM = (
    "category",
    "description",
    "where",
    "media",
    "anonymity",
    "confirm",
)
Step = str | int | None  # the next state, ConversationHandler.END, or None to stay
PRIVATE = f.ChatType.PRIVATE
MEDIA_FILTER = (f.PHOTO | f.VIDEO | f.VOICE | f.Document.ALL | f.AUDIO | f.ANIMATION) & PRIVATE
TEXT = f.TEXT & ~f.COMMAND & PRIVATE
LOCATION = (f.LOCATION | f.VENUE) & PRIVATE
SKIP_DESCRIPTION = cb.DESCRIPTION.build(cb.Choice("skip"))
SKIP_WHERE = cb.WHERE.build(cb.Choice("skip"))
MEDIA_DONE = cb.MEDIA.build(cb.Choice("done"))
ANONYMOUS, NAMED = (cb.ANONYMITY.build(cb.Choice(c)) for c in ("yes", "no"))
SEND_YES, SEND_NO = (cb.SEND.build(cb.Choice(c)) for c in ("yes", "no"))


def _draft(context: Context) -> Draft | None:
    return context.session.report


def _save(context: Context, draft: Draft | None) -> None:
    context.session.report = draft


async def _emergency_check(
    message: Message, context: Context, draft: Draft, text: str | None
) -> None:
    """Emergency words get the emergency notice at once and make the tip urgent."""
    if tips.is_emergency(text):
        draft.urgent = True
        await ask(
            message,
            context,
            context.t("emergency.notice", number=context.porch.settings.emergency_number),
        )


# Entry --------------------------------------------------------------------------------------


async def start_report(update: Update, context: Context) -> Step:
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    _save(context, Draft(key=f"report:{chat.id}:{message.message_id}"))
    await _ask_category(message, context)
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
    _save(context, Draft(key=f"report:{chat.id}:a{anchor}", linked_alert=alert.id))
    target = query.message if query and isinstance(query.message, Message) else message
    if target is not None:
        await ask(target, context, context.t("report.about_alert", ref=alert.id))
        await _ask_category(target, context)
    return CATEGORY


async def start_report_from_menu(update: Update, context: Context) -> Step:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await answer(query)
    _save(context, Draft(key=f"report:{chat.id}:q{query.id}"))
    if isinstance(query.message, Message):
        await _ask_category(query.message, context)
    return CATEGORY


async def _ask_category(message: Message, context: Context) -> None:
    lang = context.lang
    keys = list(CATEGORIES.items())
    rows = [
        [(label, cb.CATEGORY.build(cb.Choice(code))) for code, label in keys[i : i + 2]]
        for i in range(0, 6, 2)
    ]
    await ask(message, context, context.t("report.ask_category"), reply_markup=keyboard(lang, rows))


# Steps ----------------------------------------------------------------------------------------


async def on_category(update: Update, context: Context) -> Step:
    query, draft = update.callback_query, _draft(context)
    assert query is not None
    press = cb.CATEGORY.parse(query.data)
    if draft is None or press is None:
        await answer(query, context.t("common.stale"))
        return None
    code = draft.category = press.choice
    _save(context, draft)
    await answer(query)
    chosen = context.t("report.category_chosen", category=plain(context.lang, CATEGORIES[code]))
    await tidy(query.edit_message_text(chosen))
    if isinstance(query.message, Message):
        await ask(query.message, context, context.t("report.ask_description"))
    return DESCRIPTION


async def on_description_text(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    draft.description = message.text or ""
    await _emergency_check(message, context, draft, draft.description)
    _save(context, draft)
    await _ask_where(message, context)
    return WHERE


async def on_description_media(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    draft.add_media(said.kind, said.file_id, message.media_group_id)
    if said.text or said.kind == "voice":
        draft.description = said.text or ""
        await _emergency_check(message, context, draft, said.text)
        _save(context, draft)
        await _ask_where(message, context)
        return WHERE
    _save(context, draft)
    await ask(
        message,
        context,
        context.t("report.ask_words"),
        reply_markup=keyboard(context.lang, [[("common.skip", SKIP_DESCRIPTION)]]),
    )
    return DESCRIPTION


async def on_description_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    if message is not None:
        await _ask_where(message, context)
    return WHERE


async def on_album_item(update: Update, context: Context) -> Step:
    """More items of an album already being attached: keep them, answer nothing more."""
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    draft.add_media(said.kind, said.file_id, message.media_group_id)
    if said.text and not draft.description:
        draft.description = said.text
        await _emergency_check(message, context, draft, said.text)
    _save(context, draft)
    return None


class SameAlbum(f.MessageFilter):
    """Media belonging to the album the resident's draft is collecting (one album, one reply)."""

    def __init__(self, app: Application) -> None:
        super().__init__(name="SameAlbum")
        self.app = app

    def filter(self, message: Message) -> bool:
        if message.media_group_id is None or message.from_user is None:
            return False
        session = self.app.user_data.get(message.from_user.id)
        draft = session.report if isinstance(session, Session) else None
        return draft is not None and draft.media_group == message.media_group_id


async def _ask_where(message: Message, context: Context) -> None:
    await ask(
        message,
        context,
        context.t("report.ask_where"),
        reply_markup=keyboard(context.lang, [[("common.skip", SKIP_WHERE)]]),
    )


async def on_where_location(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None
    draft.latitude, draft.longitude = said.latitude, said.longitude
    draft.place = said.text or draft.place
    _save(context, draft)
    await _ask_media(message, context)
    return MEDIA


async def on_where_text(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    draft.place = message.text
    _save(context, draft)
    await _ask_media(message, context)
    return MEDIA


async def on_where_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    if message is not None:
        await _ask_media(message, context)
    return MEDIA


async def _ask_media(message: Message, context: Context) -> None:
    await ask(
        message,
        context,
        context.t("report.ask_media"),
        reply_markup=keyboard(context.lang, [[("common.skip", MEDIA_DONE)]]),
    )


async def on_media_item(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    same_album = message.media_group_id is not None and message.media_group_id == draft.media_group
    if not draft.add_media(said.kind, said.file_id, message.media_group_id):
        await ask(message, context, context.t("report.media_full", limit=tips.MAX_MEDIA))
        return None
    if said.text:
        draft.description = "\n".join(p for p in (draft.description, said.text) if p)
    _save(context, draft)
    if not same_album:
        await ask(
            message,
            context,
            context.t("report.media_added"),
            reply_markup=keyboard(context.lang, [[("common.done", MEDIA_DONE)]]),
        )
    return None


async def on_media_done(update: Update, context: Context) -> Step:
    message = await pressed(update)
    if message is not None:
        await ask(
            message,
            context,
            context.t("report.ask_anonymity"),
            reply_markup=keyboard(
                context.lang,
                [
                    [("report.anonymous", ANONYMOUS)],
                    [("report.share_name", NAMED)],
                ],
            ),
        )
    return ANONYMITY


async def on_anonymity(update: Update, context: Context) -> Step:
    query, draft = update.callback_query, _draft(context)
    assert query is not None
    press = cb.ANONYMITY.parse(query.data)
    if draft is None or press is None:
        await answer(query, context.t("common.stale"))
        return None
    draft.anonymous = press.choice == "yes"
    _save(context, draft)
    message = await pressed(update)
    if message is not None:
        await _show_summary(message, context, draft)
    return CONFIRM


def summary_text(context: Context, draft: Draft, name: str | None) -> str:
    t, lang = context.t, context.lang
    lines = [t("summary.title")]
    if draft.urgent:
        lines.append(t("summary.urgent"))
    lines.append(
        t(
            "summary.category",
            category=plain(lang, CATEGORIES.get(draft.category or "other", "other")),
        )
    )
    if draft.place:
        lines.append(t("summary.where", place=draft.place))
    elif draft.latitude is not None:
        lines.append(t("summary.where_pin"))
    else:
        lines.append(t("summary.where_unknown"))
    if draft.media:
        lines.append(t("summary.attachments", count=len(draft.media)))
    if draft.linked_alert:
        lines.append(t("summary.about_alert", ref=draft.linked_alert))
    lines.append(t("summary.anonymous") if draft.anonymous else t("summary.named", name=name))
    description = draft.description or t("summary.no_description")
    preview = description if len(description) <= 600 else description[:600] + "…"
    return "\n".join(lines) + "\n\n" + html.escape(preview, quote=False)


async def _show_summary(message: Message, context: Context, draft: Draft) -> None:
    user = message.chat
    name = tips.reporter_name(user.first_name, user.last_name, user.username)
    await ask(
        message,
        context,
        summary_text(context, draft, name),
        reply_markup=keyboard(
            context.lang,
            [
                [
                    ("summary.send", SEND_YES),
                    ("summary.cancel", SEND_NO),
                ]
            ],
        ),
    )


async def on_send(update: Update, context: Context) -> Step:
    query, draft, user = update.callback_query, _draft(context), update.effective_user
    assert query is not None and user is not None
    if draft is None:
        await answer(query, context.t("common.stale"))
        return ConversationHandler.END
    press = cb.SEND.parse(query.data)
    if press is None or press.choice == "no":
        _save(context, None)
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
    _save(context, None)
    await answer(query)
    # The summary becomes the receipt: one edit instead of removing buttons and sending more.
    # A reply to it adds to the tip (linked when the tip was filed).
    thanks = context.t("report.thanks", ref=filed.tip.id)
    await must_edit(query, context, summary_text(context, draft, name) + "\n\n" + thanks)
    return ConversationHandler.END


async def on_cancel(update: Update, context: Context) -> Step:
    _save(context, None)
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


# Quick tip ---------------------------------------------------------------------------------


async def offer_quick_tip(message: Message, context: Context) -> None:
    """Plain text outside a report is kept and offered as a tip, never dropped."""
    if context.user_data is None or not message.text:
        return
    context.user_data.keep_quick(message.message_id, message.text)
    if tips.is_emergency(message.text):
        await ask(
            message,
            context,
            context.t("emergency.notice", number=context.porch.settings.emergency_number),
        )
    mid = message.message_id
    await ask(
        message,
        context,
        context.t("quick.offer"),
        reply_markup=keyboard(
            context.lang,
            [
                [
                    ("quick.yes", cb.QUICK_YES.build(cb.Ref(mid))),
                    ("quick.no", cb.QUICK_NO.build(cb.Ref(mid))),
                ]
            ],
        ),
        do_quote=True,
    )


async def start_quick_tip(update: Update, context: Context) -> Step:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    press = cb.QUICK_YES.parse(query.data)
    mid = press.id if press else 0
    text = context.session.quick.pop(mid, None)
    if text is None:
        await answer(query, context.t("common.stale"))
        return ConversationHandler.END
    draft = Draft(
        key=f"quick:{chat.id}:{mid}",
        category="other",
        description=text,
        urgent=tips.is_emergency(text),
    )
    _save(context, draft)
    await answer(query)
    await tidy(query.edit_message_reply_markup(None))
    if isinstance(query.message, Message):
        await _show_summary(query.message, context, draft)
    return CONFIRM


async def decline_quick_tip(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    press = cb.QUICK_NO.parse(query.data)
    if press is not None:
        context.session.quick.pop(press.id, None)
    await answer(query)
    await tidy(query.edit_message_text(context.t("quick.declined")))


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
    fallbacks: Handlers = [CommandHandler("cancel", on_cancel), unusable]
    return ConversationHandler(
        name="report",
        persistent=True,
        allow_reentry=True,
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
    )
