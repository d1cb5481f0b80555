"""The second reference for a broadcast: aiogram 3's `send_message` in the same bare loop.

Why: aiogram is the other mature asyncio framework for the Bot API, built on aiohttp from the
start; the issue reads Porchlight's broadcast against it as well as against bare PTB. It is
installed only for the benchmark (the `bench` extra that `make bench` installs).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from tests.telegram.emulator import BotApiEmulator

from .broadcast import BroadcastResult, tip_key
from .common import CallWatcher


def available() -> bool:
    try:
        import aiogram  # noqa: F401
    except ImportError:
        return False
    return True


async def bare(residents: int, concurrency: int, text: str) -> BroadcastResult:
    """``bot.send_message`` from ``concurrency`` workers over a fresh emulator."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramAPIError

    emu = BotApiEmulator()
    await emu.start()
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url), limit=max(concurrency, 8))
    bot = Bot(emu.token, session=session)
    try:
        chat_ids = []
        for i in range(residents):
            user = emu.add_user(f"Resident{i}")
            emu.chat(user.id).started = True
            chat_ids.append(user.id)
        await bot.get_me()  # as PTB's initialize(): the connection is warm
        result = BroadcastResult(f"bare aiogram 3, {concurrency} tasks", sent={})
        watcher = CallWatcher(emu, tip_key)
        errors: Counter[str] = Counter()
        queue = iter(chat_ids)  # shared: each worker takes the next recipient

        async def worker() -> None:
            for chat_id in queue:
                try:
                    await bot.send_message(chat_id, text, parse_mode="HTML")
                except TelegramAPIError as error:
                    errors[type(error).__name__] += 1

        result.sent = dict.fromkeys(chat_ids, time.monotonic())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        watcher.collect(result)
        if errors:
            result.notes.append("errors: " + ", ".join(f"{k} {n}" for k, n in errors.items()))
        return result
    finally:
        await session.close()
        await emu.stop()
