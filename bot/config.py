"""Settings from the environment or `.env`, validated at start with messages deployers act on."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("en", "es")
TELEGRAM_API_URL = "https://api.telegram.org"
HTTP_BACKENDS = ("aiohttp", "httpx")
# DATABASE_POOL_SIZE: handlers and the outbox drainer each need a connection at once.
MIN_POOL, MAX_POOL = 2, 500
_OFFSET = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")


def redact(location: str) -> str:
    """A database URL without its password (a path is returned as it is)."""
    parts = urlsplit(location)
    if not parts.scheme or parts.password is None:
        return location
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def parse_offsets(value: str) -> list[timedelta]:
    """'24h,1h' → [24 h, 1 h]; units m, h, d."""
    result = []
    for part in value.split(","):
        match = _OFFSET.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not a lead time like 24h, 90m or 2d")
        amount, unit = int(match.group(1)), match.group(2)
        result.append(timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount}))
    return sorted(result, reverse=True)


def parse_user_ids(value: str) -> list[int]:
    """'123, 456' → [123, 456]: Telegram user ids (positive ASCII digits), comma separated."""
    ids = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or int(part) == 0:
            raise ValueError(f"{part!r} is not a Telegram user id like 123456789")
        ids.append(int(part))
    return ids


class StorageSettings(BaseSettings):
    """What the deployer's tools (`porchlight backup`, `porchlight export`) need: the database
    and the time zone. No token: a backup at 3 a.m. must not fail on the run command's checks."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_path: str = "data/porchlight.sqlite3"
    # postgresql://user:password@host:5432/name selects PostgreSQL (DATABASE_PATH is then unused).
    database_url: str | None = None
    # PostgreSQL: the most connections one process opens (a pool; README "Several replicas").
    database_pool_size: int = 10
    timezone: str = "UTC"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a PostgreSQL URL like"
                " postgresql://porchlight:secret@db.example.org/porchlight"
                " (leave it unset for SQLite at DATABASE_PATH)"
            )
        return value

    @field_validator("database_pool_size")
    @classmethod
    def _pool_size(cls, value: int) -> int:
        if not MIN_POOL <= value <= MAX_POOL:
            raise ValueError(
                f"must be from {MIN_POOL} to {MAX_POOL}: the most PostgreSQL connections one"
                " process opens (every replica's pool together must fit the server's"
                " max_connections; `porchlight check` does the sum)"
            )
        return value

    @property
    def database(self) -> str:
        """Where the data lives: DATABASE_URL when set, else the SQLite file DATABASE_PATH."""
        return self.database_url or self.database_path

    @property
    def database_label(self) -> str:
        """`database` fit for a log or a terminal: a URL's password is left out."""
        return redact(self.database)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Madrid)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Settings(StorageSettings):
    """Everything `porchlight run` and `check` need (the storage settings included)."""

    bot_token: SecretStr = Field(description="token from @BotFather")
    officer_chat_id: int = Field(description="chat id of the officers' private group")
    safety_broadcast_cron: str = "0 18 * * MON"
    event_reminder_offsets: str = "24h,1h"
    emergency_number: str = "911"
    default_language: str = "en"
    telegram_api_url: str = TELEGRAM_API_URL
    webhook_url: str | None = None
    # The path the bot listens at; by default the path of WEBHOOK_URL.
    webhook_path: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    # Validated even when unset: it is required in webhook mode.
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    # Abuse limits: a resident may file this many tips per rolling hour, and send this many
    # messages per minute before the bot asks them to slow down.
    broadcast_grace: str = "6h"
    # Telegram's flood limits, paced by bot/budget.py (0 switches a limit off).
    rate_limit_per_second: float = Field(default=30, ge=0)
    rate_limit_group_per_minute: float = Field(default=20, ge=0)
    # About one message a second to one private chat, with a short burst (bot/budget.py).
    rate_limit_private_per_second: float = Field(default=1, ge=0)
    # Paid broadcasts: officers' alerts go with allow_paid_broadcast (Telegram charges Stars per
    # message) and are paced by their own limit instead of RATE_LIMIT_PER_SECOND.
    broadcast_paid: bool = False
    rate_limit_paid_per_second: float = Field(default=1000, ge=0)
    # Replicas on one PostgreSQL share those limits (bot/shared_budget.py). Unset: on when
    # DATABASE_URL is PostgreSQL and the bot runs in webhook mode (replicas behind a balancer).
    shared_flood_limits: bool | None = None
    # The Bot API client: aiohttp (bot/http.py) or python-telegram-bot's own httpx.
    http_backend: str = "aiohttp"
    # Several replicas on one PostgreSQL (bot/replicas.py): this process's name (default: the
    # host name, with WEBHOOK_PORT in webhook mode) and how long a claim on an update or a
    # delivery outlives a replica that died before another takes it over.
    replica_id: str | None = None
    lease_seconds: float = Field(default=30, ge=2, le=600)
    tips_per_hour: int = 5
    messages_per_minute: int = 30
    # The officer desk: an urgent tip still 'new' this long after filing (and as long again
    # after each ping) is pinned and officers pinged, at most ESCALATION_REPEATS times (0: off);
    # ON_DUTY (Telegram user ids) are pinged instead of the chat's administrators. Ordinary
    # tips still 'new' after STALE_AFTER are listed once a day at STALE_LIST_HOUR (TIMEZONE).
    escalation_after: str = "5m"
    escalation_repeats: int = Field(default=3, ge=0, le=20)
    on_duty: str = ""
    stale_after: str = "24h"
    stale_list_hour: int = Field(default=9, ge=0, le=23)
    # Privacy: a tip resolved (or marked spam) this many days ago is detached from its resident
    # by the daily retention run (bot/retention.py); /privacy states it.
    retention_days: int = Field(default=365, ge=1, le=36500)
    # Statistics: the officers' weekly digest (cron in TIMEZONE; one missed while the bot was
    # down is posted at start if less late than DIGEST_GRACE), and the smallest count /trends
    # shows residents (smaller ones are merged or said to be "fewer than N").
    digest_cron: str = "0 8 * * MON"
    digest_grace: str = "24h"
    trends_min_count: int = Field(default=5, ge=2, le=1000)
    log_level: str = "INFO"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{6,}", value.get_secret_value().strip()):
            raise ValueError("does not look like a token from @BotFather (123456789:AAE...)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("officer_chat_id")
    @classmethod
    def _group_id(cls, value: int) -> int:
        if value >= 0:
            raise ValueError("must be a group's id, which is negative (e.g. -1001234567890)")
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("event_reminder_offsets")
    @classmethod
    def _offsets(cls, value: str) -> str:
        parse_offsets(value)
        return value

    @field_validator("broadcast_grace", "digest_grace")
    @classmethod
    def _grace(cls, value: str) -> str:
        if len(parse_offsets(value)) != 1:
            raise ValueError("must be one duration like 6h")
        return value

    @field_validator("escalation_after", "stale_after")
    @classmethod
    def _one_duration(cls, value: str) -> str:
        if len(parse_offsets(value)) != 1 or parse_offsets(value)[0] <= timedelta(0):
            raise ValueError("must be one duration like 5m, 24h or 2d")
        return value

    @field_validator("on_duty")
    @classmethod
    def _on_duty(cls, value: str) -> str:
        parse_user_ids(value)
        return value

    @field_validator("safety_broadcast_cron", "digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from bot.schedule import weekly_trigger

        try:
            weekly_trigger(value, ZoneInfo("UTC"))
        except ValueError as error:
            raise ValueError(f"{value!r} is not a usable weekly cron expression: {error}") from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url", "webhook_path")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not a URL; it is the public address Telegram posts updates to, "
                "like https://bot.example.org/telegram"
            )
        if parts.scheme != "https" and info.data.get("telegram_api_url") == TELEGRAM_API_URL:
            raise ValueError("must start with https://: Telegram delivers webhooks over HTTPS only")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            if info.data.get("webhook_url"):
                raise ValueError(
                    "is required when WEBHOOK_URL is set: Telegram sends it with every update, "
                    "and the bot refuses requests without it, so nobody can forge updates"
                )
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value().strip()):
            raise ValueError("must be 1 to 256 characters of A-Z a-z 0-9 _ -")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("shared_flood_limits")
    @classmethod
    def _shared_flood_limits(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value and not info.data.get("database_url"):
            raise ValueError(
                "needs DATABASE_URL (PostgreSQL): the replicas share Telegram's limits through"
                " their one database; with SQLite there is one process and it paces itself"
            )
        return value

    @field_validator("http_backend")
    @classmethod
    def _http_backend(cls, value: str) -> str:
        if value.strip().lower() not in HTTP_BACKENDS:
            raise ValueError(f"must be one of {', '.join(HTTP_BACKENDS)}")
        return value.strip().lower()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @property
    def replica(self) -> str:
        """REPLICA_ID, or a name two replicas on one machine do not share: the host and,
        in webhook mode, the port (long polling allows one process per bot anyway). The same
        name after a restart lets the process take its own unfinished updates back at once."""
        if self.replica_id:
            return self.replica_id
        host = socket.gethostname()
        return f"{host}:{self.webhook_port}" if self.webhook_url else host

    @property
    def listen_path(self) -> str:
        """Where the webhook server listens: WEBHOOK_PATH, or else the path of WEBHOOK_URL."""
        path = self.webhook_path
        if path is None:
            path = urlsplit(self.webhook_url or "").path
        return "/" + path.strip("/")

    @property
    def shares_flood_limits(self) -> bool:
        """Whether the flood budget is booked in the database (SHARED_FLOOD_LIMITS)."""
        if self.shared_flood_limits is not None:
            return self.shared_flood_limits
        return bool(self.database_url and self.webhook_url)

    @property
    def grace(self) -> timedelta:
        return parse_offsets(self.broadcast_grace)[0]

    @property
    def digest_grace_delay(self) -> timedelta:
        return parse_offsets(self.digest_grace)[0]

    @property
    def escalation_delay(self) -> timedelta:
        return parse_offsets(self.escalation_after)[0]

    @property
    def stale_delay(self) -> timedelta:
        return parse_offsets(self.stale_after)[0]

    @property
    def on_duty_ids(self) -> list[int]:
        return parse_user_ids(self.on_duty)

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()


S = TypeVar("S", bound=StorageSettings)


class ConfigError(Exception):
    """A configuration mistake, explained for the person deploying the bot."""


_HINTS = {
    "bot_token": "Create a bot with @BotFather (/newbot) and put its token in .env as "
    "BOT_TOKEN=123456789:AAE...",
    "officer_chat_id": "Put the officers' group id in .env as OFFICER_CHAT_ID=-1001234567890 "
    "(README: 'Find the officer chat id').",
    "webhook_secret": "Make one with: python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(32))' and put it in .env as WEBHOOK_SECRET=...",
}


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one readable ConfigError."""
    return _load(Settings, "Porchlight cannot start", overrides)


def load_storage_settings(command: str, **overrides: object) -> StorageSettings:
    """Only DATABASE_PATH and TIMEZONE, for `porchlight backup` and `export`: a missing or
    broken BOT_TOKEN does not concern them."""
    return _load(StorageSettings, f"porchlight {command} cannot run", overrides)


def _load(kind: type[S], who: str, overrides: dict[str, object]) -> S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "?"
            if problem["type"] == "missing":
                lines.append(f"- {name.upper()} is not set. {_HINTS.get(name, '')}")
            else:
                message = problem["msg"].removeprefix("Value error, ")
                lines.append(f"- {name.upper()} {message}. {_HINTS.get(name, '')}")
        raise ConfigError(
            f"{who}: the configuration needs attention.\n"
            + "\n".join(line.rstrip() for line in lines)
            + "\nSettings come from the environment or from a .env file in the working "
            "directory (copy .env.example to .env to start)."
        ) from None
