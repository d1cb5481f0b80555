"""The `porchlight` command: run (default), migrate, check."""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings

from telegram.warnings import PTBUserWarning

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging


async def migrate(settings: Settings) -> int:
    from storage.db import apply_migrations, connect

    conn = await connect(settings.database_path)
    try:
        applied = await apply_migrations(conn)
    finally:
        await conn.close()
    if applied:
        print(
            f"Applied {len(applied)} migration(s) to {settings.database_path}: "
            + ", ".join(applied)
        )
    else:
        print(f"{settings.database_path} is up to date.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="porchlight", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate", "check"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    # Our conversations are per chat and user on purpose; PTB's per_message hint is noise.
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    if args.command == "migrate":
        return asyncio.run(migrate(settings))
    if args.command == "check":
        from bot.check import check

        return asyncio.run(check(settings))
    from bot.startup import serve

    # Migrations are applied when storage opens, once Telegram has accepted the token.
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
