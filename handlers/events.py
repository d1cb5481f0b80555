"""Events in Telegram: officers' /newevent, /events and /cancelevent in the officer chat;
residents' /events, answers, calendar files and feedback; the reminder alarm clock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as f

from bot import events
from bot.calendar import event_ics
from bot.event_time import parse_when
from bot.events import Rsvp
from bot.i18n import N_, plain
from handlers.common import (
    Context,
    answer,
    ask,
    buttons,
    callback_parts,
    keyboard,
    parse_int,
    parse_ref,
    pressed,
    said_from,
)
from handlers.officers import from_officer, officer_of, officer_t, reply_prompt
from storage.events import NewEvent
from storage.models import Event

log = logging.getLogger(__name__)
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
PRIVATE = f.ChatType.PRIVATE
STATUS = {
    "draft": N_("events.status_draft"),
    "announced": N_("events.status_announced"),
    "cancelled": N_("events.status_cancelled"),
}
ANSWERED = {
    "going": N_("events.answered_going"),
    "maybe": N_("events.answered_maybe"),
    "no": N_("events.answered_no"),
}


def _draft(context: Context) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    draft: dict[str, Any] = data.setdefault("event", {})
    return draft


def _skip(context: Context, data: str) -> InlineKeyboardMarkup:
    return keyboard(context.porch.officers.language, [[("common.skip", data)]])


# Officers: /newevent ---------------------------------------------------------------------------


async def new_event(update: Update, context: Context) -> Step:
    found = await from_officer(update, context)
    if found is None:
        return ConversationHandler.END
    message, _ = found
    if context.user_data is not None:
        context.user_data["event"] = {}
    await ask(
        message, context, officer_t(context, "events.ask_title"), reply_markup=reply_prompt(message)
    )
    return TITLE


async def on_title(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    _draft(context)["title"] = message.text.strip()[:200]
    await ask(
        message, context, officer_t(context, "events.ask_start"), reply_markup=reply_prompt(message)
    )
    return START


def _parse(context: Context, text: str) -> tuple[datetime | None, str | None]:
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
    moment, problem = _parse(context, message.text)
    if moment is None:
        await ask(message, context, problem or "", reply_markup=reply_prompt(message))
        return None
    _draft(context)["start"] = moment.isoformat()
    await ask(
        message,
        context,
        officer_t(context, "events.ask_end"),
        reply_markup=_skip(context, "ne:skip"),
    )
    return END


async def on_end(update: Update, context: Context) -> Step:
    message, draft = update.effective_message, _draft(context)
    if message is None or not message.text:
        return None
    start = datetime.fromisoformat(draft["start"])
    moment, problem = _parse(context, message.text)
    if moment is None:  # just a time ("20:00") means on the day it starts
        moment, same_day_problem = _parse(context, f"{start:%Y-%m-%d} {message.text}")
        problem = problem if same_day_problem and moment is None else None
    if moment is None or moment <= start:
        await ask(
            message,
            context,
            problem or officer_t(context, "events.end_before_start"),
            reply_markup=reply_prompt(message),
        )
        return None
    draft["end"] = moment.isoformat()
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
        draft.update(latitude=said.latitude, longitude=said.longitude, place=said.text)
    elif message.text:
        draft["place"] = message.text.strip()
    else:
        return None
    await ask(
        message,
        context,
        officer_t(context, "events.ask_description"),
        reply_markup=_skip(context, "ne:skip"),
    )
    return DESCRIPTION


async def on_description(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or not message.text:
        return None
    _draft(context)["description"] = message.text
    return await _ask_capacity(message, context)


async def on_description_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _ask_capacity(message, context) if message else None


async def _ask_capacity(message: Message, context: Context) -> Step:
    await ask(
        message,
        context,
        officer_t(context, "events.ask_capacity"),
        reply_markup=_skip(context, "ne:skip"),
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
    _draft(context)["capacity"] = capacity
    return await _preview(message, context)


async def on_capacity_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _preview(message, context) if message else None


def _new_event(draft: dict[str, Any], officer_id: int) -> NewEvent:
    return NewEvent(
        title=draft["title"],
        starts_at=datetime.fromisoformat(draft["start"]),
        ends_at=datetime.fromisoformat(draft["end"]) if draft.get("end") else None,
        place=draft.get("place"),
        latitude=draft.get("latitude"),
        longitude=draft.get("longitude"),
        description=draft.get("description"),
        capacity=draft.get("capacity"),
        created_by=officer_id,
    )


async def _preview(message: Message, context: Context) -> Step:
    draft = _draft(context)
    preview = events.draft_view(_new_event(draft, 0))
    text = events.event_html(preview, context.porch.officers.language, context.porch.settings.zone)
    await ask(
        message,
        context,
        officer_t(context, "events.preview") + "\n\n" + text,
        reply_markup=keyboard(
            context.porch.officers.language,
            [
                [("events.announce", "ne:announce"), ("events.save", "ne:save")],
                [("events.discard", "ne:cancel")],
            ],
        ),
    )
    return PREVIEW


async def on_preview(update: Update, context: Context) -> Step:
    query, user = update.callback_query, update.effective_user
    draft = _draft(context)
    message = await pressed(update)
    if query is None or user is None or message is None or "start" not in draft:
        return ConversationHandler.END
    if query.data == "ne:cancel":
        if context.user_data is not None:
            context.user_data.pop("event", None)
        await ask(message, context, officer_t(context, "events.discarded"))
        return ConversationHandler.END
    porch = context.porch
    start = datetime.fromisoformat(draft["start"])
    if start <= porch.store.clock.now():
        await ask(message, context, officer_t(context, "events.time_past"))
        return START
    event = await events.create(porch.store, porch.settings, _new_event(draft, user.id))
    if context.user_data is not None:
        context.user_data.pop("event", None)
    if query.data == "ne:announce":
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
    if context.user_data is not None:
        context.user_data.pop("event", None)
    if update.effective_message is not None:
        await ask(update.effective_message, context, officer_t(context, "events.discarded"))
    return ConversationHandler.END


# Officers: /events and the event card's buttons -------------------------------------------------


async def officer_events(update: Update, context: Context) -> None:
    found = await from_officer(update, context)
    if found is None:
        return
    message, _ = found
    porch = context.porch
    lang = porch.officers.language
    async with porch.store.read() as tx:
        upcoming = await tx.events.upcoming(
            tx.clock.now() - timedelta(days=30), announced_only=False
        )
        counts = {e.id: await tx.events.counts(e.id) for e in upcoming}
    if not upcoming:
        await ask(message, context, officer_t(context, "events.none_officer"))
        return
    for event in upcoming:
        c = counts[event.id]
        rating = (
            officer_t(context, "events.rating", average=f"{c.rating_average:.1f}", count=c.ratings)
            if c.rating_average is not None
            else ""
        )
        status = plain(lang, STATUS[event.status])
        text = (
            f"#{event.id} · {status}\n"
            + events.event_html(event, lang, porch.settings.zone)
            + "\n\n"
            + officer_t(context, "events.counts", going=c.going, maybe=c.maybe, no=c.no)
            + (f"\n{rating}" if rating else "")
        )
        rows = [
            [
                ("events.edit_time", f"evo:time:{event.id}"),
                ("events.announce", f"evo:announce:{event.id}"),
                ("events.cancel_event", f"evo:cancel:{event.id}"),
            ]
        ]
        await ask(
            message, context, text, reply_markup=keyboard(context.porch.officers.language, rows)
        )


async def on_officer_button(update: Update, context: Context) -> Step:
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    _, action, raw = callback_parts(query.data, 3)
    porch = context.porch
    user = await officer_of(update, context)
    if user is None:
        return ConversationHandler.END
    event_id = parse_int(raw)
    event = await events.get(porch.store, event_id) if event_id else None
    if event is None or event.status == "cancelled":
        await answer(query, context.t("common.stale"))
        return ConversationHandler.END
    await answer(query)
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return ConversationHandler.END
    if action == "time":
        if context.user_data is not None:
            context.user_data["event_move"] = event.id
        await ask(message, context, officer_t(context, "events.ask_new_time", ref=event.id))
        return NEW_TIME
    if action == "announce":
        count = await events.announce(
            porch.store,
            porch.settings,
            event.id,
            officer_id=user.id,
            bot_username=porch.bot_username,
        )
        key = "events.announced" if count else "events.not_announced"
        await ask(message, context, officer_t(context, key, ref=event.id, count=count or 0))
    elif action == "cancel":
        await _ask_cancel(context, message, event)
    return ConversationHandler.END


async def _ask_cancel(context: Context, message: Message, event: Event) -> None:
    """Cancelling tells every attendee at once: ask first."""
    count = await events.attendee_count(context.porch.store, event.id)
    await ask(
        message,
        context,
        officer_t(context, "events.cancel_confirm", ref=event.id, title=event.title, count=count),
        reply_markup=keyboard(
            context.porch.officers.language,
            [
                [
                    ("events.cancel_yes", f"evc:yes:{event.id}"),
                    ("events.cancel_keep", f"evc:no:{event.id}"),
                ]
            ],
        ),
    )


async def on_cancel_confirmed(update: Update, context: Context) -> None:
    """Yes, cancel it / Keep it, under the question of _ask_cancel."""
    query = update.callback_query
    if query is None:
        return
    _, choice, raw = callback_parts(query.data, 3)
    user = await officer_of(update, context)
    if user is None:
        return
    porch = context.porch
    event_id = parse_int(raw)
    event = await events.get(porch.store, event_id) if event_id else None
    answered = not isinstance(query.message, Message) or query.message.reply_markup is None
    if event is None or event.status == "cancelled" or choice not in ("yes", "no") or answered:
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    if choice == "no":
        await query.edit_message_text(officer_t(context, "events.cancel_kept", ref=event.id))
        return
    cancelled = await events.cancel(porch.store, porch.settings, event.id, officer_id=user.id)
    if cancelled is None:  # a colleague was quicker
        await query.edit_message_text(officer_t(context, "events.unknown", ref=event.id))
        return
    await query.edit_message_text(officer_t(context, "events.cancelled_officer", ref=event.id))


async def on_new_time(update: Update, context: Context) -> Step:
    message, user = update.effective_message, update.effective_user
    data = context.user_data if context.user_data is not None else {}
    if message is None or user is None or not message.text or "event_move" not in data:
        return ConversationHandler.END
    moment, problem = _parse(context, message.text)
    if moment is None:
        await ask(message, context, problem or "", reply_markup=reply_prompt(message))
        return None
    porch = context.porch
    moved = await events.move(
        porch.store, porch.settings, int(data.pop("event_move")), moment, None, officer_id=user.id
    )
    if moved is None:
        await ask(message, context, context.t("common.stale"))
    else:
        await ask(message, context, officer_t(context, "events.moved_officer", ref=moved.id))
    return ConversationHandler.END


async def on_cancel_event_command(update: Update, context: Context) -> None:
    """/cancelevent 12"""
    found = await from_officer(update, context)
    if found is None:
        return
    message, _ = found
    args = context.args or []
    event_id = parse_ref(args[0]) if len(args) == 1 else None
    if event_id is None:
        await ask(message, context, officer_t(context, "events.cancel_usage"))
        return
    event = await events.get(context.porch.store, event_id)
    if event is None or event.status == "cancelled":
        await ask(message, context, officer_t(context, "events.unknown", ref=event_id))
        return
    await _ask_cancel(context, message, event)


# Residents --------------------------------------------------------------------------------------


async def resident_events(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    porch, lang = context.porch, context.lang
    async with porch.store.read() as tx:
        upcoming = await tx.events.upcoming(tx.clock.now(), announced_only=True)
        mine = {e.id: await tx.events.answer_of(e.id, user.id) for e in upcoming}
    if not upcoming:
        await ask(message, context, context.t("events.none"))
        return
    for event in upcoming:
        await ask(
            message,
            context,
            events.event_html(event, lang, porch.settings.zone),
            reply_markup=buttons(events.rsvp_buttons(event, lang, mine[event.id])),
        )


async def on_event_link(update: Update, context: Context) -> None:
    """/start event-12: an announcement seen in a group, answered in private."""
    message = update.effective_message
    if message is None or not message.text:
        return
    event_id = parse_int(message.text.rsplit("-", 1)[-1])
    event = await events.get(context.porch.store, event_id) if event_id else None
    if event is None or event.status != "announced":
        await ask(message, context, context.t("common.stale"))
        return
    lang = context.lang
    await ask(
        message,
        context,
        events.event_html(event, lang, context.porch.settings.zone),
        reply_markup=buttons(events.rsvp_buttons(event, lang)),
    )


async def on_rsvp(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, choice, raw = callback_parts(query.data, 3)
    porch, lang = context.porch, context.lang
    event_id = parse_int(raw)
    event = await events.get(porch.store, event_id) if event_id else None
    if event is None:
        await answer(query, context.t("common.stale"))
        return
    if choice == "ics":
        await answer(query)
        data = event_ics(
            event_id=event.id,
            title=event.title,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            zone=porch.settings.zone,
            place=event.place,
            latitude=event.latitude,
            longitude=event.longitude,
            description=event.description,
            sequence=event.sequence,
        )
        await context.bot.send_document(
            user.id, data, filename=f"event-{event.id}.ics", caption=context.t("events.ics_caption")
        )
        return
    if choice not in events.ANSWERS:
        await answer(query, context.t("common.stale"))
        return
    result = await events.answer(porch.store, event.id, user.id, choice)
    if result is Rsvp.GONE:
        await answer(query, context.t("common.stale"))
        return
    if result is Rsvp.FULL:
        await answer(query, context.t("events.full"))
        await context.bot.send_message(
            user.id,
            context.t("events.full_offer_maybe", title=event.title),
            reply_markup=buttons([[(plain(lang, "events.answer_maybe"), f"ev:maybe:{event.id}")]]),
        )
        return
    await answer(query, plain(lang, ANSWERED[choice]))
    await query.edit_message_reply_markup(buttons(events.rsvp_buttons(event, lang, choice)))


async def on_rating(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _, raw_event, raw_rating = callback_parts(query.data, 3)
    event_id, rating = parse_int(raw_event), parse_int(raw_rating, high=5)
    ok = (
        event_id is not None
        and rating is not None
        and await events.rate(context.porch.store, event_id, user.id, rating)
    )
    if not ok:
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    await query.edit_message_text(context.t("events.thanks_rating", rating=rating))


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    text = officer_chat & f.TEXT & ~f.COMMAND  # a reply to a prompt is an answer too
    Handlers = list[BaseHandler[Update, Context, Any]]
    entry: Handlers = [
        CommandHandler("newevent", new_event, filters=officer_chat),
        CallbackQueryHandler(on_officer_button, pattern=r"^evo:time:\d+$"),
    ]
    states: dict[object, Handlers] = {
        TITLE: [MessageHandler(text, on_title)],
        START: [MessageHandler(text, on_start)],
        END: [MessageHandler(text, on_end), CallbackQueryHandler(on_end_skip, "^ne:skip$")],
        PLACE: [MessageHandler(text | (officer_chat & (f.LOCATION | f.VENUE)), on_place)],
        DESCRIPTION: [
            MessageHandler(text, on_description),
            CallbackQueryHandler(on_description_skip, "^ne:skip$"),
        ],
        CAPACITY: [
            MessageHandler(text, on_capacity),
            CallbackQueryHandler(on_capacity_skip, "^ne:skip$"),
        ],
        PREVIEW: [CallbackQueryHandler(on_preview, r"^ne:(announce|save|cancel)$")],
        NEW_TIME: [MessageHandler(text, on_new_time)],
    }
    fallbacks: Handlers = [CommandHandler("cancel", on_cancel, filters=officer_chat)]
    app.add_handler(
        ConversationHandler(
            name="officer_event",
            persistent=True,
            allow_reentry=True,
            entry_points=entry,
            states=states,
            fallbacks=fallbacks,
        )
    )
    # Outside the conversation: announcing or cancelling an event from /events must not end a
    # /newevent the officer is in the middle of.
    app.add_handler(CallbackQueryHandler(on_officer_button, pattern=r"^evo:(announce|cancel):\d+$"))
    app.add_handler(CallbackQueryHandler(on_cancel_confirmed, pattern=r"^evc:(yes|no):\d+$"))
    app.add_handler(CommandHandler("cancelevent", on_cancel_event_command, filters=officer_chat))
    app.add_handler(CommandHandler("events", officer_events, filters=officer_chat))
    app.add_handler(CommandHandler("events", resident_events, filters=PRIVATE))
    app.add_handler(
        CommandHandler("start", on_event_link, filters=PRIVATE & f.Regex(r"^/start event-\d+$"))
    )
    app.add_handler(CallbackQueryHandler(on_rsvp, pattern=r"^ev:(going|maybe|no|ics):\d+$"))
    app.add_handler(CallbackQueryHandler(on_rating, pattern=r"^rate:\d+:[1-5]$"))
