"""The deployer's `porchlight backup`: a consistent copy while residents keep filing tips, and
the README's way back (stop, copy over DATABASE_PATH, start). The real command, as a
subprocess or through `main`, with DATABASE_PATH and nothing else: no BOT_TOKEN needed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from storage import Store
from storage.db import apply_migrations, connect, pending_migrations
from tests.conftest import World
from tests.telegram.drivers import Person

pytestmark = pytest.mark.sqlite_only(
    reason="`porchlight backup` copies a SQLite file (PostgreSQL: pg_dump, README)"
)

PORCHLIGHT = Path(sys.executable).with_name("porchlight")
BACKUP_NAME = re.compile(r"porchlight-\d{8}T\d{6}Z\.sqlite3")


async def keep_filing(
    world: World, thanked: list[tuple[int, str]], three: asyncio.Event, stop: asyncio.Event
) -> None:
    """Neighbours file quick tips one after another; each thank-you ("your tip is #N") is the
    bot's word that the tip is committed."""
    number = 0
    while not stop.is_set():
        number += 1
        neighbour = world.resident(f"Neighbour {number}")
        text = f"Tip {number}: garage door open, lights on, nobody home"
        await neighbour.says(text)
        await neighbour.taps("Yes, send as a tip")
        await neighbour.taps("Send")
        found = re.search(r"your tip is #(\d+)", neighbour.last_message().text)
        assert found, neighbour.last_message().text
        thanked.append((int(found.group(1)), text))
        if len(thanked) >= 3:
            three.set()


async def run_backup(tmp_path: Path, database: str, *args: str) -> tuple[int, str, str]:
    """`porchlight backup …` as a deployer's cron job runs it: DATABASE_PATH, nothing else."""
    process = await asyncio.create_subprocess_exec(
        str(PORCHLIGHT),
        "backup",
        *args,
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_PATH": database},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def restore(backup: Path, database: str) -> None:
    """The README's restore, with the bot stopped: stale -wal/-shm out, the copy in."""
    for suffix in ("-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, database)


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_a_backup_while_residents_file_tips_holds_every_tip_they_were_thanked_for(
    world: World, tmp_path: Path
) -> None:
    thanked: list[tuple[int, str]] = []
    three, stop = asyncio.Event(), asyncio.Event()
    filing = asyncio.create_task(keep_filing(world, thanked, three, stop))
    await asyncio.wait_for(three.wait(), 30)
    before = list(thanked)
    folder = tmp_path / "backups"
    folder.mkdir()
    code, out, err = await run_backup(tmp_path, world.database, str(folder))
    during = len(thanked) - len(before)
    stop.set()
    await filing
    assert (code, err) == (0, "")
    assert during > 0, "the bot kept filing tips while the backup ran"

    [copy] = folder.iterdir()  # one whole file: no -wal, no -shm, no partial left behind
    assert BACKUP_NAME.fullmatch(copy.name), copy.name
    assert integrity(copy) == "ok"
    with sqlite3.connect(copy) as conn:
        tips = dict(conn.execute("SELECT id, description FROM tips").fetchall())
        filed = {
            r[0]
            for r in conn.execute("SELECT tip_id FROM audit_log WHERE action = ?", ("tip.filed",))
        }
    for reference, text in before:
        assert tips.get(reference) == text
    # As of one commit: every tip in the copy came with what was committed alongside it.
    assert filed == set(tips)
    [line] = out.splitlines()
    assert line.startswith(f"Backed up {world.database} to {copy}: ")
    assert f"{len(tips)} tips, schema version " in line and "integrity check ok" in line


@pytest.fixture
def deployer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployer's shell for `main([...])`: DATABASE_PATH set, no token, no .env."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "OFFICER_CHAT_ID", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "porchlight.sqlite3"))
    return tmp_path


async def file_quick_tip(world: World, name: str, text: str) -> Person:
    resident = world.resident(name)
    await resident.says(text)
    await resident.taps("Yes, send as a tip")
    await resident.taps("Send")
    return resident


async def test_a_restored_backup_carries_on_where_the_backup_was_taken(
    world: World, deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    officer = world.officer("Dana")
    ana = await file_quick_tip(world, "Ana", "Bike thief on Elm St, red hoodie")
    card = await world.officer_chat.next_message()
    await file_quick_tip(world, "Ben", "Hole in the fence of the school")
    assert main(["backup", str(deployer / "nightly.sqlite3")]) == 0
    assert "2 tips" in capsys.readouterr().out
    cleo = await file_quick_tip(world, "Cleo", "Car alarm going off since noon")
    assert "your tip is #3." in cleo.last_message().text

    # The README's way back: stop, copy over DATABASE_PATH (stale -wal/-shm removed), start.
    await world.stop_bot()
    restore(deployer / "nightly.sqlite3", world.database)
    await world.start_bot()

    # What the backup held is there, reply mapping included; what came after is gone.
    await officer.replies_to(card, text="A patrol is on Elm St now.")
    assert "Officer reply on tip #1" in ana.last_message().text
    await ana.says("/mytips")
    assert "#1" in ana.last_message().text
    dee = await file_quick_tip(world, "Dee", "Broken streetlight by the bus stop")
    assert "your tip is #3." in dee.last_message().text


async def test_a_backup_never_replaces_a_file_unless_told_to(
    world: World, deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await file_quick_tip(world, "Ana", "Scooter left in the stairwell")
    target = deployer / "nightly.sqlite3"
    assert main(["backup", str(target)]) == 0
    kept = target.read_bytes()
    capsys.readouterr()
    await file_quick_tip(world, "Ben", "Flickering streetlight on Oak Lane")

    assert main(["backup", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"porchlight backup: {target} already exists; choose another name or add --force to "
        "replace it"
    ]
    assert target.read_bytes() == kept

    assert main(["backup", str(target), "--force"]) == 0
    assert "2 tips" in capsys.readouterr().out
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM tips").fetchone()[0] == 2
    assert hidden_files(deployer) == [], "no partial copy left behind"


async def test_the_live_database_is_never_a_backup_target(
    world: World, deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", world.database, "--force"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "is the live database (DATABASE_PATH)" in line
    assert integrity(Path(world.database)) == "ok"


def test_mistakes_are_one_line_and_status_2(
    deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", str(deployer)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"porchlight backup: there is no database at {deployer / 'porchlight.sqlite3'} "
        "(DATABASE_PATH); nothing to copy"
    ]
    sqlite3.connect(deployer / "porchlight.sqlite3").close()  # an empty database will do
    assert main(["backup", str(deployer / "missing" / "copy.sqlite3")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"porchlight backup: the folder {deployer / 'missing'} does not exist; create it or "
        "choose another"
    ]
    assert main(["backup", str(deployer / "missing") + "/"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (deployer / "missing").exists()


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's /sys")
def test_an_unwritable_folder_is_one_line_and_status_2(
    deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite3.connect(deployer / "porchlight.sqlite3").close()
    # /sys refuses new files even to root (tests may run as root, where chmod does not bind).
    assert main(["backup", "/sys"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["porchlight backup: cannot write in /sys (Permission denied)"]


def test_a_damaged_database_is_not_passed_off_as_a_backup(
    deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = deployer / "porchlight.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE tips (id INTEGER PRIMARY KEY, description TEXT)")
        conn.execute("CREATE INDEX tips_by_words ON tips(description)")
        conn.executemany(
            "INSERT INTO tips (description) VALUES (?)", [(f"tip {i}",) for i in range(2000)]
        )
    conn.close()
    with database.open("r+b") as file:  # garbage over cells near the end of the file
        file.seek(database.stat().st_size - 3 * 4096 + 100)
        file.write(b"\xff" * 200)
    assert main(["backup", str(deployer / "copy.sqlite3")]) == 1
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert out == ""
    assert line.startswith("porchlight backup failed: the copy failed its integrity check (")
    assert line.endswith(f"run sqlite3 {database} 'PRAGMA integrity_check'")
    assert not (deployer / "copy.sqlite3").exists() and hidden_files(deployer) == []


async def test_a_newer_porchlight_upgrades_an_older_backup_when_it_opens_it(
    deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(str(deployer / "porchlight.sqlite3"))
    await apply_migrations(conn, until=7)
    await conn.close()
    assert main(["backup", str(deployer / "old.sqlite3")]) == 0
    assert "0 tips, schema version 7, integrity check ok" in capsys.readouterr().out
    store = Store(str(deployer / "old.sqlite3"))
    await store.open()  # what `porchlight run` does at start
    async with store.read() as tx:
        assert await pending_migrations(tx.conn) == []
    await store.close()
