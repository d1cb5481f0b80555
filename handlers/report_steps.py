"""The steps of the /report conversation (handlers/report.py registers them), from the
category to the summary: category → description → where → more media → anonymity → summary.

Each step edits the draft in the resident's session (`context.session.report`, persisted), so
a restart between steps loses nothing. An album arrives as one update per item: the first
item moves the conversation on, `SameAlbum` routes the rest to `on_album_item`, one answer.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import Application
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import tips
from bot.categories import CATEGORIES
from bot.i18n import plain
from bot.session import Session
from bot.tips import Draft
from handlers.common import Context, answer, ask, keyboard, pressed, said_from, step_to, tidy

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


async def emergency_check(
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


async def ask_category(message: Message, context: Context) -> None:
    lang = context.lang
    keys = list(CATEGORIES.items())
    rows = [
        [(label, cb.CATEGORY.build(cb.Choice(code))) for code, label in keys[i : i + 2]]
        for i in range(0, 6, 2)
    ]
    await ask(message, context, context.t("report.ask_category"), reply_markup=keyboard(lang, rows))


async def on_category(update: Update, context: Context) -> Step:
    query, draft = update.callback_query, context.session.report
    assert query is not None
    press = cb.CATEGORY.parse(query.data)
    if draft is None or press is None:
        await answer(query, context.t("common.stale"))
        return None
    code = draft.category = press.choice
    await answer(query)
    chosen = context.t("report.category_chosen", category=plain(context.lang, CATEGORIES[code]))
    await tidy(query.edit_message_text(chosen))
    if isinstance(query.message, Message):
        await ask(query.message, context, context.t("report.ask_description"))
    return DESCRIPTION


async def on_description_text(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    draft.description = message.text or ""
    await emergency_check(message, context, draft, draft.description)
    await _ask_where(message, context)
    return WHERE


async def on_description_media(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    draft.add_media(said.kind, said.file_id, message.media_group_id)
    if said.text or said.kind == "voice":
        draft.description = said.text or ""
        await emergency_check(message, context, draft, said.text)
        await _ask_where(message, context)
        return WHERE
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
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    draft.add_media(said.kind, said.file_id, message.media_group_id)
    if said.text and not draft.description:
        draft.description = said.text
        await emergency_check(message, context, draft, said.text)
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
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None
    draft.latitude, draft.longitude = said.latitude, said.longitude
    draft.place = said.text or draft.place
    await _ask_media(message, context)
    return MEDIA


async def on_where_text(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    draft.place = message.text
    await _ask_media(message, context)
    return MEDIA


async def on_where_skip(update: Update, context: Context) -> Step:
    await step_to(update, context, *_media_prompt(context))
    return MEDIA


def _media_prompt(context: Context) -> tuple[str, InlineKeyboardMarkup]:
    return context.t("report.ask_media"), keyboard(context.lang, [[("common.skip", MEDIA_DONE)]])


async def _ask_media(message: Message, context: Context) -> None:
    text, markup = _media_prompt(context)
    await ask(message, context, text, reply_markup=markup)


async def on_media_item(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, context.session.report
    assert message is not None and draft is not None
    said = said_from(message)
    assert said is not None and said.file_id is not None
    same_album = message.media_group_id is not None and message.media_group_id == draft.media_group
    if not draft.add_media(said.kind, said.file_id, message.media_group_id):
        await ask(message, context, context.t("report.media_full", limit=tips.MAX_MEDIA))
        return None
    if said.text:
        draft.description = "\n".join(p for p in (draft.description, said.text) if p)
    if not same_album:
        await ask(
            message,
            context,
            context.t("report.media_added"),
            reply_markup=keyboard(context.lang, [[("common.done", MEDIA_DONE)]]),
        )
    return None


async def on_media_done(update: Update, context: Context) -> Step:
    rows = [[("report.anonymous", ANONYMOUS)], [("report.share_name", NAMED)]]
    await step_to(update, context, context.t("report.ask_anonymity"), keyboard(context.lang, rows))
    return ANONYMITY


async def on_anonymity(update: Update, context: Context) -> Step:
    query, draft = update.callback_query, context.session.report
    assert query is not None
    press = cb.ANONYMITY.parse(query.data)
    if draft is None or press is None:
        await answer(query, context.t("common.stale"))
        return None
    draft.anonymous = press.choice == "yes"
    if isinstance(query.message, Message):
        await step_to(update, context, *_summary(query.message, context, draft))
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


def _summary(message: Message, context: Context, draft: Draft) -> tuple[str, InlineKeyboardMarkup]:
    """The summary (the person's own chat names them) with Send and Cancel."""
    user = message.chat
    name = tips.reporter_name(user.first_name, user.last_name, user.username)
    buttons = [[("summary.send", SEND_YES), ("summary.cancel", SEND_NO)]]
    return summary_text(context, draft, name), keyboard(context.lang, buttons)


async def show_summary(message: Message, context: Context, draft: Draft) -> None:
    text, markup = _summary(message, context, draft)
    await ask(message, context, text, reply_markup=markup)
