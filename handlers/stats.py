"""/stats for officers (the officer chat, past the officer gate) and /trends for residents
(private chats, also a button under /safety): the text at once, then the chart.

The chart is drawn in a worker thread while the text is on its way (bot.charts), so the event
loop keeps serving everyone else. The text carries every number, so a chart Telegram refuses
costs nothing but the picture.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler
from telegram.ext import filters as f

from bot import callbacks as cb
from bot import charts, stats, trends
from handlers.common import Context, answer

log = logging.getLogger(__name__)


async def _text_then_chart(
    message: Message, text: str, chart: charts.ChartSpec, caption: str | None = None
) -> None:
    drawing = asyncio.create_task(charts.png(chart))
    try:
        await message.reply_html(text)
    finally:
        png = await drawing
    await message.reply_photo(InputFile(png, filename="chart.png"), caption=caption)


async def on_stats(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or context.officer is None:
        return
    porch = context.porch
    officers = porch.officers
    report = await stats.now_answer(porch.store, officers.language, officers.zone)
    await _text_then_chart(message, report.html, report.chart, report.caption)


async def _send_trends(message: Message, context: Context) -> None:
    porch = context.porch
    settings = porch.settings
    found = await trends.neighbourhood(porch.store, settings.zone, settings.trends_min_count)
    lang = context.lang
    await _text_then_chart(
        message, trends.trends_html(found, lang), trends.trends_chart(found, lang)
    )


async def on_trends(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await _send_trends(update.effective_message, context)


async def on_trends_button(update: Update, context: Context) -> None:
    """The button under /safety: the trends as new messages below the library."""
    query = update.callback_query
    await answer(query)
    if query is not None and isinstance(query.message, Message):
        await _send_trends(query.message, context)


def register(app: Application, officer_chat_id: int) -> None:
    app.add_handler(CommandHandler("stats", on_stats, filters=f.Chat(officer_chat_id)))
    app.add_handler(CommandHandler("trends", on_trends, filters=f.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(on_trends_button, pattern=cb.TRENDS.pattern))
