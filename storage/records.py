"""Tips for a department's records (`porchlight export`), read from a connection of its own.

The query names every column it reads: a column added to `tips` later (a resident's identity,
say) never reaches an export by accident.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.clock import from_text, to_text
from storage.models import TipRecord

_QUERY = """
SELECT t.id, t.created_at, t.category, t.urgent, t.status, t.acknowledged_at,
       t.first_answer_at, t.resolved_at, t.rating, t.place, t.latitude, t.longitude,
       t.description, coalesce(m.n, 0), coalesce(f.n, 0)
FROM tips t
LEFT JOIN (SELECT tip_id, count(*) AS n FROM tip_media GROUP BY tip_id) m ON m.tip_id = t.id
LEFT JOIN (
    -- one pass over tip_messages (it has no index by tip), not one per tip
    SELECT tip_id, count(*) AS n FROM tip_messages WHERE author = 'resident' GROUP BY tip_id
) f ON f.tip_id = t.id
WHERE t.created_at >= ? AND t.created_at < ?
ORDER BY t.created_at, t.id
"""


def tip_records(
    conn: sqlite3.Connection, since: datetime, until: datetime | None = None
) -> list[TipRecord]:
    """Tips filed from `since` up to (not including) `until`, oldest first."""
    # Stored times are UTC ISO text of one shape, so text comparison is time comparison.
    upper = to_text(until) if until is not None else "~"  # "~" sorts after every digit
    rows = conn.execute(_QUERY, (to_text(since), upper)).fetchall()
    return [
        TipRecord(
            id=row[0],
            created_at=from_text(row[1]),
            category=row[2],
            urgent=bool(row[3]),
            status=row[4],
            acknowledged_at=_when(row[5]),
            first_answer_at=_when(row[6]),
            resolved_at=_when(row[7]),
            rating=row[8],
            place=row[9],
            latitude=row[10],
            longitude=row[11],
            description=row[12],
            media=row[13],
            follow_ups=row[14],
        )
        for row in rows
    ]


def _when(value: str | None) -> datetime | None:
    return from_text(value) if value else None
