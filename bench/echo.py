"""Scenario 2: the ceiling, a bare PTB echo bot answering a burst of N messages.

Why: it costs PTB's polling, decoding and one sendMessage per update with no work of our own,
on the same emulator, machine and event loop; Porchlight's numbers are read against it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import ALLOWED_UPDATES
from tests.telegram.emulator import BotApiEmulator

from .common import BurstResult, CallWatcher, no_gc, text_key

MARK = re.compile(r"^echo (\d{5})$")
# An un-timed burst first, so the connection pool is as warm as Porchlight's is after the report
# steps (64 = the most requests concurrent_updates(64) can have in flight).
WARMUP = 64


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def build(emu: BotApiEmulator, concurrent: int | None) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = ApplicationBuilder().token(emu.token)
    builder = builder.base_url(f"{emu.url}/bot").base_file_url(f"{emu.url}/file/bot")
    if concurrent:
        builder = builder.concurrent_updates(concurrent)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    return app


async def run(users: int, concurrent: int | None, lost_after: float) -> BurstResult:
    """Polling started as Porchlight's is (tests.conftest.World), then one burst of messages."""
    mode = f"concurrent_updates({concurrent})" if concurrent else "sequential (default)"
    emu = BotApiEmulator()
    await emu.start()
    app = build(emu, concurrent)
    try:
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        try:
            return await _burst(emu, users, lost_after, f"PTB echo, {mode}")
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
        await emu.stop()


async def _burst(emu: BotApiEmulator, users: int, lost_after: float, name: str) -> BurstResult:
    warm = BurstResult("warm-up", sent={})
    warm_watch = CallWatcher(emu, text_key("sendMessage", MARK))
    for i in range(WARMUP):
        warm.sent[90000 + i] = time.monotonic()
        emu.user_sends(emu.add_user(f"Warm{i}"), text=f"echo {90000 + i:05d}")
    await warm_watch.wait(warm, lost_after, linger=0)

    people = [emu.add_user(f"Echo{i}") for i in range(users)]
    result = BurstResult(name, sent={})
    watcher = CallWatcher(emu, text_key("sendMessage", MARK))
    with no_gc():
        for i, user in enumerate(people):
            result.sent[i] = time.monotonic()
            emu.user_sends(user, text=f"echo {i:05d}")
    await watcher.wait(result, lost_after)
    spread = (max(result.sent.values()) - min(result.sent.values())) * 1000
    result.notes.append(f"{users} messages enqueued within {spread:.1f} ms")
    result.notes.append(result.call_summary())
    return result
