"""Webhook delivery: while a webhook is set, Telegram POSTs each pending update to its url.

Why: replicas behind a load balancer only get updates this way, and what they must survive is
how Telegram delivers: up to ``max_connections`` requests at once, an update counted as
delivered only on a 2xx answer, anything else (refused, reset, timed out, non-2xx) kept pending
and retried with back-off for up to 24 hours, the last error reported by ``getWebhookInfo`` in
Telegram's words.

Order: Telegram's own server (tdlib/telegram-bot-api, ``WebhookActor``) keeps a queue per chat
and sends a chat's next update only after the previous one was answered; that is
``webhook_order = "chat"`` (the default). ``"any"`` lets a chat's updates be in flight at once,
as the Bot API does not promise order across connections: the harsher weather for replicas.

Back-off follows the same server: a failed update is retried at once, then after 2, 4, 8 …
times ``webhook_retry_first`` seconds, at most ``webhook_retry_max``; a ``Retry-After`` header
is honoured. Delays run on the event loop's real time (stories shorten them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from .errors import bad_request
from .updates import DEFAULT_ALLOWED_UPDATES
from .wire import JSON, Handler, _Upload

KEEP_PENDING = 24 * 3600.0  # seconds Telegram keeps an undelivered update
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTION_REFUSED = "Connection refused"
READ_TIMEOUT = "Read timeout expired"
CONNECTION_CLOSED = "Webhook connection closed"


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of one update: what came back, as getWebhookInfo would word a failure."""

    update_id: int
    ok: bool
    status: int | None  # the HTTP status, None when no answer came
    error: str | None
    t: float  # the emulator's clock when the answer (or the failure) came


@dataclass
class _Retry:
    fail_count: int = 0
    delay: float = 0.0  # the back-off step reached (0: not started)
    wakeup_at: float = 0.0  # loop time before which the update is not sent again


def queue_of(update: JSON) -> tuple[str, int]:
    """The queue an update waits in: its chat (or its sender), else its own."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return ("chat", int(holder["chat"]["id"]))
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and "id" in sender:
            return ("chat", int(sender["id"]))
    return ("update", int(update["update_id"]))


def failure_text(error: BaseException) -> str:
    """An aiohttp failure in Telegram's words."""
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return CONNECTION_REFUSED
        return f"Connection failed: {error.os_error.strerror or error.os_error}"
    if isinstance(error, TimeoutError):
        return READ_TIMEOUT
    return CONNECTION_CLOSED


class WebhookMixin:
    """setWebhook, deleteWebhook, getWebhookInfo, and the task that POSTs pending updates."""

    def _init_webhook(self) -> None:
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        # Switches for stories: "chat" (one update of a chat in flight, Telegram's server) or
        # "any"; False: nothing is posted (a story plays Telegram by hand).
        self.webhook_order = "chat"
        self.webhook_delivery = True
        self.webhook_timeout = 60.0  # seconds to wait for an answer
        self.webhook_retry_first = 1.0
        self.webhook_retry_max = 60.0
        self.webhook_attempts: list[WebhookAttempt] = []
        self.webhook_last_error_date: int | None = None
        self.webhook_last_error_message: str | None = None
        self.webhook_peak_in_flight = 0
        self._webhook_in_flight: dict[int, asyncio.Task[None]] = {}
        self._webhook_retry: dict[int, _Retry] = {}
        self._webhook_born: dict[int, float] = {}
        self._webhook_wake = asyncio.Event()
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_http: aiohttp.ClientSession | None = None

    # --- the Bot API methods -----------------------------------------------------------------
    def _m_set_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._m_delete_webhook(p, f)
        connections = p.get("max_connections", 40)
        if not isinstance(connections, int) or isinstance(connections, bool):
            raise bad_request("max_connections is invalid")
        if url != self.webhook_url:
            self.webhook_last_error_date = self.webhook_last_error_message = None
        self.webhook_url = url
        secret = p.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        self.webhook_max_connections = max(1, min(100, connections))
        if p.get("drop_pending_updates"):
            self._drop_pending()
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = frozenset(p["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        self._wake_webhook()
        return True

    def _m_delete_webhook(self, p: JSON, f: dict[str, _Upload]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if p.get("drop_pending_updates"):
            self._drop_pending()
        self._wake_webhook()
        return True

    def _m_get_webhook_info(self, p: JSON, f: dict[str, _Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            info["allowed_updates"] = sorted(self._allowed_updates)
            if self.webhook_last_error_date is not None:
                info["last_error_date"] = self.webhook_last_error_date
                info["last_error_message"] = self.webhook_last_error_message
        return info

    def _api_webhook(self) -> dict[str, Handler]:
        """Bot API methods of this family."""
        table: dict[str, Handler] = {
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
        }
        return table

    # --- what tests read ---------------------------------------------------------------------
    def webhook_delivery_failed(self, message: str, ago: float = 0.0) -> None:
        """Telegram could not deliver to the webhook `ago` seconds ago, in its own words (e.g.
        "Wrong response from the webhook: 502 Bad Gateway"); a control for `porchlight check`."""
        self.webhook_last_error_date = int(self.now() - ago)
        self.webhook_last_error_message = message

    def webhook_deliveries(self, update_id: int) -> list[WebhookAttempt]:
        """Every POST of one update, oldest first."""
        return [a for a in self.webhook_attempts if a.update_id == update_id]

    # --- delivery ----------------------------------------------------------------------------
    def _drop_pending(self) -> None:
        """drop_pending_updates: what is not in flight is gone (in flight, it may still land)."""
        self._updates = [u for u in self._updates if u["update_id"] in self._webhook_in_flight]
        self._changed()

    def _wake_webhook(self) -> None:
        """Something changed (an update, the webhook, an answer): let the sender look again."""
        self._webhook_wake.set()
        if self.webhook_url and self.webhook_delivery and not self._stopping.is_set():
            task = self._webhook_task
            if task is None or task.done():
                with contextlib.suppress(RuntimeError):  # no running loop: started later
                    self._webhook_task = asyncio.get_running_loop().create_task(
                        self._webhook_loop(), name="emulator-webhook"
                    )

    async def _stop_webhook(self) -> None:
        tasks = [t for t in (self._webhook_task, *self._webhook_in_flight.values()) if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._webhook_task = None
        self._webhook_in_flight.clear()
        if self._webhook_http is not None:
            await self._webhook_http.close()
            self._webhook_http = None

    async def _webhook_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._webhook_http is None:
            self._webhook_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        while self.webhook_url and self.webhook_delivery and not self._stopping.is_set():
            self._webhook_wake.clear()
            next_wakeup = self._start_posts(loop.time())
            timeout = 1.0 if next_wakeup is None else max(0.0, next_wakeup - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._webhook_wake.wait(), min(timeout, 1.0))

    def _start_posts(self, now: float) -> float | None:
        """Start every update that may go now; the loop time of the next retry, if any."""
        waiting: set[tuple[str, int]] = set()  # queues whose head is in flight or backing off
        next_wakeup: float | None = None
        for update in list(self._updates):
            if len(self._webhook_in_flight) >= self.webhook_max_connections:
                break
            update_id = update["update_id"]
            queue = queue_of(update)
            if self.webhook_order == "chat":
                if queue in waiting:
                    continue
                waiting.add(queue)
            if update_id in self._webhook_in_flight:
                continue
            retry = self._webhook_retry.get(update_id)
            if retry is not None and retry.wakeup_at > now:
                next_wakeup = min(next_wakeup or retry.wakeup_at, retry.wakeup_at)
                continue
            self._webhook_in_flight[update_id] = asyncio.get_running_loop().create_task(
                self._post(update), name=f"webhook-{update_id}"
            )
        self.webhook_peak_in_flight = max(self.webhook_peak_in_flight, len(self._webhook_in_flight))
        return next_wakeup

    async def _post(self, update: JSON) -> None:
        update_id = update["update_id"]
        assert self._webhook_http is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers[SECRET_HEADER] = self.webhook_secret
        status: int | None = None
        error: str | None = None
        retry_after = 0
        try:
            async with self._webhook_http.post(
                self.webhook_url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status <= 299:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
                    retry_after = _seconds(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = failure_text(failure)
        finally:
            self._webhook_in_flight.pop(update_id, None)
        self.webhook_attempts.append(
            WebhookAttempt(update_id, error is None, status, error, self.clock())
        )
        if error is None:
            self._delivered(update_id)
        else:
            self._failed(update_id, error, retry_after)
        self._changed()
        self._wake_webhook()

    def _delivered(self, update_id: int) -> None:
        self._updates = [u for u in self._updates if u["update_id"] != update_id]
        self._webhook_retry.pop(update_id, None)
        self._webhook_born.pop(update_id, None)
        self.delivered_update_ids.add(update_id)

    def _failed(self, update_id: int, error: str, retry_after: int) -> None:
        self.webhook_last_error_date = int(self.now())
        self.webhook_last_error_message = error
        retry = self._webhook_retry.setdefault(update_id, _Retry())
        wait = float(min(max(retry_after, 0), 3600))
        if retry_after == 0 and retry.fail_count > 0:
            retry.delay = min(
                self.webhook_retry_max, max(retry.delay, self.webhook_retry_first) * 2
            )
            wait = retry.delay
        retry.fail_count += 1
        born = self._webhook_born.get(update_id, time.time())
        if time.time() + wait > born + KEEP_PENDING:  # Telegram gives up on it
            self._updates = [u for u in self._updates if u["update_id"] != update_id]
            self._webhook_retry.pop(update_id, None)
            return
        retry.wakeup_at = asyncio.get_running_loop().time() + wait


def _seconds(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
