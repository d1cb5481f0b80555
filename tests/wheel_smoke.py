"""CI's wheel check: does a plain `pip install` of Porchlight run?

Builds the wheel from a copy of the source, checks that it carries every file the packages read
at run time, installs it into a fresh virtual environment outside the source tree (dependencies
from the package registry), starts the installed `porchlight run` against the Bot API emulator,
has a resident send /start and waits for the welcome; then stops the bot with SIGTERM.

    python -m tests.wheel_smoke      # from the source tree, with the development environment

Not a pytest module (pytest collects test_*.py only): it takes tens of seconds and the network.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tests.telegram.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "data", "*.egg-info", "__pycache__", ".*_cache", ".env"
)
PIP = ("-m", "pip", "--disable-pip-version-check", "--quiet")


class SmokeFailure(Exception):
    pass


def step(text: str) -> None:
    print(f"wheel check: {text}", flush=True)


def build_wheel(work: Path) -> Path:
    # A copy, so no stale build/ folder of the source tree can slip old files into the wheel.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, *PIP, "wheel", "--no-deps", "-w", work / "dist", source], check=True
    )
    [wheel] = (work / "dist").glob("porchlight-*.whl")
    return wheel


def check_data_files(wheel: Path) -> None:
    """Every non-Python file inside the packages (catalogs, migrations, the library) ships."""
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    missing = sorted(wanted - shipped)
    if missing:
        raise SmokeFailure(f"the wheel lacks {', '.join(missing)}: add them to package-data")


def install(wheel: Path, work: Path) -> Path:
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, *PIP, "install", wheel], check=True, cwd=work)
    return python


def clean_env(**settings: str) -> dict[str, str]:
    """No PYTHONPATH, no settings from the caller's environment: only what we pass."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {name: os.environ[name] for name in keep if name in os.environ} | settings


def check_import_location(python: Path, run_dir: Path, venv: Path) -> None:
    where = subprocess.run(
        [python, "-c", "import bot; print(bot.__file__)"],
        cwd=run_dir,
        env=clean_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(venv.resolve()):
        raise SmokeFailure(f"the installed command imports bot from {where}, not from the wheel")


async def converse(porchlight: Path, run_dir: Path) -> str:
    """Start the installed bot, say /start, wait for the welcome, stop it. Returns its log."""
    emu = BotApiEmulator()
    await emu.start()
    log_path = run_dir / "porchlight.log"
    try:
        env = clean_env(
            BOT_TOKEN=emu.token,
            OFFICER_CHAT_ID=str(emu.add_group("Officers", members={})),
            DATABASE_PATH=str(run_dir / "data" / "porchlight.sqlite3"),
            TELEGRAM_API_URL=emu.url,
        )
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                porchlight, "run", cwd=run_dir, env=env, stdout=log, stderr=log
            )
        try:
            ana = emu.add_user("Ana")
            emu.user_sends(ana, text="/start")
            try:
                await emu.wait_for(
                    lambda: bool(emu.bot_messages(ana.id)) or process.returncode is not None,
                    timeout=30,
                    what="the welcome",
                )
            except AssertionError as error:
                raise SmokeFailure(f"{error}\n{log_path.read_text()}") from None
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 20)
        output = log_path.read_text()
        welcome = emu.bot_messages(ana.id)
        if not welcome or "Welcome to Porchlight" not in welcome[0].text:
            raise SmokeFailure(f"the installed bot did not answer /start\n{output}")
        if code != 0 or "Traceback" in output or "Starting Porchlight as" not in output:
            raise SmokeFailure(f"the installed bot exited with {code}\n{output}")
        return output
    finally:
        await emu.stop()


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="porchlight-wheel-") as tmp:
        work = Path(tmp)
        try:
            step("building the wheel")
            wheel = build_wheel(work)
            check_data_files(wheel)
            step(f"installing {wheel.name} into a fresh virtual environment")
            python = install(wheel, work)
            run_dir = work / "run"
            run_dir.mkdir()
            check_import_location(python, run_dir, work / "venv")
            step("starting the installed `porchlight run` against the Bot API emulator")
            output = asyncio.run(converse(python.parent / "porchlight", run_dir))
        except (SmokeFailure, subprocess.CalledProcessError) as error:
            print(f"wheel check FAILED: {error}", file=sys.stderr)
            return 1
    [start_line] = [line for line in output.splitlines() if "Starting Porchlight as" in line]
    step(f"passed in {time.monotonic() - started:.0f} s; {start_line.split(': ', 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
