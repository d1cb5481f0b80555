"""Events in Telegram: residents' /events, answers, calendar files and feedback, and one
register() for every event handler, officers' too (the /newevent wizard in
handlers/event_wizard.py, the /events desk in handlers/event_desk.py)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
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
from bot.events import Rsvp
from bot.i18n import N_, plain
from handlers.common import Context, answer, ask, buttons, parse_int

log = logging.getLogger(__name__)
PRIVATE = f.ChatType.PRIVATE
ANSWERED = {
    "going": N_("events.answered_going"),
    "maybe": N_("events.answered_maybe"),
    "no": N_("events.answered_no"),
}


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


def register(app: Application, officer_chat_id: int) -> None:
    # Imported here: the officers' modules import this one (ANSWERED, the resident side).
    from handlers.event_desk import (
        officer_events,
        on_cancel_confirmed,
        on_cancel_event_command,
        on_new_time,
        on_officer_button,
    )
    from handlers.event_wizard import (
        CAPACITY,
        DESCRIPTION,
        END,
        NEW_TIME,
        PLACE,
        PREVIEW,
        START,
        TITLE,
        new_event,
        on_cancel,
        on_capacity,
        on_capacity_skip,
        on_description,
        on_description_skip,
        on_end,
        on_end_skip,
        on_place,
        on_preview,
        on_start,
        on_title,
    )

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
