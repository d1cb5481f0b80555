"""The references for a broadcast: python-telegram-bot's `send_message` in a bare loop.

Why: no storage, no outbox, no pacing — the ceiling one process and one event loop reach on
this machine with PTB and a given HTTP client, sending the same text to the same emulator.
Porchlight's broadcast is read against it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.http import make_request
from tests.telegram.emulator import BotApiEmulator

from .broadcast import BroadcastResult, tip_key
from .common import CallWatcher


async def bare(residents: int, concurrency: int | None, text: str, backend: str) -> BroadcastResult:
    """``bot.send_message`` in a loop (or ``concurrency`` workers) over a fresh emulator, on
    ``backend`` (PTB's httpx or our aiohttp request, bot/http.py)."""
    mode = f"{concurrency} tasks" if concurrency else "sequential for loop"
    emu = BotApiEmulator()
    await emu.start()
    bot = Bot(
        emu.token,
        base_url=emu.base_url,
        base_file_url=emu.base_file_url,
        request=make_request(backend, pool_size=max(concurrency or 1, 8)),
    )
    try:
        chat_ids = []
        for i in range(residents):
            user = emu.add_user(f"Resident{i}")
            emu.chat(user.id).started = True
            chat_ids.append(user.id)
        await bot.initialize()
        result = BroadcastResult(f"bare PTB + {backend}, {mode}", sent={})
        watcher = CallWatcher(emu, tip_key)
        errors: Counter[str] = Counter()

        async def send(chat_id: int) -> None:
            try:
                await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
            except TelegramError as error:
                errors[type(error).__name__] += 1

        start = time.monotonic()
        result.sent = dict.fromkeys(chat_ids, start)
        if concurrency is None:
            for chat_id in chat_ids:
                await send(chat_id)
        else:
            queue = iter(chat_ids)  # shared: each worker takes the next recipient

            async def worker() -> None:
                for chat_id in queue:
                    await send(chat_id)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        watcher.collect(result)
        if errors:
            result.notes.append("errors: " + ", ".join(f"{k} {n}" for k, n in errors.items()))
        return result
    finally:
        await bot.shutdown()
        await emu.stop()
