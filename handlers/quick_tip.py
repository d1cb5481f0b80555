"""The quick tip: plain text a resident sends outside a report is kept and offered as a tip
("Send this to officers?"), never dropped. Yes opens the report conversation at its summary
(an entry point of handlers/report.py); No forgets the text. The texts wait in the session,
by message id, the latest few only (`Session.keep_quick`).
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot import callbacks as cb
from bot import tips
from bot.tips import Draft
from handlers.common import Context, answer, ask, keyboard, tidy
from handlers.report_steps import CONFIRM, Step, show_summary


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
    context.session.report = draft
    await answer(query)
    await tidy(query.edit_message_reply_markup(None))
    if isinstance(query.message, Message):
        await show_summary(query.message, context, draft)
    return CONFIRM


async def decline_quick_tip(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    press = cb.QUICK_NO.parse(query.data)
    if press is not None:
        context.session.quick.pop(press.id, None)
    await answer(query)
    await tidy(query.edit_message_text(context.t("quick.declined")))
