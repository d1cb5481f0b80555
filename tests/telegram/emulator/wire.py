"""The Bot API wire format: parameter decoding, uploads, handler tables.

Why a module: every method family and the HTTP server agree on how a request looks
(form strings that PTB JSON-encoded, multipart uploads) and on the handler signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JSON = dict[str, Any]


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


# A Bot API method's implementation: decoded parameters and uploads in, result JSON out.
Handler = Callable[[JSON, dict[str, _Upload]], Any]


_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "title",
        "description",
        "short_description",
        "name",
        "language_code",
        "url",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "question",
        "emoji",
        "custom_title",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "vcard",
        "performer",
        "photo",
        "video",
        "voice",
        "audio",
        "document",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "thumb",
        "secret_token",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "action",
        "icon_custom_emoji_id",
        "file_id",
        "explanation",
        "invite_link",
        "tag",
        "cover",
        "certificate",
    }
)


def _coerce(key: str, value: Any) -> Any:
    """Form values arrive as strings; PTB JSON-encodes every non-string value."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _named(
    api_name: str, func: Callable[[JSON, dict[str, _Upload]], Any]
) -> Callable[[JSON, dict[str, _Upload]], Any]:
    def call(p: JSON, f: dict[str, _Upload]) -> Any:
        return func(p, f)

    call._api_name = api_name  # type: ignore[attr-defined]
    return call
