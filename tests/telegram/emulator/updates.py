"""Updates: the queue humans' actions feed and the ``getUpdates`` long poll that drains it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time

from aiohttp import web

from .errors import GET_UPDATES_CONFLICT, WEBHOOK_CONFLICT, ApiError, _as_int
from .wire import JSON, Handler, _client_gone

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class _Poll:
    """One in-flight getUpdates call."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.terminated = False


class UpdatesMixin:
    """Enqueues updates (honouring allowed_updates) and serves the long poll."""

    def _emit(self, kind: str, payload: JSON) -> JSON | None:
        if kind not in self._allowed_updates:
            self.suppressed_updates.append({kind: payload})
            return None
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self.updates_log.append(update)
        self._webhook_born[update["update_id"]] = time.time()
        self._wake_webhook()
        if self._active_poll is not None:
            self._active_poll.wake.set()
        self._changed()
        return update

    async def _get_updates(self, p: JSON, request: web.Request) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self._active_poll.wake.set()
        poll = _Poll()
        self._active_poll = poll
        try:
            if isinstance(p.get("allowed_updates"), list):
                wanted = frozenset(str(x) for x in p["allowed_updates"])
                self._allowed_updates = wanted or DEFAULT_ALLOWED_UPDATES
            offset = p.get("offset")
            if offset is not None:
                offset = _as_int(offset, "offset")
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._changed()
            limit = max(1, min(100, _as_int(p.get("limit", 100), "limit")))
            timeout = float(p.get("timeout") or 0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(0.0, min(timeout, 50.0))
            while True:
                if poll.terminated:
                    raise ApiError(409, GET_UPDATES_CONFLICT)
                batch = self._updates[:limit]
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or _client_gone(request):
                    for update in batch:
                        self.delivered_update_ids.add(update["update_id"])
                    return copy.deepcopy(batch)
                poll.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.wake.wait(), min(remaining, 0.1))
        finally:
            if self._active_poll is poll:
                self._active_poll = None

    def _api_updates(self) -> dict[str, Handler]:
        """getUpdates is served by the HTTP layer (it needs the request)."""
        table: dict[str, Handler] = {
            "getUpdates": lambda p, f: None,
        }
        return table
