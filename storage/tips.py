"""Tips, their media, what is said on them afterwards, and the reply mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.clock import Clock, from_text, to_text
from storage.models import MediaItem, ThreadLink, Tip, TipMessage
from storage.sql import Connection, Dialect, Row, marks


@dataclass(frozen=True)
class NewTip:
    """What a resident's finished report holds, ready to be stored."""

    source_key: str
    resident_id: int
    category: str
    description: str
    language: str
    anonymous: bool = True
    reporter_name: str | None = None
    urgent: bool = False
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None
    media: tuple[MediaItem, ...] = ()
    broadcast_id: int | None = None


@dataclass(frozen=True)
class NewTipMessage:
    tip_id: int
    author: str
    kind: str
    source_chat_id: int
    source_message_id: int
    text: str | None = None
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    officer_id: int | None = None


def select_tips(dialect: Dialect) -> str:
    """Every Tip is read with its group (the ids merged into it) and its hint's status, so a
    card rendered from any read shows the same thing."""
    return (
        "SELECT tips.*,"
        f" (SELECT {dialect.id_list('m.id')} FROM tips m WHERE m.merged_into = tips.id)"
        " AS merged_ids,"
        " (SELECT d.status FROM tips d WHERE d.id = tips.duplicate_of) AS duplicate_status"
        " FROM tips"
    )


OPEN_SQL = "('new', 'acknowledged', 'taken')"


def _ids(text: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(part) for part in text.split(","))) if text else ()


def _tip(row: Row, media: tuple[MediaItem, ...]) -> Tip:
    return Tip(
        id=row["id"],
        resident_id=row["resident_id"],
        category=row["category"],
        description=row["description"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        place=row["place"],
        anonymous=bool(row["anonymous"]),
        reporter_name=row["reporter_name"],
        urgent=bool(row["urgent"]),
        status=row["status"],
        language=row["language"],
        card_message_id=row["card_message_id"],
        created_at=from_text(row["created_at"]),
        media=media,
        broadcast_id=row["broadcast_id"],
        status_by_id=row["status_by_id"],
        status_by_name=row["status_by_name"],
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        acknowledged_at=_when(row["acknowledged_at"]),
        first_answer_at=_when(row["first_answer_at"]),
        resolved_at=_when(row["resolved_at"]),
        rating=row["rating"],
        rating_comment=row["rating_comment"],
        duplicate_of=row["duplicate_of"],
        duplicate_reason=row["duplicate_reason"],
        duplicate_status=row["duplicate_status"],
        merged_into=row["merged_into"],
        merged_by_name=row["merged_by_name"],
        merged_tips=_ids(row["merged_ids"]),
        detached=row["detached"],
        topic_id=row["topic_id"],
        topic_state=row["topic_state"],
        topic_name=row["topic_name"],
    )


def _when(value: str | None) -> datetime | None:
    return from_text(value) if value else None


def _tip_message(row: Row) -> TipMessage:
    return TipMessage(
        id=row["id"],
        tip_id=row["tip_id"],
        author=row["author"],
        officer_id=row["officer_id"],
        kind=row["kind"],
        text=row["text"],
        file_id=row["file_id"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        source_chat_id=row["source_chat_id"],
        source_message_id=row["source_message_id"],
        created_at=from_text(row["created_at"]),
    )


class TipRepo:
    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.select = select_tips(conn.dialect)

    async def insert(self, new: NewTip) -> tuple[Tip, bool]:
        """Store a tip once per source key. Returns (tip, created). The same key filed twice at
        once (a repeated update) inserts once: the second waits for the first and finds it."""
        cursor = await self.conn.execute(
            "INSERT INTO tips (resident_id, source_key, category, description, latitude,"
            " longitude, place, anonymous, reporter_name, urgent, language, created_at,"
            " broadcast_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source_key) DO NOTHING RETURNING id",
            (
                new.resident_id,
                new.source_key,
                new.category,
                new.description,
                new.latitude,
                new.longitude,
                new.place,
                int(new.anonymous),
                None if new.anonymous else new.reporter_name,
                int(new.urgent),
                new.language,
                to_text(self.clock.now()),
                new.broadcast_id,
            ),
        )
        tip_id = cursor.returned_id
        if tip_id is None:
            existing = await self.get_by_source_key(new.source_key)
            assert existing is not None
            return existing, False
        await self.conn.executemany(
            "INSERT INTO tip_media (tip_id, position, kind, file_id) VALUES (?, ?, ?, ?)",
            [(tip_id, pos, item.kind, item.file_id) for pos, item in enumerate(new.media)],
        )
        tip = await self.get(tip_id)
        assert tip is not None
        return tip, True

    async def open_since(self, since: datetime) -> list[Tip]:
        """Tips still open (new, acknowledged, taken) filed since `since`, without media."""
        async with self.conn.execute(
            f"{self.select} WHERE status IN {OPEN_SQL} AND created_at >= ? ORDER BY id",
            (to_text(since),),
        ) as c:
            return [_tip(row, ()) for row in await c.fetchall()]

    async def set_duplicate(self, tip_id: int, of: int, reason: str) -> None:
        await self.conn.execute(
            "UPDATE tips SET duplicate_of = ?, duplicate_reason = ? WHERE id = ?",
            (of, reason, tip_id),
        )

    async def _media(self, tip_id: int) -> tuple[MediaItem, ...]:
        async with self.conn.execute(
            "SELECT kind, file_id FROM tip_media WHERE tip_id = ? ORDER BY position", (tip_id,)
        ) as c:
            return tuple(
                MediaItem(kind=r["kind"], file_id=r["file_id"]) for r in await c.fetchall()
            )

    async def get(self, tip_id: int) -> Tip | None:
        async with self.conn.execute(f"{self.select} WHERE id = ?", (tip_id,)) as c:
            row = await c.fetchone()
        return _tip(row, await self._media(tip_id)) if row else None

    async def get_by_source_key(self, source_key: str) -> Tip | None:
        async with self.conn.execute(
            "SELECT id FROM tips WHERE source_key = ?", (source_key,)
        ) as c:
            row = await c.fetchone()
        return await self.get(row["id"]) if row else None

    async def list_for_resident(self, resident_id: int, limit: int = 10) -> list[Tip]:
        async with self.conn.execute(
            f"{self.select} WHERE resident_id = ? ORDER BY id DESC LIMIT ?",
            (resident_id, limit),
        ) as c:
            rows = await c.fetchall()
        return [_tip(row, ()) for row in rows]

    async def count_since(self, resident_id: int, since: datetime) -> int:
        async with self.conn.execute(
            "SELECT count(*) FROM tips WHERE resident_id = ? AND created_at >= ?",
            (resident_id, to_text(since)),
        ) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def oldest_since(self, resident_id: int, since: datetime) -> datetime | None:
        async with self.conn.execute(
            "SELECT min(created_at) FROM tips WHERE resident_id = ? AND created_at >= ?",
            (resident_id, to_text(since)),
        ) as c:
            row = await c.fetchone()
        return from_text(row[0]) if row and row[0] else None

    async def set_status(self, tip_id: int, status: str) -> bool:
        cursor = await self.conn.execute(
            "UPDATE tips SET status = ? WHERE id = ? AND status != ?", (status, tip_id, status)
        )
        return cursor.rowcount == 1

    async def set_card(self, tip_id: int, message_id: int) -> None:
        await self.conn.execute(
            "UPDATE tips SET card_message_id = ? WHERE id = ?", (message_id, tip_id)
        )

    async def link(self, chat_id: int, message_ids: list[int], tip_id: int, role: str) -> None:
        await self.conn.executemany(
            "INSERT INTO thread_messages (chat_id, message_id, tip_id, role)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(chat_id, mid, tip_id, role) for mid in message_ids],
        )

    async def find_link(self, chat_id: int, message_id: int) -> ThreadLink | None:
        async with self.conn.execute(
            "SELECT * FROM thread_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        ) as c:
            row = await c.fetchone()
        if row is None:
            return None
        return ThreadLink(row["chat_id"], row["message_id"], row["tip_id"], row["role"])

    async def add_message(self, new: NewTipMessage) -> tuple[TipMessage, bool]:
        """Store what was said on a tip once per source message. Returns (message, created)."""
        cursor = await self.conn.execute(
            "INSERT INTO tip_messages (tip_id, author, officer_id, kind, text, file_id,"
            " latitude, longitude, source_chat_id, source_message_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                new.tip_id,
                new.author,
                new.officer_id,
                new.kind,
                new.text,
                new.file_id,
                new.latitude,
                new.longitude,
                new.source_chat_id,
                new.source_message_id,
                to_text(self.clock.now()),
            ),
        )
        created = cursor.rowcount == 1
        async with self.conn.execute(
            "SELECT * FROM tip_messages WHERE source_chat_id = ? AND source_message_id = ?",
            (new.source_chat_id, new.source_message_id),
        ) as c:
            row = await c.fetchone()
        assert row is not None
        return _tip_message(row), created

    async def messages(self, tip_id: int) -> list[TipMessage]:
        async with self.conn.execute(
            "SELECT * FROM tip_messages WHERE tip_id = ? ORDER BY id", (tip_id,)
        ) as c:
            return [_tip_message(r) for r in await c.fetchall()]

    # The officer desk ---------------------------------------------------------------------
    DESK_COLUMNS = frozenset(
        {
            "status",
            "status_by_id",
            "status_by_name",
            "assignee_id",
            "assignee_name",
            "acknowledged_at",
            "resolved_at",
        }
    )

    async def move(self, tip_id: int, expected: str, changes: dict[str, object]) -> bool:
        """Change a tip's desk columns only if its status is still `expected`: of two officers
        pressing at once, exactly one changes it. Datetimes are stored as UTC text."""
        assert changes and set(changes) <= self.DESK_COLUMNS, changes
        names = sorted(changes)
        values = [
            to_text(changes[n]) if isinstance(changes[n], datetime) else changes[n]  # type: ignore[arg-type]
            for n in names
        ]
        cursor = await self.conn.execute(
            f"UPDATE tips SET {', '.join(f'{n} = ?' for n in names)}"  # names from DESK_COLUMNS
            " WHERE id = ? AND status = ?",
            (*values, tip_id, expected),
        )
        return cursor.rowcount == 1

    async def answered(self, tip_id: int) -> bool:
        """Record the first answer to the resident; False when there was one already."""
        cursor = await self.conn.execute(
            "UPDATE tips SET first_answer_at = ? WHERE id = ? AND first_answer_at IS NULL",
            (to_text(self.clock.now()), tip_id),
        )
        return cursor.rowcount == 1

    async def rate(self, tip_id: int, resident_id: int, stars: int) -> bool:
        """The resident's rating of a resolved tip, once."""
        cursor = await self.conn.execute(
            "UPDATE tips SET rating = ?, rated_at = ? WHERE id = ? AND resident_id = ?"
            " AND status = 'resolved' AND rating IS NULL",
            (stars, to_text(self.clock.now()), tip_id, resident_id),
        )
        return cursor.rowcount == 1

    async def comment(self, tip_id: int, resident_id: int, text: str) -> bool:
        """The comment that goes with a rating, once."""
        cursor = await self.conn.execute(
            "UPDATE tips SET rating_comment = ? WHERE id = ? AND resident_id = ?"
            " AND rating IS NOT NULL AND rating_comment IS NULL",
            (text, tip_id, resident_id),
        )
        return cursor.rowcount == 1

    # Merged tips (bot/merge.py) -----------------------------------------------------------

    async def merge(self, tip_id: int, into: int, officer_id: int, officer_name: str) -> bool:
        """Merge an open, unmerged tip into an open primary, only if both still are: of two
        officers pressing at once, exactly one merges it."""
        cursor = await self.conn.execute(
            "UPDATE tips SET merged_into = ?, merged_at = ?, merged_by_id = ?, merged_by_name = ?"
            f" WHERE id = ? AND id != ? AND merged_into IS NULL AND status IN {OPEN_SQL}"
            " AND EXISTS (SELECT 1 FROM tips p WHERE p.id = ? AND p.merged_into IS NULL"
            f"  AND p.status IN {OPEN_SQL})",
            (into, to_text(self.clock.now()), officer_id, officer_name, tip_id, into, into),
        )
        return cursor.rowcount == 1

    async def regroup(self, old_primary: int, new_primary: int) -> None:
        """The tips merged into `old_primary` follow it into `new_primary` (groups stay flat)."""
        await self.conn.execute(
            "UPDATE tips SET merged_into = ? WHERE merged_into = ?", (new_primary, old_primary)
        )

    async def unmerge(self, tip_id: int, primary: int) -> bool:
        """Take a tip out of its group, only if it is still merged into `primary`."""
        cursor = await self.conn.execute(
            "UPDATE tips SET merged_into = NULL, merged_at = NULL, merged_by_id = NULL,"
            " merged_by_name = NULL WHERE id = ? AND merged_into = ?",
            (tip_id, primary),
        )
        return cursor.rowcount == 1

    async def hinting_at(self, tip_ids: tuple[int, ...]) -> list[int]:
        """Open, unmerged tips whose duplicate hint names one of `tip_ids` (their Merge
        button depends on those tips being open)."""
        async with self.conn.execute(
            f"SELECT id FROM tips WHERE duplicate_of IN ({marks(len(tip_ids))})"
            " AND merged_into IS NULL"
            f" AND status IN {OPEN_SQL} ORDER BY id",
            tip_ids,
        ) as c:
            return [row[0] for row in await c.fetchall()]
