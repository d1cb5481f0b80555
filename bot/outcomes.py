"""What happened to an outbox row, written down: sent (with what follows it), rescheduled,
unreachable, failed, or re-aimed at a migrated group.

Apart from the drainer (bot/delivery.py), which decides what to send and when. Sends that finish
together are recorded in one transaction (a group commit): one commit for a few dozen rows
instead of one each, which is what lets a broadcast go faster than the database commits; the
plain ones among them (a broadcast's messages) in one `executemany` statement.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import replace
from functools import partial

from storage import Store, Tx
from storage.models import OutboxRow
from storage.outbox import NewDelivery
from storage.payload import FollowUp

log = logging.getLogger(__name__)


class Outcomes:
    """Records outcomes in `store`. `fresh` is the drainer's "claim again" event: every commit
    sets it, and a group commit of plain sends that enqueued nothing clears it again."""

    def __init__(self, store: Store, fresh: asyncio.Event) -> None:
        self.store = store
        self.fresh = fresh
        self._to_record: list[tuple[OutboxRow, list[list[int]], asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None

    async def sent(self, row: OutboxRow, parts: list[list[int]]) -> None:
        """Record a delivery; returns when its group commit is done (the drainer keeps the row
        in flight, its lane busy, until then)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append((row, parts, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_sent(), name="outbox-recorder")
        await done

    async def _record_sent(self) -> None:
        while self._to_record:
            batch, self._to_record = self._to_record, []
            try:
                fresh = await self.store.run(partial(self._record_batch, batch))
                # Rows that enqueued follow-ups (a card's media) are new work for the drainer.
                if not fresh and not any(row.payload and row.payload.then for row, _, _ in batch):
                    self.fresh.clear()
            except Exception as error:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _record_batch(
        self, batch: list[tuple[OutboxRow, list[list[int]], asyncio.Future[None]]], tx: Tx
    ) -> bool:
        """One group commit (nothing but statements: one round trip on SQLite). Returns whether
        the drainer's "claim again" was set before it, with the store held: by someone else."""
        fresh = self.fresh.is_set()
        plain = [(row.id, parts) for row, parts, _ in batch if _plain(row)]
        if plain:
            await tx.outbox.mark_sent_many(plain)
        for row, parts, _ in batch:
            if not _plain(row):
                await _record_one(tx, row, parts)
        return fresh

    async def retry(self, row: OutboxRow, not_before: float, error: str, counts: bool) -> None:
        async with self.store.transaction() as tx:
            await tx.outbox.mark_retry(row.id, not_before, error, counts)

    async def progress(self, row: OutboxRow, parts: list[list[int]]) -> None:
        """The parts of a multi-part delivery already sent, so a retry skips them."""
        async with self.store.transaction() as tx:
            await tx.outbox.record_progress(row.id, parts)

    async def migrated(self, row: OutboxRow, new_chat_id: int) -> None:
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
        await self.failed(row, f"chat migrated to {new_chat_id}")

    async def unreachable(self, row: OutboxRow, reason: str) -> None:
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

    async def failed(self, row: OutboxRow, reason: str) -> None:
        log.error("outbox row %s (%s to %s) failed: %s", row.id, row.kind, row.chat_id, reason)
        async with self.store.transaction() as tx:
            if not await tx.outbox.mark_final(row.id, "failed", reason):
                return
            for child in row.payload.on_failed if row.payload else ():
                await tx.outbox.enqueue(_child(row, child, None, reason))


def _plain(row: OutboxRow) -> bool:
    """A row whose record is its status alone (a broadcast's message): no thread link, no
    card, nothing enqueued after it, so it joins the group commit's one statement."""
    payload = row.payload
    return (
        payload is not None and payload.link is None and not payload.set_card and not payload.then
    )


async def _record_one(tx: Tx, row: OutboxRow, parts: list[list[int]]) -> None:
    """Mark a row sent: thread links, the tip's card, and the deliveries that follow it."""
    ids = [mid for part in parts for mid in part]
    if not await tx.outbox.mark_sent(row.id, parts):
        return  # erased while in flight: no thread link in an erased chat, nothing follows
    payload = row.payload
    if payload is None:  # never sent: the drainer fails such a row first
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
