"""The outbox drainer: sends what storage says must be sent, and records that it was.

Each outbox row is one delivery (one or a few Telegram calls), described by a typed
`storage.payload.Payload` that `bot/` builds and storage keeps as JSON: `contents` (what to
send, see bot.content), `reply_to` or `reply_to_card` (the message, or the tip card, it answers),
`link` (the tip thread the sent messages join), `set_card` (the first one becomes the tip's
card), and `FollowUp`s to enqueue next: `then` after success (e.g. a card's media threaded
under it, `reply_to_parent`), `on_unreachable` when the recipient blocked the bot, `on_failed`
when it finally failed (`append_reason` adds why). A follow-up goes to the parent's chat, lane
and priority unless it says otherwise.
Rows of one lane go in order, one at a time; different lanes go in parallel, most urgent first.

Errors are handled as Telegram words them: 429 pauses every send for retry_after; 403 marks a
resident unreachable; timeouts, network errors and 5xx retry with exponential back-off up to a
limit; other 400s fail at once. Everything ends recorded on the row, nothing is dropped silently:
a row whose payload this version cannot read fails with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.budget import SendOptions, not_modified, seconds
from bot.content import Content
from bot.sending import markup, send_content
from bot.surge import SurgeGate
from storage import Store, Tx
from storage.models import OutboxRow
from storage.outbox import NewDelivery
from storage.payload import FollowUp, Payload

log = logging.getLogger(__name__)

# A reaction (👍 delivered) is cosmetic: tried twice, never more, and in a lane of its own.
COSMETIC_ATTEMPTS = 2


# A card edit renders the tip's card as it is when sent: (card message id, its content), or
# None when the tip has no card yet (the card, when it is sent, shows the current state).
CardRenderer = Callable[[int], Awaitable[tuple[int, Content] | None]]


def _cosmetic(payload: Payload) -> bool:
    return all(content["type"] == "reaction" for content in payload.contents)


class Unreadable(Exception):
    """The row's payload could not be read (written by a newer or broken version)."""


class Drainer:
    """Sends due outbox rows until stopped; woken by every commit and by back-off timers."""

    def __init__(
        self,
        store: Store,
        bot: ExtBot[Any],
        *,
        surge: SurgeGate | None = None,
        render_card: CardRenderer | None = None,
        concurrency: int = 8,
        retry_base: float = 1.0,
        max_attempts: int = 8,
    ) -> None:
        self.store = store
        self.bot = bot
        self.surge = surge
        self.render_card = render_card
        self.concurrency = concurrency
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._busy_lanes: set[str] = set()
        self._paused_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._to_record: list[tuple[OutboxRow, list[list[int]], asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        store.on_commit(self._wake)

    def _now(self) -> float:
        return self.store.clock.now().timestamp()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-drainer")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking rows; give sends in flight `grace` seconds, then cancel them: a cancelled
        row stays pending and is sent after the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            tasks = list(self._inflight.values())
            pending = set(tasks)
            if grace > 0:
                _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Return when nothing is in flight and nothing is due now (tests, shutdown)."""
        while True:
            if not self._inflight and self._now() >= self._paused_until:
                held = self.surge.held_lanes() if self.surge is not None else set()
                async with self.store.read() as tx:
                    due = await tx.outbox.due(self._now(), 1, held)
                if not due:
                    return
            await asyncio.sleep(0.005)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._now()
            timeout = 30.0
            if now < self._paused_until:
                timeout = self._paused_until - now
            else:
                free = self.concurrency - len(self._inflight)
                rows: list[OutboxRow] = []
                if free > 0:
                    busy = self._busy_lanes
                    if self.surge is not None:
                        busy = busy | self.surge.held_lanes()
                    async with self.store.read() as tx:
                        rows = await tx.outbox.due(now, free, busy)
                        # With every slot filled, finishing sends wake us; otherwise a
                        # backed-off row may be the next thing to do.
                        wakeup = await tx.outbox.next_wakeup(now) if len(rows) < free else None
                    if wakeup is not None:
                        timeout = min(timeout, wakeup - now)
                    if self.surge is not None:
                        rows = await self.surge.admit(rows, now, busy)
                        timeout = min(timeout, self.surge.next_look())
                for row in rows:
                    self._busy_lanes.add(row.lane)
                    task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
                    self._inflight[row.id] = task
                    task.add_done_callback(functools.partial(self._done, row))
            # asyncio.timeout, not wait_for: no inner task whose cancellation a stop can race.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):
                    await self._wake.wait()

    def _done(self, row: OutboxRow, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(row.id, None)
        self._busy_lanes.discard(row.lane)
        self._wake.set()

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            if row.payload is None:
                raise Unreadable
            parts = await self._send(row, row.payload)
        except RetryAfter as error:
            wait = seconds(error.retry_after)
            log.warning("429 on outbox row %s: pausing all sends for %.1fs", row.id, wait)
            self._paused_until = max(self._paused_until, self._now() + wait)
            async with self.store.transaction() as tx:
                await tx.outbox.mark_retry(row.id, self._now() + wait, str(error), False)
        except Forbidden as error:
            await self._unreachable(row, str(error))
        except ChatMigrated as error:
            await self._migrated(row, error.new_chat_id)
        except BadRequest as error:
            if row.chat_id > 0 and "chat not found" in str(error).lower():
                await self._unreachable(row, str(error))
            else:
                await self._failed(row, str(error))
        except NetworkError as error:  # timeouts, connection errors and 5xx, after short retries
            cosmetic = row.payload is not None and _cosmetic(row.payload)
            if row.attempts + 1 >= (COSMETIC_ATTEMPTS if cosmetic else self.max_attempts):
                await self._failed(row, str(error))
            else:
                delay = min(self.retry_base * 2**row.attempts, 300.0)
                log.info("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
                async with self.store.transaction() as tx:
                    await tx.outbox.mark_retry(row.id, self._now() + delay, str(error))
        except Unreadable:
            await self._failed(row, "unreadable payload")
        except Exception:
            log.exception("outbox row %s could not be sent", row.id)
            await self._failed(row, "internal error")
        else:
            try:
                await self._sent(row, parts)
            except Exception:
                log.exception("outbox row %s was sent but could not be recorded", row.id)

    async def _send(self, row: OutboxRow, payload: Payload) -> list[list[int]]:
        """Send the row's contents, skipping parts a previous attempt already delivered."""
        reply_to = payload.reply_to
        if payload.reply_to_card:
            async with self.store.read() as tx:
                tip = await tx.tips.get(payload.reply_to_card)
            reply_to = tip.card_message_id if tip else None
        contents = payload.contents
        parts: list[list[int]] = [list(part) for part in row.message_ids]
        for content in contents[len(parts) :]:
            options = SendOptions(priority=row.priority, durable=True)
            if content["type"] == "card_edit":
                await self._edit_card(row, content["tip_id"], options)
                parts.append([])
                continue
            parts.append(await send_content(self.bot, row.chat_id, content, reply_to, options))
            if len(contents) > 1 and len(parts) < len(contents):
                async with self.store.transaction() as tx:
                    await tx.outbox.record_progress(row.id, parts)
        return parts

    async def _edit_card(self, row: OutboxRow, tip_id: int, options: SendOptions) -> None:
        """Edit a tip's card to its state now. A later edit waiting in the lane makes this one
        pointless (a burst of presses is one edit); an edit to identical content is harmless."""
        async with self.store.read() as tx:
            superseded = await tx.outbox.superseded(row)
        card = None if superseded or self.render_card is None else await self.render_card(tip_id)
        if card is None:
            return
        message_id, body = card
        try:
            await self.bot.edit_message_text(
                body["html"],
                chat_id=row.chat_id,
                message_id=message_id,
                reply_markup=markup(body),
                rate_limit_args=options,
            )
        except BadRequest as error:
            if not not_modified(error):
                raise

    async def _sent(self, row: OutboxRow, parts: list[list[int]]) -> None:
        """Record a delivery. Sends that finish together are recorded in one transaction (a
        group commit); the row stays in flight, its lane busy, until its record is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append((row, parts, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_sent(), name="outbox-recorder")
        await done

    async def _record_sent(self) -> None:
        while self._to_record:
            batch, self._to_record = self._to_record, []
            try:
                async with self.store.transaction() as tx:
                    for row, parts, _ in batch:
                        await _record_one(tx, row, parts)
            except Exception as error:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _migrated(self, row: OutboxRow, new_chat_id: int) -> None:
        """A community group became a supergroup: it keeps its approval, the row is re-aimed."""
        async with self.store.transaction() as tx:
            group = await tx.groups.get(row.chat_id)
            if group is not None:
                await tx.groups.migrate(row.chat_id, new_chat_id)
                log.info("group %s migrated to %s", row.chat_id, new_chat_id)
                return
        log.error(
            "chat %s was upgraded to supergroup %s: if it is the officer chat, set "
            "OFFICER_CHAT_ID=%s and restart",
            row.chat_id,
            new_chat_id,
            new_chat_id,
        )
        await self._failed(row, f"chat migrated to {new_chat_id}")

    async def _unreachable(self, row: OutboxRow, reason: str) -> None:
        log.info("outbox row %s: chat %s unreachable (%s)", row.id, row.chat_id, reason)
        async with self.store.transaction() as tx:
            if not await tx.outbox.mark_final(row.id, "unreachable", reason):
                return  # erased while in flight (bot/erasure.py): nobody to mark, nothing follows
            if row.chat_id > 0:
                await tx.residents.mark_unreachable(row.chat_id)
            elif await tx.groups.get(row.chat_id) is not None:
                await tx.groups.set_status(row.chat_id, "left")
            for child in row.payload.on_unreachable if row.payload else ():
                await tx.outbox.enqueue(_child(row, child, None, reason))

    async def _failed(self, row: OutboxRow, reason: str) -> None:
        log.error("outbox row %s (%s to %s) failed: %s", row.id, row.kind, row.chat_id, reason)
        async with self.store.transaction() as tx:
            if not await tx.outbox.mark_final(row.id, "failed", reason):
                return
            for child in row.payload.on_failed if row.payload else ():
                await tx.outbox.enqueue(_child(row, child, None, reason))


async def _record_one(tx: Tx, row: OutboxRow, parts: list[list[int]]) -> None:
    """Mark a row sent: thread links, the tip's card, and the deliveries that follow it."""
    ids = [mid for part in parts for mid in part]
    if not await tx.outbox.mark_sent(row.id, parts):
        return  # erased while in flight: no thread link in an erased chat, nothing follows
    payload = row.payload
    if payload is None:  # never sent: _deliver fails such a row first
        return
    if payload.link is not None and ids:
        await tx.tips.link(row.chat_id, ids, payload.link.tip_id, payload.link.role)
    if payload.set_card and row.tip_id is not None and ids:
        await tx.tips.set_card(row.tip_id, ids[0])
    for child in payload.then:
        await tx.outbox.enqueue(_child(row, child, ids[0] if ids else None))


def _child(
    parent: OutboxRow, spec: FollowUp, parent_message_id: int | None, reason: str = ""
) -> NewDelivery:
    """A follow-on delivery described inside a parent's payload."""
    payload = spec.payload
    if spec.reply_to_parent:
        payload = replace(payload, reply_to=parent_message_id)
    if spec.append_reason and reason and payload.contents:
        *before, last = payload.contents
        note = f"\n<i>{html.escape(reason, quote=False)}</i>"
        payload = replace(payload, contents=(*before, {**last, "html": last["html"] + note}))
    return NewDelivery(
        kind=spec.kind,
        chat_id=parent.chat_id if spec.chat_id is None else spec.chat_id,
        payload=payload,
        lane=parent.lane if spec.lane is None else spec.lane,
        priority=parent.priority if spec.priority is None else spec.priority,
        tip_id=parent.tip_id,
        dedupe_key=spec.dedupe_key,
    )
