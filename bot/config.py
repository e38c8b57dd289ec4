"""Typed configuration, read once from TOML and validated before anything starts.

Unknown keys and wrong types are refused with one line naming the key, so a typo in a
coordinator's config never turns into a silently ignored setting.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from bot.ui.i18n import DEFAULT_LANGUAGE, languages


class ConfigError(Exception):
    """A config problem, worded as the one line a person needs to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BotSection(_Strict):
    """How the bot reaches Telegram and where it keeps its data."""

    token_env: str = "TIMEBANK_BOT_TOKEN"
    api_base_url: str | None = None
    database: str = "timebank.sqlite3"
    timezone: str = "Europe/London"
    # A conversation (posting, /broadcast…) left untouched this long is put aside kindly.
    conversation_timeout_minutes: int = Field(default=30, ge=1)
    # Webhook mode (bot/webhook.py): Telegram posts updates to webhook_url, a public HTTPS
    # address (usually a reverse proxy) that passes them on to webhook_listen:webhook_port.
    # None: long polling. The secret Telegram sends with each update is read from the
    # environment variable named by webhook_secret_env, never from this file.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret_env: str = "TIMEBANK_WEBHOOK_SECRET"
    # GET /healthz answers 503 when no scheduler tick has finished for this long. A tick also
    # sends what is due, so a broadcast to thousands can hold one for minutes.
    health_stale_seconds: int = Field(default=300, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("webhook_url")
    @classmethod
    def _reachable_webhook(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Telegram posts only to https; a self-hosted Bot API server (api_base_url) may
        post to http too, so a typo shows here rather than as Telegram's refusal."""
        if value is None:
            return None
        parts = urlsplit(value)
        schemes = ("https", "http") if info.data.get("api_base_url") else ("https",)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError("must be a whole https:// address that Telegram can reach")
        return value


class TimebankSection(_Strict):
    """The network's own choices: places, kinds of help, and the ledger's limits."""

    name: str = "our timebank"
    neighbourhoods: list[str] = Field(default_factory=list)
    categories: list[str] = Field(
        default_factory=lambda: ["Shopping", "Company", "Garden", "Repairs", "Lifts", "Other"]
    )
    # Words that point a quick post (/offer TEXT, /need TEXT) to a category, besides its name.
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    overdraft_limit_hours: int = Field(default=10, ge=0)
    join: Literal["open", "approval"] = "open"
    coordinators: list[int] = Field(default_factory=list)
    # What a member reads when Telegram doesn't say their language, or says one we lack.
    language: str = DEFAULT_LANGUAGE
    # The categories' names in other languages: {"es": {"Garden": "Jardín", …}, …}.
    category_names: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _a_language_we_have(cls, value: str) -> str:
        if value not in languages():
            raise ValueError(f"{value!r} has no catalogue; choose one of: {', '.join(languages())}")
        return value

    @field_validator("categories")
    @classmethod
    def _at_least_one_category(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one category")
        return value

    @field_validator("category_names")
    @classmethod
    def _names_of_known_categories(
        cls, value: dict[str, dict[str, str]], info: ValidationInfo
    ) -> dict[str, dict[str, str]]:
        categories = info.data.get("categories") or []
        for language, names in value.items():
            if language not in languages():
                raise ValueError(f"{language!r} has no catalogue: {', '.join(languages())}")
            for name, shown in names.items():
                if name not in categories:
                    raise ValueError(f"{name!r} is not one of the categories")
                if not shown.strip():
                    raise ValueError(f"{language}: {name!r} has an empty name")
        return value

    def own_words(self, language: str) -> dict[str, str]:
        """The categories' names in `language` (those config gives; the rest as they are)."""
        return self.category_names.get(language, {})

    @field_validator("keywords")
    @classmethod
    def _keywords_name_categories(
        cls, value: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        categories = info.data.get("categories") or []
        for name, words in value.items():
            if name not in categories:
                raise ValueError(f"{name!r} is not one of the categories: {', '.join(categories)}")
            if any(not word.strip() for word in words):
                raise ValueError(f"{name!r} has an empty word")
        return value

    @property
    def overdraft_limit_minutes(self) -> int:
        return self.overdraft_limit_hours * 60


class NudgesSection(_Strict):
    """When the bot nudges, and when it keeps quiet. Times are local to bot.timezone."""

    unconfirmed_after_days: int = Field(default=3, ge=1)
    confirm_reminder_after_days: int = Field(default=2, ge=1)
    confirm_escalate_after_days: int = Field(default=5, ge=1)
    need_open_after_days: int = Field(default=5, ge=1)
    need_match_count: int = Field(default=5, ge=0)
    new_member_after_days: int = Field(default=2, ge=1)
    quiet_hours: str = "21:00-08:00"
    digest_time: str = "09:00"
    tick_seconds: int = Field(default=5, ge=1)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        if value and parse_quiet_hours(value) is None:
            raise ValueError("must look like 21:00-08:00, or be empty for none")
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time_shape(cls, value: str) -> str:
        if parse_clock_time(value) is None:
            raise ValueError("must look like 09:00")
        return value


class PrivacySection(_Strict):
    """How long what is no longer in use is kept before it is deleted, in months."""

    closed_listings_months: int = Field(default=12, ge=1)
    finished_outbox_months: int = Field(default=3, ge=1)
    audit_months: int = Field(default=24, ge=1)


class Ward(_Strict):
    """A hospital ward that refers patients: its code makes the link and QR code patients
    join by (`/start visit-CODE`), and its coordinator hears when a first visit is done."""

    code: str = Field(pattern=r"^[a-z0-9]{1,20}$")
    name: str = Field(min_length=1, max_length=80)
    coordinator: int | None = None  # their Telegram id


class VisitsSection(_Strict):
    """Peer visits after hospital discharge: how long each step may take before the bot moves
    on or tells a coordinator. Hours and minutes are counted from the event they follow."""

    wards: list[Ward] = Field(default_factory=list)
    # A visitor who hasn't answered an offer in this time is passed over for the next one.
    offer_answer_hours: int = Field(default=4, ge=1)
    # Nobody has accepted this long after discharge: coordinators are told, once.
    match_deadline_hours: int = Field(default=24, ge=1)
    # The aim for a first visit, counted from discharge (shown in /visits and /report).
    first_visit_target_hours: int = Field(default=48, ge=1)
    # A worry or an unreached patient is told to coordinators again until one is on it.
    realert_minutes: int = Field(default=30, ge=5)
    # "Couldn't reach them": the patient is tried this many times over this many hours.
    reach_tries: int = Field(default=3, ge=1)
    reach_over_hours: int = Field(default=24, ge=1)
    follow_up_days: list[int] = Field(default_factory=lambda: [2, 7, 14])
    pay_forward_weeks: int = Field(default=6, ge=1)
    # A patient's address is deleted this many days after their last visit.
    address_kept_days: int = Field(default=30, ge=1)
    # The time credit a visitor earns for a visit the patient (or a coordinator) confirms.
    visit_minutes: int = Field(default=60, ge=15, le=720, multiple_of=15)
    # "Fewest recent visits first" counts the visits of this many days.
    recent_days: int = Field(default=90, ge=1)
    # Visitor and coordinators hear this many days before a visitor's check expires.
    check_warning_days: list[int] = Field(default_factory=lambda: [60, 30, 7])

    @field_validator("wards")
    @classmethod
    def _codes_differ(cls, value: list[Ward]) -> list[Ward]:
        codes = [ward.code for ward in value]
        if len(set(codes)) != len(codes):
            raise ValueError("two wards share a code")
        return value

    @field_validator("follow_up_days", "check_warning_days")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if any(day < 1 for day in value) or len(set(value)) != len(value):
            raise ValueError("must be different whole numbers of days, 1 or more")
        return sorted(value)

    def ward(self, code: str) -> Ward | None:
        return next((ward for ward in self.wards if ward.code == code), None)


class OrganisationsSection(_Strict):
    """Organisations (day centres, wards, gardens, colleges) and their group activities."""

    # How far below zero an organisation's account may go: its helpers are credited from it
    # before members' spending brings hours back. One limit for all, and any by name.
    overdraft_limit_hours: int = Field(default=100, ge=0)
    overdraft_limit_hours_for: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # A place that comes free on a full activity is the next in line's for this long.
    waiting_offer_hours: int = Field(default=12, ge=1)

    def overdraft_limit_minutes(self, name: str) -> int:
        """The limit of the organisation called `name` (letter case aside), in minutes."""
        named = {key.casefold(): hours for key, hours in self.overdraft_limit_hours_for.items()}
        return named.get(name.casefold(), self.overdraft_limit_hours) * 60


class LoggingSection(_Strict):
    """What the bot logs and how: lines for a person ("text") or for a collector ("json")."""

    format: Literal["text", "json"] = "text"
    # Our own loggers' level; other libraries never log below INFO (see bot/logs.py).
    level: Literal["debug", "info", "warning", "error"] = "info"


class BroadcastsSection(_Strict):
    """Coordinators' broadcasts to many members."""

    # Telegram's paid broadcasts: up to 1,000 messages a second instead of about 30, each
    # costing the bot 0.1 Telegram Stars. Off: broadcasts are free and paced at 30 a second.
    allow_paid_broadcast: bool = False


class BackupSection(_Strict):
    """The daily backup: a checked copy of the database in `folder` at `at` (local time), the
    newest `keep` kept. No folder, no daily backup (`timebank-bot backup` works either way)."""

    folder: str | None = None
    at: str = "03:30"
    keep: int = Field(default=7, ge=1)

    @field_validator("at")
    @classmethod
    def _at_shape(cls, value: str) -> str:
        if parse_clock_time(value) is None:
            raise ValueError("must look like 03:30")
        return value


def parse_clock_time(text: str) -> time | None:
    """'HH:MM' as a time, or None when it isn't one."""
    try:
        hour, minute = (int(part) for part in text.split(":"))
        return time(hour, minute)
    except ValueError:
        return None


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'21:00-08:00' as (start, end), or None when it isn't that shape."""
    start, _, end = text.partition("-")
    first, second = parse_clock_time(start.strip()), parse_clock_time(end.strip())
    return (first, second) if first and second and first != second else None


class Config(_Strict):
    bot: BotSection = Field(default_factory=BotSection)
    timebank: TimebankSection = Field(default_factory=TimebankSection)
    nudges: NudgesSection = Field(default_factory=NudgesSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)
    visits: VisitsSection = Field(default_factory=VisitsSection)
    organisations: OrganisationsSection = Field(default_factory=OrganisationsSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    broadcasts: BroadcastsSection = Field(default_factory=BroadcastsSection)
    backup: BackupSection = Field(default_factory=BackupSection)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    def token(self) -> str | None:
        """The bot token, from the environment only: a file with a token gets committed."""
        return os.environ.get(self.bot.token_env) or None

    def secrets(self) -> list[str]:
        """What no log line may show: the token, and the webhook's secret when there is one."""
        found = (self.token(), os.environ.get(self.bot.webhook_secret_env))
        return [secret for secret in found if secret]


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file, or raise ConfigError with one clear line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} can't be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, object], *, source: str = "config") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: {key}: {_describe(first)}") from exc


def _describe(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        if error["loc"][-1:] == ("token",):
            return "unknown key (the token is read from the environment variable in token_env)"
        return "unknown key"
    return error["msg"].removeprefix("Value error, ")
