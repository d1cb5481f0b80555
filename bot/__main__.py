"""The `porchlight` command: run (default), migrate, check."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import warnings

from telegram.warnings import PTBUserWarning

from bot.config import ConfigError, Settings, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level.upper()
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Our conversations are per chat and user on purpose; PTB's per_message hint is noise.
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)


def run(settings: Settings) -> None:
    from bot.app import ALLOWED_UPDATES, build_application

    app = build_application(settings)
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)


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
    _configure_logging(settings.log_level)
    if args.command == "migrate":
        return asyncio.run(migrate(settings))
    if args.command == "check":
        from bot.check import check

        return asyncio.run(check(settings))
    asyncio.run(migrate(settings))
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
