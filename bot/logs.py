"""Logging for the `porchlight` command: one format, quiet libraries, and never the token.

Python-telegram-bot, httpx and our aiohttp client (bot/http.py, at DEBUG) log request URLs,
and a Bot API URL holds the token (`.../bot123456:AAE.../getUpdates`). Every record that
reaches our handler passes through `RedactToken` first, its message, arguments and traceback
included.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO
from urllib.parse import quote

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactToken(logging.Filter):
    """Replaces the bot token with `<bot id>:<redacted>` in everything a record shows."""

    def __init__(self, token: str) -> None:
        super().__init__()
        shown = token.split(":", 1)[0] + ":<redacted>"
        self._replacements = [(token, shown), (quote(token, safe=""), shown)]

    def redact(self, text: str) -> str:
        for secret, shown in self._replacements:
            text = text.replace(secret, shown)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, token: str, stream: TextIO | None = None) -> logging.Handler:
    """Log to stderr (or `stream`) at `level`, with the token redacted. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    debug = level.upper() == "DEBUG"
    # httpx logs every request at INFO: noise, except when a deployer asks for everything.
    logging.getLogger("httpx").setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.INFO if debug else logging.WARNING)
    return handler
