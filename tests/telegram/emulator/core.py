"""The emulator itself: one state, composed from a mixin per concern and method family.

Why mixins: the world, updates, faults and each Bot API method family each live in their
own module, yet share one state (set up here) and reach each other's helpers through
``self``, as the single class did. A new method goes into its family's ``_api_*`` table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .access import ChatAccessMixin
from .compose import ComposeMixin
from .faults import FaultsMixin, Hold, _FailRule
from .files import FilesMixin
from .humans import HumansMixin
from .methods_bot import BotMethods
from .methods_callbacks import CallbackMethods
from .methods_chats import ChatMethods
from .methods_copy import CopyMethods
from .methods_edit import EditMethods
from .methods_pins_topics import PinTopicMethods
from .methods_send import SendMethods
from .observation import CallbackAnswer, CallRecord, ObservationMixin, _Query
from .server import ServerMixin
from .updates import DEFAULT_ALLOWED_UPDATES, UpdatesMixin, _Poll
from .wire import JSON, _named, _Upload
from .world import Chat, StoredFile, User
from .world_setup import WorldSetupMixin


class BotApiEmulator(
    ServerMixin,
    WorldSetupMixin,
    HumansMixin,
    ObservationMixin,
    FaultsMixin,
    UpdatesMixin,
    ChatAccessMixin,
    ComposeMixin,
    FilesMixin,
    BotMethods,
    SendMethods,
    CopyMethods,
    EditMethods,
    CallbackMethods,
    ChatMethods,
    PinTopicMethods,
):
    """An in-process Telegram Bot API server plus the world behind it.

    Start with ``await emu.start()``; configure PTB with ``base_url=f"{emu.url}/bot"`` and
    ``base_file_url=f"{emu.url}/file/bot"``.
    """

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "porchlight_test_bot"
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot = User(id=bot_id, first_name="Porchlight", username=bot_username, is_bot=True)
        self.bot_username = bot_username
        # world
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        # updates
        self._updates: list[JSON] = []
        self._last_update_id = 700_000_000
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._active_poll: _Poll | None = None
        self.updates_log: list[JSON] = []  # every update ever enqueued
        self.suppressed_updates: list[JSON] = []  # not created: excluded by allowed_updates
        self.delivered_update_ids: set[int] = set()
        self.webhook_url = ""
        # What setWebhook registered besides the url, and Telegram's last failed delivery
        # (`webhook_delivery_failed`), as getWebhookInfo reports them.
        self.webhook_secret = ""
        self.webhook_max_connections = 40
        self.webhook_last_error: tuple[int, str] | None = None
        # observation
        self.calls: list[CallRecord] = []
        self.reactions: dict[tuple[int, int], list[JSON]] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.downloads: list[str] = []
        self._queries: dict[str, _Query] = {}
        # control
        self.latency = 0.0
        # Telegram's weather: this share of calls (never getUpdates) is answered 502 Bad
        # Gateway without being carried out; `latency_jitter` adds up to that many seconds.
        self.fault_rate = 0.0
        self.latency_jitter = 0.0
        self.random = random.Random(7)
        self.privacy_mode = True
        self.callback_answer_timeout: float | None = 15.0
        self.enforce_rate_limits = False
        self.rate_global: tuple[int, float] = (30, 1.0)
        self.rate_group: tuple[int, float] = (20, 60.0)
        self.rate_private: tuple[int, float] = (3, 3.0)
        self.rate_paid: tuple[int, float] = (1000, 1.0)
        self.clock: Callable[[], float] = time.monotonic
        self.now: Callable[[], float] = time.time
        self.holds: list[Hold] = []
        self._failures: list[_FailRule] = []
        self._sent_times: dict[Any, deque[float]] = {}
        # ids
        self._user_ids = itertools.count(1_000_001)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._album_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._chat_ordinal = itertools.count(0)
        # plumbing
        self._change = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, Callable[[JSON, dict[str, _Upload]], Any]] = {}
        self._register_methods()

    def _changed(self) -> None:
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline is the readable API here
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked on every change and every 20 ms).

        Raises AssertionError with the recent calls when it does not within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}\n{self.dump()}"
                )
            event = self._change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.02))

    def dump(self, last: int = 25) -> str:
        """Recent non-polling calls and pending updates, for failure messages."""
        calls = [c for c in self.calls if c.method != "getUpdates"][-last:]
        lines = ["recent Bot API calls:"] + [f"  {c!r}" for c in calls]
        lines.append(f"pending updates: {len(self._updates)}")
        for update in self._updates[:10]:
            kinds = [k for k in update if k != "update_id"]
            lines.append(f"  #{update['update_id']} {kinds}")
        return "\n".join(lines)

    def _register_methods(self) -> None:
        """Every method family contributes its table (Bot API name → handler)."""
        families = (
            self._api_updates(),
            self._api_bot(),
            self._api_send(),
            self._api_copy(),
            self._api_edit(),
            self._api_callbacks(),
            self._api_chats(),
            self._api_pins_topics(),
            self._api_files(),
        )
        for table in families:
            for api_name, func in table.items():
                wrapper = _named(api_name, func)
                self._methods[api_name.lower()] = wrapper


async def settle_noop() -> None:
    """A ``settle`` for drivers when no bot is running (tests of the emulator itself)."""
    return None
