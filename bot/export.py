"""`porchlight export --since DATE [--until DATE] [--output FILE]`: tips as CSV for a
department's records, with nothing that identifies a resident.

A department opens the file in a spreadsheet, so two things matter beyond the columns: text a
resident typed that starts like a formula (= + - @, or a tab or carriage return) is
neutralised with a leading apostrophe, and the file is UTF-8 with a byte-order mark, which is
how spreadsheets recognise UTF-8 (accents in Spanish tips stay accents).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from bot.backup import tips_counted
from bot.categories import CATEGORIES
from bot.config import StorageSettings
from bot.i18n import plain
from storage.db import DATABASE_ERRORS, migration_files
from storage.models import TipRecord
from storage.records import reading, schema_version, tip_records
from storage.snapshot import DatabaseMissing

COLUMNS = (
    "reference",
    "filed_at",
    "category",
    "category_code",
    "urgent",
    "status",
    "acknowledged_at",
    "first_answer_at",
    "resolved_at",
    "minutes_to_first_answer",
    "rating",
    "place",
    "latitude",
    "longitude",
    "description",
    "media",
    "follow_ups",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENCODING = "utf-8-sig"


class Refused(Exception):
    """An export the deployer has to change something for (exit status 2)."""


def spreadsheet_safe(text: str | None) -> str:
    """User text a spreadsheet must show, never evaluate: `=HYPERLINK(…)` → `'=HYPERLINK(…)`."""
    if not text:
        return ""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def day_bounds(since: str, until: str | None, zone: ZoneInfo) -> tuple[datetime, datetime | None]:
    """From the start of `since` to the end of `until` (None: no end), whole days in TIMEZONE,
    both days included."""
    first = _day("--since", since, zone)
    start = datetime.combine(first, time(0), tzinfo=zone)
    if until is None:
        return start, None
    last = _day("--until", until, zone)
    if last < first:
        raise Refused(f"--until {last.isoformat()} is before --since {first.isoformat()}")
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)


def _day(option: str, text: str, zone: ZoneInfo) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(
            f"{option} {text!r} is not a date; write it like 2026-11-01 (a day in {zone.key})"
        ) from None


def _moment(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else ""


def row(tip: TipRecord, zone: ZoneInfo) -> list[str]:
    """One tip's cells; the resident's words pass `spreadsheet_safe`, everything else is ours."""
    label = CATEGORIES.get(tip.category)
    waited = ""
    if tip.first_answer_at is not None:
        waited = f"{(tip.first_answer_at - tip.created_at).total_seconds() / 60:.1f}"
    return [
        str(tip.id),
        _moment(tip.created_at, zone),
        plain("en", label) if label else tip.category,
        tip.category,
        "yes" if tip.urgent else "no",
        tip.status,
        _moment(tip.acknowledged_at, zone),
        _moment(tip.first_answer_at, zone),
        _moment(tip.resolved_at, zone),
        waited,
        "" if tip.rating is None else str(tip.rating),
        spreadsheet_safe(tip.place),
        "" if tip.latitude is None else repr(tip.latitude),
        "" if tip.longitude is None else repr(tip.longitude),
        spreadsheet_safe(tip.description),
        str(tip.media),
        str(tip.follow_ups),
    ]


def write_csv(out: IO[str], tips: Iterable[TipRecord], zone: ZoneInfo) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for tip in tips:
        writer.writerow(row(tip, zone))
        count += 1
    return count


async def read_tips(
    settings: StorageSettings, start: datetime, end: datetime | None
) -> list[TipRecord]:
    """The tips, in one read-only snapshot from a connection of our own (the bot, or several
    replicas, may be running): a SQLite file or PostgreSQL, whichever DATABASE_* names."""
    async with reading(settings.database) as conn:
        version = await schema_version(conn)
        expected = migration_files()[-1][0]
        if version is None or version < expected:
            raise Refused(
                f"the database {settings.database_label} is at schema version "
                f"{version or 'none'} and this Porchlight expects {expected}: start the bot "
                "(or `porchlight migrate`) first"
            )
        return await tip_records(conn, start, end)


def export(settings: StorageSettings, *, since: str, until: str | None, output: str | None) -> int:
    """The command: CSV to `output` (or standard output), or one line saying why not."""
    zone = settings.zone
    try:
        start, end = day_bounds(since, until, zone)
        tips = asyncio.run(read_tips(settings, start, end))
        if output is None:
            return _write_stdout(tips, zone)
        try:
            with open(output, "w", encoding=ENCODING, newline="") as file:
                count = write_csv(file, tips, zone)
        except OSError as error:
            raise Refused(f"cannot write {output} ({error.strerror or error})") from None
    except DatabaseMissing:
        print(
            f"porchlight export: there is no database at {settings.database_path} (DATABASE_PATH)",
            file=sys.stderr,
        )
        return 2
    except DATABASE_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        setting = "DATABASE_URL" if settings.database_url else "DATABASE_PATH"
        print(
            f"porchlight export: cannot read the database {settings.database_label} ({reason}):"
            f" check {setting}",
            file=sys.stderr,
        )
        return 2
    except Refused as error:
        print(f"porchlight export: {error}", file=sys.stderr)
        return 2
    period = f"since {start.date().isoformat()}"
    if end is not None:
        period = f"{start.date().isoformat()} to {(end - timedelta(days=1)).date().isoformat()}"
    print(f"Exported {tips_counted(count)} filed {period} ({zone.key}) to {output}.")
    return 0


def _write_stdout(tips: list[TipRecord], zone: ZoneInfo) -> int:
    """CSV on standard output, in the same bytes as a file (csv's line ends, the BOM). A reader
    that stops early (`| head`) ends the export quietly with status 1, as a pipe would."""
    sys.stdout.flush()
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding=ENCODING, newline="")
    try:
        write_csv(stream, tips, zone)
        stream.flush()
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        stream.detach()
    return 0
