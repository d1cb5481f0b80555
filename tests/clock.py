"""A clock tests can move: real time plus an offset, so retries and back-off still advance."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self, start: datetime) -> None:
        self._offset = 0.0
        self.set(start)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware); time keeps flowing from there."""
        self._offset = moment.timestamp() - time.time()

    def advance(self, delta: timedelta) -> None:
        self._offset += delta.total_seconds()
