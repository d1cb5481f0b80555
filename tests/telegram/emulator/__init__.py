"""A Telegram Bot API emulator for Porchlight's tests and benchmarks.

Why: PTB must be exercised through its real HTTP path (request encoding, ``de_json``, error
mapping) without the internet. :class:`BotApiEmulator` is an aiohttp server on 127.0.0.1 that
speaks the Bot API wire format; point an unmodified PTB ``Bot``/``Application`` at it with
``base_url=f"{emu.url}/bot"`` and ``base_file_url=f"{emu.url}/file/bot"``.

It keeps a small world (users, private chats, groups, messages, files), turns what humans do
(``user_sends``, ``user_taps`` ...) into updates served by ``getUpdates`` or posted to a
webhook, implements the methods the bot uses with Telegram's validation and error wording, and
lets tests inject faults (``fail_next``, ``hold``, ``latency``, optional rate limits) and observe
everything (``calls``, ``messages``, ``callback_answers``, ``webhook_attempts`` ...).

One module per concern; :class:`BotApiEmulator` (``core``) composes them as mixins sharing one
state. Everything public is importable from here, as when this was a single module.

- ``wire``, ``errors``: request decoding and handler type; ApiError and Telegram's wording.
- ``entities``, ``html_parser``, ``markdown_parser``, ``formatting``: UTF-16 measures, parse
  modes, entity normalisation (``format_text`` is the entry point).
- ``world``: User, Chat, Member, EmuMessage, StoredFile. ``world_setup``: staging them.
- ``humans``: user_sends, user_taps, album ... ``updates``: the queue and ``getUpdates``.
- ``webhook``: setWebhook and friends, and the task that POSTs pending updates to the webhook
  (secret header, ``max_connections``, back-off, per-chat order or not, Telegram's errors).
- ``faults``: fail_next, hold, flood limits. ``observation``: what tests read back.
- ``server``: HTTP lifecycle and dispatch. ``access``, ``compose``, ``files``: helpers every
  method family shares (chat access, building and storing messages, files and ``getFile``).
- ``methods_*``: one mixin per Bot API method family (bot settings and webhook, sending,
  copying, editing and deleting, callbacks and reactions, chats and members, pins and topics),
  each with its ``_api_*`` table of method names.
"""

from .core import BotApiEmulator, settle_noop
from .entities import auto_entities, finalize_text, utf16_len, utf16_slice
from .errors import (
    GET_UPDATES_CONFLICT,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    WEBHOOK_CONFLICT,
    ApiError,
    bad_request,
    forbidden,
)
from .faults import Hold
from .formatting import format_text
from .html_parser import parse_html
from .markdown_parser import parse_markdown, parse_markdown_v2
from .observation import CallbackAnswer, CallRecord
from .updates import DEFAULT_ALLOWED_UPDATES
from .webhook import WebhookAttempt
from .wire import JSON
from .world import (
    DEFAULT_PERMISSIONS,
    MEMBER_STATUSES,
    Chat,
    EmuMessage,
    Member,
    StoredFile,
    User,
)

__all__ = [
    "DEFAULT_ALLOWED_UPDATES",
    "DEFAULT_PERMISSIONS",
    "GET_UPDATES_CONFLICT",
    "JSON",
    "MEMBER_STATUSES",
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "WEBHOOK_CONFLICT",
    "ApiError",
    "BotApiEmulator",
    "CallRecord",
    "CallbackAnswer",
    "Chat",
    "EmuMessage",
    "Hold",
    "Member",
    "StoredFile",
    "User",
    "WebhookAttempt",
    "auto_entities",
    "bad_request",
    "finalize_text",
    "forbidden",
    "format_text",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "settle_noop",
    "utf16_len",
    "utf16_slice",
]
