"""Several replicas on one PostgreSQL: any update anywhere, one scheduler leader.

Behind a load balancer, Telegram's updates land on any replica. What keeps them one bot:

- **Leases.** A replica stores each update with a lease in its name (bot.inbox), and claims the
  outbox rows it sends the same way (bot.delivery). While it lives it renews them every third
  of LEASE_SECONDS; a replica that died (kill -9, a lost machine) leaves leases that run out,
  and the others take its updates and deliveries over: an update is handled, a message sent,
  at least once, and twice only for what was in hand when it died.
- **One chat's updates in order.** An update waits until no earlier update of its chat is left
  unhandled, wherever that one is (`wait_turn`, a query on the inbox: the order lives in the
  database, not in one process's memory); other chats go on in parallel on every replica. The
  chat's conversation step and draft are then read from the database (bot.persistence), so
  the next message of a report may land on another replica than the last.
- **One leader.** The replica holding a PostgreSQL advisory lock rings the alarms (weekly
  broadcast, reminders, escalation, digest, retention) and sends the officer chat's queue (its
  20 messages a minute need one sender, and the surge list one mind). The lock lives with the
  leader's own connection: when it dies, the server frees it and another replica takes it
  within a tick. Every job is already single by its idempotency key, so a hand-over in the
  middle of a run sends nothing twice.
- **News.** Every write transaction NOTIFYs the others, so a broadcast queued on the leader is
  drained by all, and an event created on one replica re-arms the leader's alarms at once.

On SQLite (one process) none of this runs: the process leads, holds no leases, and keeps a
chat's order in memory (bot.concurrency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.tasks import cancel_and_wait
from storage import DATABASE_ERRORS, Store
from storage.db import COMMIT_CHANNEL
from storage.inbox import INBOX_CHANNEL, InboxEntry, Lease
from storage.postgres import ControlConnection

log = logging.getLogger(__name__)

# What replicas LISTEN to besides the inbox and commits: an officer chat membership changed
# (the payload is the user id); every replica forgets what it cached about that person.
ROSTER_CHANNEL = "porchlight_roster"
TICK = 1.0  # seconds between looks at leadership and at updates a dead replica left
TURN_POLL = 0.5  # a chat's turn is looked at again this often even if no news came
ALIVE_TIMEOUT = 5.0


class Replica:
    """This process among the replicas sharing the database (or alone, on SQLite)."""

    def __init__(self, store: Store, name: str, lease_seconds: float, tick: float = TICK) -> None:
        self.store = store
        self.name = name
        self.lease_seconds = lease_seconds
        self.tick = min(tick, lease_seconds / 3)
        self.shared = store.shared
        self.leader = not self.shared
        self.became_leader_at: float | None = None
        # Set by the application: what leading starts and stops, what this replica holds of
        # the outbox, and where updates taken over go.
        self.on_lead: Callable[[], Awaitable[None]] | None = None
        self.on_follow: Callable[[], Awaitable[None]] | None = None
        self.holding: Callable[[], list[int]] = list
        self.take: Callable[[list[InboxEntry]], Awaitable[None]] | None = None
        self.forget_member: Callable[[int], None] = lambda _user_id: None
        self._control: ControlConnection | None = None
        self._turns = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One look at a time: the control connection runs one statement at a time.
        self._looking = asyncio.Lock()
        self._renewed_at = 0.0

    def lease(self) -> Lease:
        """A claim in this replica's name, running out LEASE_SECONDS from now."""
        return Lease(self.name, self.store.clock.now().timestamp() + self.lease_seconds)

    # --- start and stop -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen to the others, try to lead once (so a lone replica leads from its first
        second), then keep looking every tick."""
        if not self.shared:
            if self.on_lead is not None:
                await self.on_lead()
            return
        self.store.announce_as = self.name
        await self._connect()
        await self._look()
        self._task = asyncio.create_task(self._keep(), name="replica")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._step_down(quietly=True)
        if self._control is not None:
            await self._control.close()  # frees the leader's lock for the next replica
            self._control = None

    # --- one chat's turn ------------------------------------------------------------------------

    async def wait_turn(self, chat: int | None, update_id: int) -> None:
        """Return when no earlier update of this chat is left to handle."""
        if not self.shared or chat is None:
            return
        while True:
            self._turns.clear()
            async with self.store.read() as tx:
                if not await tx.inbox.earlier_pending(chat, update_id):
                    return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TURN_POLL):
                    await self._turns.wait()

    def handled(self) -> None:
        """Updates were marked handled here: a chat waiting for them may go on."""
        self._turns.set()

    # --- the tick -------------------------------------------------------------------------------

    async def membership_changed(self, user_id: int) -> None:
        """An officer chat membership changed here: the other replicas forget what they
        cached of this person, so an officer who left loses every right everywhere at once."""
        if self.shared:
            async with self.store.autocommit() as tx:
                await tx.conn.notify(ROSTER_CHANNEL, str(user_id))

    def _heard(self, channel: str, payload: str) -> None:
        if channel == ROSTER_CHANNEL and payload.lstrip("-").isdigit():
            self.forget_member(int(payload))
        elif channel == INBOX_CHANNEL:
            self._turns.set()
        elif channel == COMMIT_CHANNEL:
            name, _, tables = payload.rpartition(" ")
            if name != self.name:  # a commit of another replica, and the tables it wrote
                self.store.changed_elsewhere(frozenset(tables.split(",")))

    async def _connect(self) -> None:
        control = self.store.control(self._heard)
        await control.open([INBOX_CHANNEL, COMMIT_CHANNEL, ROSTER_CHANNEL])
        self._control = control

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            await self._look()

    async def _look(self) -> None:
        """Leases renewed and a dead replica's updates taken (first: they must not wait for a
        slow look at leadership), then leadership kept, lost or taken. A statement of the pool
        that fails costs a warning; only the leader's own connection failing costs the lead."""
        async with self._looking:
            await self._look_now()

    async def _look_now(self) -> None:
        try:
            await self._keep_leases()
        except DATABASE_ERRORS as error:
            log.warning("replica %s: leases not renewed yet (%s)", self.name, error)
        try:
            await self._lead()
        except DATABASE_ERRORS as error:
            log.warning("replica %s: the database is out of reach (%s)", self.name, error)
            await self._lost()
        except Exception:
            log.exception("replica %s: looking at the leadership failed", self.name)

    async def _keep_leases(self) -> None:
        now = self.store.clock.now().timestamp()
        if now - self._renewed_at >= self.lease_seconds / 3:
            async with self.store.autocommit() as tx:
                await tx.inbox.renew(self.lease())
                await tx.outbox.renew(self.lease(), self.holding())
            self._renewed_at = now
        await self.take_over(now, own=False)

    async def _lead(self) -> None:
        if self._control is None:
            await self._connect()
        assert self._control is not None
        if self.leader and not await self._control.alive(ALIVE_TIMEOUT):
            await self._lost()
            return
        if not self.leader and await self._control.try_lead():
            self.leader = True
            self.became_leader_at = time.monotonic()
            log.info("replica %s leads: the alarms ring here", self.name)
            if self.on_lead is not None:
                await self.on_lead()

    async def take_over(self, now: float, *, own: bool) -> int:
        """Handle the updates a dead replica left (with `own`, at start: this replica's too)."""
        async with self.store.autocommit() as tx:
            entries = await tx.inbox.take_over(self.lease(), now, own=own)
        if entries and self.take is not None:
            if not own:
                log.info("replica %s takes over %d update(s)", self.name, len(entries))
            await self.take(entries)
        return len(entries)

    async def _lost(self) -> None:
        """The connection (and with it the lock) is gone: stop leading, connect again."""
        await self._step_down()
        if self._control is not None:
            await self._control.close()
            self._control = None

    async def _step_down(self, *, quietly: bool = False) -> None:
        if self.leader and self.shared:
            self.leader = False
            log.log(
                logging.INFO if quietly else logging.WARNING, "replica %s stops leading", self.name
            )
            if self.on_follow is not None:
                await self.on_follow()
