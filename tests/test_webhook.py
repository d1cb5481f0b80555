"""Webhook mode: Telegram posts updates to the bot, which refuses anyone without the secret."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp

from tests.conftest import World
from tests.telegram.emulator import BotApiEmulator

SECRET = "s3cret-Token_for-tests"
PUBLIC_URL = "https://bot.example.org/porchlight/hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def post(port: int, update: dict[str, Any], secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/porchlight/hook", json=update, headers=headers
        ) as response,
    ):
        return response.status


async def test_updates_posted_with_the_secret_are_answered_and_forged_ones_refused(
    emulator: BotApiEmulator, database: str
) -> None:
    world = World(emulator, database)
    emulator.webhook_delivery = False  # this story plays Telegram by hand (PUBLIC_URL is fiction)
    port = free_port()
    world.overrides.update(
        webhook_url=PUBLIC_URL, webhook_secret=SECRET, webhook_listen="127.0.0.1", webhook_port=port
    )
    app = await world.start_bot()
    try:
        # The bot told Telegram where to post, and with which secret.
        assert emulator.webhook_url == PUBLIC_URL
        [set_webhook] = emulator.calls_to("setWebhook", ok=True)
        assert set_webhook.params["secret_token"] == SECRET

        mallory = emulator.add_user("Mallory")
        emulator.user_sends(mallory, text="/start")
        forged = emulator.updates_log[-1]
        assert await post(port, forged, secret=None) == 403
        assert await post(port, forged, secret="guessed") == 403

        ana = emulator.add_user("Ana")
        emulator.user_sends(ana, text="/start")
        assert await post(port, emulator.updates_log[-1], secret=SECRET) == 200
        await emulator.wait_for(lambda: bool(emulator.bot_messages(ana.id)), what="a welcome")
        assert "Welcome to Porchlight" in emulator.bot_messages(ana.id)[0].text
        await app.update_queue.join()
        assert emulator.bot_messages(mallory.id) == []
    finally:
        await world.stop_bot()
