"""Transactions PostgreSQL rolls back to break a deadlock, run again whole.

Two transactions that lock the same rows in opposite orders wait for each other; after
`deadlock_timeout` PostgreSQL aborts one of them (SQLSTATE 40P01) and the other goes on. A
serialization failure (40001) is the same verdict from a stricter isolation level. Either way
the victim's transaction was rolled back entirely, so running its body again from the first
read is exactly a first run, provided everything the body did was inside the transaction.

That proviso decides where this is used: on a bot/ function whose whole work is one
transaction (its sends are outbox rows committed with it), never on a handler, which answers
Telegram as it goes. SQLite runs one write transaction at a time and never raises these.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

# What PostgreSQL says when it rolled a transaction back so that others may proceed.
RETRYABLE: tuple[type[Exception], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
ATTEMPTS = 4
# A random pause before the next attempt, so that the two contenders do not meet again.
BACKOFF_S = (0.005, 0.05)


async def rerun(attempt: Callable[[], Awaitable[T]], what: str = "a transaction") -> T:
    """`attempt()` (one whole transaction), again when PostgreSQL rolled it back as a deadlock
    victim or a serialization failure: at most ATTEMPTS times, then the error is raised."""
    for number in range(1, ATTEMPTS + 1):
        try:
            return await attempt()
        except RETRYABLE as error:
            if number == ATTEMPTS:
                raise
            log.warning(
                "%s was rolled back by PostgreSQL (%s); running it again (attempt %d of %d)",
                what,
                type(error).__name__,
                number + 1,
                ATTEMPTS,
            )
            await asyncio.sleep(random.uniform(*BACKOFF_S))
    raise AssertionError("unreachable")  # the loop returns or raises


def rerun_on_conflict(function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """For a bot/ function whose only effect is one write transaction: the whole function is
    run again (its reads before the transaction included) after a deadlock."""

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        name = f"{function.__module__}.{function.__qualname__}"
        return await rerun(lambda: function(*args, **kwargs), name)

    return wrapper
