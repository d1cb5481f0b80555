"""The `porchlight` command: run (default), migrate, check, backup, export."""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from datetime import UTC, datetime

from telegram.warnings import PTBUserWarning

from bot.config import ConfigError, Settings, load_settings, load_storage_settings
from bot.logs import configure_logging


async def migrate(settings: Settings) -> int:
    from storage.db import apply_migrations, connect

    conn = await connect(settings.database)
    try:
        applied = await apply_migrations(conn)
    finally:
        await conn.close()
    if applied:
        print(
            f"Applied {len(applied)} migration(s) to {settings.database_label}: "
            + ", ".join(applied)
        )
    else:
        print(f"{settings.database_label} is up to date.")
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="porchlight", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="serve the bot (the default)")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("check", help="is this deployment ready?")
    backup = commands.add_parser(
        "backup", help="copy the database while the bot runs (no BOT_TOKEN needed)"
    )
    backup.add_argument("path", metavar="PATH", help="a new file, or a folder for a dated one")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    export = commands.add_parser(
        "export", help="tips as CSV for a department's records, without residents' identities"
    )
    export.add_argument("--since", required=True, metavar="DATE", help="first day (TIMEZONE)")
    export.add_argument("--until", metavar="DATE", help="last day, included (default: no end)")
    export.add_argument("--output", "-o", metavar="FILE", help="default: standard output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    command = args.command or "run"
    if command in ("backup", "export"):
        # DATABASE_PATH and TIMEZONE only: a backup at 3 a.m. must not fail on the token.
        try:
            storage_settings = load_storage_settings(command)
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 2
        if command == "backup":
            from bot.backup import backup

            return backup(storage_settings, args.path, force=args.force, now=datetime.now(UTC))
        from bot.export import export

        return export(storage_settings, since=args.since, until=args.until, output=args.output)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    # Our conversations are per chat and user on purpose; PTB's per_message hint is noise.
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    if command == "migrate":
        return asyncio.run(migrate(settings))
    if command == "check":
        from bot.check import check

        return asyncio.run(check(settings))
    from bot.startup import serve

    # Migrations are applied when storage opens, once Telegram has accepted the token.
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
