"""Events in Telegram: officers' /newevent, /events and /cancelevent in the officer chat;
residents' /events, answers, calendar files and feedback; the reminder alarm clock."""

from __future__ import annotations

import logging
from datetime import datetime
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

from bot import callbacks as cb
from bot import events
from bot.calendar import event_ics
from bot.event_draft import EventDraft
from bot.event_time import parse_when
from bot.events import Event, Rsvp
from bot.i18n import N_, plain
from handlers.common import (
    Context,
    answer,
    ask,
    buttons,
    keyboard,
    parse_int,
    parse_ref,
    pressed,
    said_from,
)
from handlers.officers import officer_t, reply_prompt

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
JOB_PREFIX = "event-job:"
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


def _skip(context: Context) -> InlineKeyboardMarkup:
    skip = cb.NEW_EVENT.build(cb.Choice("skip"))
    return keyboard(context.porch.officers.language, [[("common.skip", skip)]])


# Officers: /newevent ---------------------------------------------------------------------------


async def new_event(update: Update, context: Context) -> Step:
    message = update.effective_message
    if message is None or context.officer is None:
        return ConversationHandler.END
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
        reply_markup=_skip(context),
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
        reply_markup=_skip(context),
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
    _draft(context)["capacity"] = capacity
    return await _preview(message, context)


async def on_capacity_skip(update: Update, context: Context) -> Step:
    message = await pressed(update)
    return await _preview(message, context) if message else None


async def _preview(message: Message, context: Context) -> Step:
    draft = _draft(context)
    preview = EventDraft.from_dict(draft).preview()
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
    if query is None or user is None or message is None or "start" not in draft:
        return ConversationHandler.END
    press = cb.NEW_EVENT.parse(query.data)
    if press is None or press.choice == "cancel":
        if context.user_data is not None:
            context.user_data.pop("event", None)
        await ask(message, context, officer_t(context, "events.discarded"))
        return ConversationHandler.END
    porch = context.porch
    start = datetime.fromisoformat(draft["start"])
    if start <= porch.store.clock.now():
        await ask(message, context, officer_t(context, "events.time_past"))
        return START
    new = EventDraft.from_dict(draft).to_new_event(user.id)
    event = await events.create(porch.store, porch.settings, new)
    if context.user_data is not None:
        context.user_data.pop("event", None)
    await reschedule(context.application)
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
    if context.user_data is not None:
        context.user_data.pop("event", None)
    if update.effective_message is not None:
        await ask(update.effective_message, context, officer_t(context, "events.discarded"))
    return ConversationHandler.END


# Officers: /events and the event card's buttons -------------------------------------------------


async def officer_events(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or context.officer is None:
        return
    porch = context.porch
    lang = porch.officers.language
    listed = await events.officer_list(porch.store)
    if not listed:
        await ask(message, context, officer_t(context, "events.none_officer"))
        return
    for event, c in listed:
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
                ("events.edit_time", cb.EVENT_CARD.build(cb.ChoiceRef("time", event.id))),
                ("events.announce", cb.EVENT_CARD.build(cb.ChoiceRef("announce", event.id))),
                ("events.cancel_event", cb.EVENT_CARD.build(cb.ChoiceRef("cancel", event.id))),
            ]
        ]
        await ask(
            message, context, text, reply_markup=keyboard(context.porch.officers.language, rows)
        )


async def on_officer_button(update: Update, context: Context) -> Step:
    query = update.callback_query
    if query is None:
        return ConversationHandler.END
    press = cb.EVENT_CARD.parse(query.data)
    porch = context.porch
    user = context.officer  # admitted by the officer gate
    if user is None:
        return ConversationHandler.END
    action = press.choice if press else ""
    event = await events.get(porch.store, press.id) if press else None
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
                    ("events.cancel_yes", cb.EVENT_CANCEL.build(cb.ChoiceRef("yes", event.id))),
                    ("events.cancel_keep", cb.EVENT_CANCEL.build(cb.ChoiceRef("no", event.id))),
                ]
            ],
        ),
    )


async def on_cancel_confirmed(update: Update, context: Context) -> None:
    """Yes, cancel it / Keep it, under the question of _ask_cancel."""
    query = update.callback_query
    if query is None:
        return
    press = cb.EVENT_CANCEL.parse(query.data)
    user = context.officer  # admitted by the officer gate
    if user is None:
        return
    porch = context.porch
    event = await events.get(porch.store, press.id) if press else None
    answered = not isinstance(query.message, Message) or query.message.reply_markup is None
    if press is None or event is None or event.status == "cancelled" or answered:
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    if press.choice == "no":
        await query.edit_message_text(officer_t(context, "events.cancel_kept", ref=event.id))
        return
    cancelled = await events.cancel(porch.store, porch.settings, event.id, officer_id=user.id)
    if cancelled is None:  # a colleague was quicker
        await query.edit_message_text(officer_t(context, "events.unknown", ref=event.id))
        return
    await reschedule(context.application)
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
    await reschedule(context.application)
    if moved is None:
        await ask(message, context, context.t("common.stale"))
    else:
        await ask(message, context, officer_t(context, "events.moved_officer", ref=moved.id))
    return ConversationHandler.END


async def on_cancel_event_command(update: Update, context: Context) -> None:
    """/cancelevent 12"""
    message = update.effective_message
    if message is None or context.officer is None:
        return
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
    upcoming = await events.upcoming_for(porch.store, user.id)
    if not upcoming:
        await ask(message, context, context.t("events.none"))
        return
    for event, mine in upcoming:
        await ask(
            message,
            context,
            events.event_html(event, lang, porch.settings.zone),
            reply_markup=buttons(events.rsvp_buttons(event, lang, mine)),
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
    press = cb.RSVP.parse(query.data)
    porch, lang = context.porch, context.lang
    event = await events.get(porch.store, press.id) if press else None
    if press is None or event is None:
        await answer(query, context.t("common.stale"))
        return
    choice = press.choice
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
            reply_markup=buttons(
                [
                    [
                        (
                            plain(lang, "events.answer_maybe"),
                            cb.RSVP.build(cb.ChoiceRef("maybe", event.id)),
                        )
                    ]
                ]
            ),
        )
        return
    await answer(query, plain(lang, ANSWERED[choice]))
    await query.edit_message_reply_markup(buttons(events.rsvp_buttons(event, lang, choice)))


async def on_rating(update: Update, context: Context) -> None:
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    press = cb.RATE.parse(query.data)
    ok = press is not None and await events.rate(
        context.porch.store, press.event_id, user.id, press.stars
    )
    if press is None or not ok:
        await answer(query, context.t("common.stale"))
        return
    await answer(query)
    await query.edit_message_text(context.t("events.thanks_rating", rating=press.stars))


# The alarm clock --------------------------------------------------------------------------------


async def run_event_jobs(context: Context) -> None:
    porch = context.porch
    for run in await events.run_due(porch.store, porch.settings):
        log.info("event job %s (%s) sent to %d", run.job_id, run.kind, run.sent_to)


async def reschedule(app: Application) -> None:
    """Alarms for every pending event job, rebuilt from the database (at start and whenever
    events change); anything overdue runs now and decides for itself whether it is too late."""
    queue = app.job_queue
    if queue is None:
        return
    porch = app.bot_data["porch"]
    for job in queue.jobs():
        if job.name and job.name.startswith(JOB_PREFIX):
            job.schedule_removal()
    now = porch.store.clock.now()
    for due in sorted(set(await events.next_due(porch.store))):
        delay = max(0.0, (due - now).total_seconds())
        queue.run_once(
            run_event_jobs,
            when=delay,
            name=f"{JOB_PREFIX}{due.isoformat()}",
            job_kwargs={"misfire_grace_time": None},
        )


def register(app: Application, officer_chat_id: int) -> None:
    officer_chat = f.Chat(officer_chat_id)
    text = officer_chat & f.TEXT & ~f.COMMAND  # a reply to a prompt is an answer too
    Handlers = list[BaseHandler[Update, Context, Any]]
    skip = cb.NEW_EVENT.pattern_with("skip")
    preview = cb.NEW_EVENT.pattern_with("announce", "save", "cancel")
    entry: Handlers = [
        CommandHandler("newevent", new_event, filters=officer_chat),
        CallbackQueryHandler(on_officer_button, pattern=cb.EVENT_CARD.pattern_with("time")),
    ]
    states: dict[object, Handlers] = {
        TITLE: [MessageHandler(text, on_title)],
        START: [MessageHandler(text, on_start)],
        END: [MessageHandler(text, on_end), CallbackQueryHandler(on_end_skip, skip)],
        PLACE: [MessageHandler(text | (officer_chat & (f.LOCATION | f.VENUE)), on_place)],
        DESCRIPTION: [
            MessageHandler(text, on_description),
            CallbackQueryHandler(on_description_skip, skip),
        ],
        CAPACITY: [
            MessageHandler(text, on_capacity),
            CallbackQueryHandler(on_capacity_skip, skip),
        ],
        PREVIEW: [CallbackQueryHandler(on_preview, preview)],
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
    announce_or_cancel = cb.EVENT_CARD.pattern_with("announce", "cancel")
    app.add_handler(CallbackQueryHandler(on_officer_button, pattern=announce_or_cancel))
    app.add_handler(CallbackQueryHandler(on_cancel_confirmed, pattern=cb.EVENT_CANCEL.pattern))
    app.add_handler(CommandHandler("cancelevent", on_cancel_event_command, filters=officer_chat))
    app.add_handler(CommandHandler("events", officer_events, filters=officer_chat))
    app.add_handler(CommandHandler("events", resident_events, filters=PRIVATE))
    app.add_handler(
        CommandHandler("start", on_event_link, filters=PRIVATE & f.Regex(r"^/start event-\d+$"))
    )
    app.add_handler(CallbackQueryHandler(on_rsvp, pattern=cb.RSVP.pattern))
    app.add_handler(CallbackQueryHandler(on_rating, pattern=cb.RATE.pattern))
