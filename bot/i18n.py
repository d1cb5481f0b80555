"""Translations: gettext catalogs (Babel) keyed by message ids such as "report.thanks".

Catalogs live in bot/locales/<lang>/LC_MESSAGES/porchlight.po and are compiled in memory at
start, so there is no build step and no binary file in the repository. Every interpolated
value is HTML-escaped unless it is marked `Html`, because every message uses HTML parse mode.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot.config import SUPPORTED_LANGUAGES

DOMAIN = "porchlight"
# Each language by its own name (the language menu, the officers' card).
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


class Html(str):
    """A value that is already safe HTML (built by us from escaped parts)."""


def N_(message_id: str) -> str:
    """Mark a message id for extraction where it is translated later."""
    return message_id


def catalog_path(language: str) -> str:
    return f"locales/{language}/LC_MESSAGES/{DOMAIN}.po"


@cache
def _translations(language: str) -> Translations:
    source = resources.files("bot") / catalog_path(language)
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def warm_up() -> None:
    """Compile every catalog and load Babel's data for every language now, at start-up: loaded
    on first use, they cost the first resident's tip about 8 ms (bench/, issue 12)."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for language in SUPPORTED_LANGUAGES:
        _translations(language)
        format_datetime(moment, "d MMM y, HH:mm", locale=language)
        format_timedelta(timedelta(minutes=5), locale=language)
        format_decimal(1234.5, locale=language)


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return str(value)
    return html.escape(str(value), quote=False)


def translate(language: str, message_id: str, **values: object) -> str:
    """The message in `language` with values escaped for HTML."""
    if language not in SUPPORTED_LANGUAGES:
        language = SUPPORTED_LANGUAGES[0]
    text = _translations(language).gettext(message_id)
    if text == message_id and language != "en":
        text = _translations("en").gettext(message_id)
    if not values:
        return text
    return text.format(**{key: _escape(value) for key, value in values.items()})


Translator = Callable[..., str]


def translator(language: str) -> Translator:
    """`t = translator("es"); t("report.thanks", ref=42)`."""

    def t(message_id: str, **values: object) -> str:
        return translate(language, message_id, **values)

    return t


def plain(language: str, message_id: str, **values: object) -> str:
    """A translation for a place that shows plain text (button labels, command menus)."""
    return html.unescape(translate(language, message_id, **values))


def pick_language(client_language: str | None, default: str) -> str:
    """The resident's language from the Telegram client's, when we speak it."""
    if client_language:
        base = client_language.split("-")[0].lower()
        if base in SUPPORTED_LANGUAGES:
            return base
    return default
