"""`porchlight backup PATH`: a consistent copy of the database while the bot runs.

The copy is written to a hidden temporary file beside its destination, checked with
`PRAGMA integrity_check`, and only then renamed into place: a backup that is cut short (full
disk, power cut, Ctrl-C) never looks like a whole one. Mistakes the deployer can fix (no
database, a folder that does not exist or cannot be written, a name already taken) are one
line and exit status 2; a copy that failed is one line and status 1.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import StorageSettings
from storage.snapshot import DatabaseBusy, DatabaseMissing, Snapshot, copy_database, inspect

SIDE_FILES = ("", "-wal", "-shm", "-journal")  # the database and SQLite's files beside it


class Refused(Exception):
    """A backup the deployer has to change something for (exit status 2)."""


class Failed(Exception):
    """A backup that was attempted and did not work (exit status 1)."""


def backup_name(database: Path, now: datetime) -> str:
    """`porchlight-20261125T031500Z.sqlite3`: the database's name and the time (UTC), so a
    folder of nightly backups sorts by date and the names never change with the clocks."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{database.stem}-{stamp}{database.suffix or '.sqlite3'}"


def destination(requested: str, database: Path, *, force: bool, now: datetime) -> Path:
    """Where the backup goes: `requested`, or a timestamped file in it when it is a folder."""
    if requested.endswith(("/", os.sep)) and not Path(requested).is_dir():
        raise Refused(f"the folder {requested} does not exist; create it or choose another")
    path = Path(requested)
    target = path / backup_name(database, now) if path.is_dir() else path
    if not target.parent.is_dir():
        raise Refused(f"the folder {target.parent} does not exist; create it or choose another")
    live = {Path(f"{database.resolve()}{suffix}") for suffix in SIDE_FILES}
    if target.resolve() in live:
        raise Refused(f"{target} is the live database (DATABASE_PATH); choose another PATH")
    if target.is_dir():
        raise Refused(f"{target} is a folder")
    if target.exists() and not force:
        raise _taken(target)
    return target


def _taken(target: Path) -> Refused:
    return Refused(f"{target} already exists; choose another name or add --force to replace it")


def make_backup(database: Path, target: Path, *, force: bool) -> Snapshot:
    """Copy, check, then rename into place; the temporary file never outlives a failure."""
    try:
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
        )
    except OSError as error:
        raise Refused(f"cannot write in {target.parent} ({error.strerror or error})") from None
    os.close(handle)
    partial = Path(name)
    try:
        copy_database(database, partial)
        snapshot = inspect(partial)
        if snapshot.integrity != "ok":
            raise Failed(
                f"the copy failed its integrity check ({snapshot.integrity}); the database "
                f"itself may be damaged: run sqlite3 {database} 'PRAGMA integrity_check'"
            )
        _fsync(partial)
        _put_in_place(partial, target, force=force)
        _fsync(target.parent)
        return snapshot
    except DatabaseBusy as error:
        raise Failed(f"the database {database} is locked ({error}); try again") from None
    except sqlite3.DatabaseError as error:
        raise Failed(f"cannot copy {database} ({error})") from None
    except OSError as error:
        raise Failed(f"cannot write {target} ({error.strerror or error})") from None
    finally:
        for suffix in SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                Path(f"{partial}{suffix}").unlink()


def _put_in_place(partial: Path, target: Path, *, force: bool) -> None:
    if force:
        partial.replace(target)
        return
    try:  # a hard link never replaces a file another process created meanwhile
        os.link(partial, target)
    except FileExistsError:
        raise _taken(target) from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise _taken(target) from None
        partial.replace(target)


def _fsync(path: Path) -> None:
    """The copy's bytes (or the folder's new entry) are on disk before we say so."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        handle = os.open(path, flags)
    except OSError:  # some systems cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def tips_counted(count: int) -> str:
    return "1 tip" if count == 1 else f"{count} tips"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    value, unit = size / 1000, "KB"
    for larger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{value:.1f} {unit}"


def backup(settings: StorageSettings, path: str, *, force: bool, now: datetime) -> int:
    """The command: prints what it wrote, or one line saying why not."""
    database = Path(settings.database_path)
    try:
        if settings.database_url:
            raise Refused(
                "copies a SQLite file, and DATABASE_URL is set: back up PostgreSQL with pg_dump"
                " (or your provider's snapshots)"
            )
        if not database.is_file():
            raise Refused(f"there is no database at {database} (DATABASE_PATH); nothing to copy")
        target = destination(path, database, force=force, now=now)
        snapshot = make_backup(database, target, force=force)
    except (Refused, DatabaseMissing) as error:
        print(f"porchlight backup: {error}", file=sys.stderr)
        return 2
    except Failed as error:
        print(f"porchlight backup failed: {error}", file=sys.stderr)
        return 1
    version = snapshot.schema_version if snapshot.schema_version is not None else "none"
    print(
        f"Backed up {database} to {target}: {_size(snapshot.size)}, {tips_counted(snapshot.tips)}, "
        f"schema version {version}, integrity check ok."
    )
    return 0
