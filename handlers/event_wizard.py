"""Officers' /newevent in the officer chat: title → start → end → place → description →
capacity → preview (announce, save, discard). The draft is an EventDraft in the officer's
user_data (persisted), so a restart mid-wizard keeps it. Registered by handlers/events.py,
whose officer_event conversation also holds the time edit of handlers/event_desk.py."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot import callbacks as cb
from bot import events
from bot.event_draft import EventDraft
from bot.event_time import parse_when
from handlers.common import Context, ask, keyboard, parse_int, pressed, said_from
from handlers.officers import officer_t, reply_prompt

TITLE, START, END, PLACE, DESCRIPTION, CAPACITY, PREVIEW, NEW_TIME = (
    "title",
    "start",
    "end",
    "place",
    "description",
    "capacity",
    "preview",
    "new_time",
)
Step = str | int | None


def _draft(context: Context) -> EventDraft:
    session = context.session
    if session.event is None:
        session.event = EventDraft()
    return session.event


def _skip(context: Context) -> InlineKeyboardMarkup:
    skip = cb.NEW_EVENT.build(cb.Choice("skip"))
    return keyboard(context.porch.officers.language, [[("common.skip", skip)]])


# Officers: /newevent ---------------------------------------------------------------------------


async def new_event(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or context.officer is None:
        return ConversationHandler.END
    context.session.event = EventDraft()
    await ask(
        message, context, officer_t(context, "events.ask_title"), reply_markup=reply_prompt(message)
    )
    return TITLE


async def on_title(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    _draft(context).title = message.text.strip()[:200]
    await ask(
        message, context, officer_t(context, "events.ask_start"), reply_markup=reply_prompt(message)
    )
    return START


def parse_moment(context: Context, text: str) -> tuple[datetime | None, str | None]:
    porch = context.porch
    when = parse_when(text, now=porch.store.clock.now(), zone=porch.settings.zone)
    if when.moment is not None:
        return when.moment, None
    key = "events.time_past" if when.problem == "past" else "events.time_unclear"
    return None, officer_t(context, key)


async def on_start(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    moment, problem = parse_moment(context, message.text)
    if moment is None:
        await ask(message, context, problem or "", reply_markup=reply_prompt(message))
        return None
    _draft(context).start = moment
    await ask(
        message,
        context,
        officer_t(context, "events.ask_end"),
        reply_markup=_skip(context),
    )
    return END


async def on_end(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    if message is None or not message.text:
        return None
    start = draft.start
    assert start is not None  # the END step follows START
    moment, problem = parse_moment(context, message.text)
    if moment is None:  # just a time ("20:00") means on the day it starts
        moment, same_day_problem = parse_moment(context, f"{start:%Y-%m-%d} {message.text}")
        problem = problem if same_day_problem and moment is None else None
    if moment is None or moment <= start:
        await ask(
            message,
            context,
            problem or officer_t(context, "events.end_before_start"),
            reply_markup=reply_prompt(message),
        )
        return None
    draft.end = moment
    return await _ask_place(message, context)


async def on_end_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _ask_place(message, context) if message else None


async def _ask_place(message: Message, context: Context) -> Step:
    await ask(
        message, context, officer_t(context, "events.ask_place"), reply_markup=reply_prompt(message)
    )
    return PLACE


async def on_place(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    if message is None:
        return None
    said = said_from(message)
    if said is not None and said.kind == "location":
        draft.latitude, draft.longitude, draft.place = said.latitude, said.longitude, said.text
    elif message.text:
        draft.place = message.text.strip()
    else:
        return None
    await ask(
        message,
        context,
        officer_t(context, "events.ask_description"),
        reply_markup=_skip(context),
    )
    return DESCRIPTION


async def on_description(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    _draft(context).description = message.text
    return await _ask_capacity(message, context)


async def on_description_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _ask_capacity(message, context) if message else None


async def _ask_capacity(message: Message, context: Context) -> Step:
    await ask(
        message,
        context,
        officer_t(context, "events.ask_capacity"),
        reply_markup=_skip(context),
    )
    return CAPACITY


async def on_capacity(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    capacity = parse_int(message.text.strip(), high=100_000)
    if capacity is None:
        await ask(
            message,
            context,
            officer_t(context, "events.capacity_invalid"),
            reply_markup=reply_prompt(message),
        )
        return None
    _draft(context).capacity = capacity
    return await _preview(message, context)


async def on_capacity_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _preview(message, context) if message else None


async def _preview(message: Message, context: Context) -> Step:
    preview = _draft(context).preview()
    text = events.event_html(preview, context.porch.officers.language, context.porch.settings.zone)
    await ask(
        message,
        context,
        officer_t(context, "events.preview") + "\n\n" + text,
        reply_markup=keyboard(
            context.porch.officers.language,
            [
                [
                    ("events.announce", cb.NEW_EVENT.build(cb.Choice("announce"))),
                    ("events.save", cb.NEW_EVENT.build(cb.Choice("save"))),
                ],
                [("events.discard", cb.NEW_EVENT.build(cb.Choice("cancel")))],
            ],
        ),
    )
    return PREVIEW


async def on_preview(update: Update, context: Context) -> Step:
    query, user = update.callback_query, update.effective_user
    draft = _draft(context)
    message = await pressed(update)
    if query is None or user is None or message is None or draft.start is None:
        return ConversationHandler.END
    press = cb.NEW_EVENT.parse(query.data)
    if press is None or press.choice == "cancel":
        context.session.event = None
        await ask(message, context, officer_t(context, "events.discarded"))
        return ConversationHandler.END
    porch = context.porch
    if draft.start <= porch.store.clock.now():
        await ask(message, context, officer_t(context, "events.time_past"))
        return START
    event = await events.create(porch.store, porch.settings, draft.to_new_event(user.id))
    context.session.event = None
    if press.choice == "announce":
        count = await events.announce(
            porch.store,
            porch.settings,
            event.id,
            officer_id=user.id,
            bot_username=porch.bot_username,
        )
        await ask(
            message, context, officer_t(context, "events.announced", ref=event.id, count=count or 0)
        )
    else:
        await ask(message, context, officer_t(context, "events.saved", ref=event.id))
    return ConversationHandler.END


async def on_cancel(update: Update, context: Context) -> Step:
    context.session.event = None
    if update.effective_message is not None:
        await ask(update.effective_message, context, officer_t(context, "events.discarded"))
    return ConversationHandler.END
