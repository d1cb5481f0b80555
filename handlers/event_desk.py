"""Officers' /events list in the officer chat and its card's buttons: announce, edit the
time, cancel (asked first: it tells every attendee), and /cancelevent 12."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot import callbacks as cb
from bot import events
from bot.events import Event
from bot.i18n import N_, plain
from handlers.common import Context, answer, ask, keyboard, parse_ref
from handlers.event_wizard import NEW_TIME, Step, parse_moment
from handlers.officers import officer_t, reply_prompt

STATUS = {
    "draft": N_("events.status_draft"),
    "announced": N_("events.status_announced"),
    "cancelled": N_("events.status_cancelled"),
}

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
        context.session.event_move = event.id
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
    await query.edit_message_text(officer_t(context, "events.cancelled_officer", ref=event.id))


async def on_new_time(update: Update, context: Context) -> Step:
    message, user = update.effective_message, update.effective_user
    session = context.session
    if message is None or user is None or not message.text or session.event_move is None:
        return ConversationHandler.END
    moment, problem = parse_moment(context, message.text)
    if moment is None:
        await ask(message, context, problem or "", reply_markup=reply_prompt(message))
        return None
    porch = context.porch
    event_id, session.event_move = session.event_move, None
    moved = await events.move(
        porch.store, porch.settings, event_id, moment, None, officer_id=user.id
    )
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
