"""`porchlight run`: serve by long polling or webhook, starting with a line a deployer can read.

When Telegram cannot be reached or refuses the token, the command prints one line saying what
to fix and exits non-zero, instead of python-telegram-bot's tracebacks.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.app import ALLOWED_UPDATES, build_application
from bot.config import TELEGRAM_API_URL, Settings
from bot.logs import RedactToken

log = logging.getLogger("porchlight")


def webhook_options(settings: Settings) -> dict[str, Any]:
    """What `run_webhook` / `Updater.start_webhook` get in webhook mode."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": settings.listen_path,
        "webhook_url": settings.webhook_url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


def token_rejected(settings: Settings, error: TelegramError) -> str:
    line = (
        f"Telegram rejected BOT_TOKEN ({error}): copy the token again from @BotFather "
        "(/mybots → your bot → API Token) into .env"
    )
    if settings.telegram_api_url != TELEGRAM_API_URL:
        line += f", and check that TELEGRAM_API_URL={settings.telegram_api_url} is a Bot API server"
    return line


def unreachable(settings: Settings, error: TelegramError) -> str:
    return (
        f"cannot reach the Bot API at {settings.telegram_api_url} ({error}): check the network, "
        "or TELEGRAM_API_URL if you run your own Bot API server"
    )


def _cannot_start(settings: Settings, reason: str) -> int:
    print("Porchlight cannot start: " + RedactToken(settings.token).redact(reason), file=sys.stderr)
    return 1


def serve(settings: Settings) -> int:
    """Connect (one line and exit code 1 when that fails), then serve until stopped."""
    app = build_application(settings)
    # run_polling/run_webhook initialise the application on the current event loop; doing it
    # first ourselves lets us explain a failure (their own attempt is then a no-op).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(app.initialize())
    except (InvalidToken, NetworkError) as error:
        # The HTTP sessions were opened before Telegram answered: close them quietly.
        loop.run_until_complete(app.bot.shutdown())
        loop.close()
        if isinstance(error, InvalidToken):
            return _cannot_start(settings, token_rejected(settings, error))
        return _cannot_start(settings, unreachable(settings, error))
    try:
        if settings.webhook_url:
            app.run_webhook(**webhook_options(settings), close_loop=False)
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    except TelegramError as error:
        return _cannot_start(settings, f"Telegram refused to start the bot: {error}")
    except OSError as error:
        if not settings.webhook_url:
            raise
        return _cannot_start(
            settings,
            f"cannot listen on {settings.webhook_listen}:{settings.webhook_port} ({error}): "
            "is WEBHOOK_PORT used by another process?",
        )
    finally:
        # PTB calls post_stop only for an application that got as far as running; the outbox
        # drainer starts earlier (post_init), so stop it here too (a no-op when stopped).
        if app.post_stop is not None:
            loop.run_until_complete(app.post_stop(app))
        loop.close()
    return 0
