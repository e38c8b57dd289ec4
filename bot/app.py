"""The one place that builds the Application: the CLI, the sandbox, tests and benchmarks all
call `build_application`; only the request layer (real Telegram or the stand-in) differs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    BaseUpdateProcessor,
    Defaults,
)
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.outbound.broadcasting import ProgressReporter
from bot.outbound.delivery import Policy
from bot.outbound.scheduler import Ticker
from bot.outbound.sender import Sender
from bot.services import (
    SERVICES_KEY,
    Services,
    retention_from,
    timings_from,
    visit_rules_from,
)
from bot.ui.commands import bot_commands
from bot.ui.i18n import languages, speaking
from bot.updates import PerMemberUpdateProcessor
from handlers import (
    account,
    activities,
    aftercare,
    broadcast,
    browse,
    checkins,
    coordinators,
    details,
    exchanges,
    gate,
    listings,
    organisations,
    pauses,
    privacy,
    referrals,
    reports,
    safety,
    settings,
    spend,
    start,
    visitors,
    visits,
)
from handlers.conversation import Conversation, Leaver
from handlers.errors import on_error
from storage import outbox, roles
from storage.db import Database

OFFLINE_TOKEN = "123456:offline-stand-in"
GATE_GROUP = -2
LEAVER_GROUP = -1
SCHEDULER_KEY = "scheduler"
NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)


def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    clock: Clock | None = None,
    token: str | None = None,
    background: bool = True,
    update_processor: BaseUpdateProcessor | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application wired with every handler; storage (and, with `background`, the
    scheduler) opens in post_init. Tests pass background=False and call `tick` themselves."""
    # Read Telegram's time spans (retry_after) as timedelta: python-telegram-bot's future
    # behaviour, and no deprecation warning on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    builder = (
        ApplicationBuilder()
        .token(token or config.token() or OFFLINE_TOKEN)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .concurrent_updates(update_processor or PerMemberUpdateProcessor())
        .post_init(_open_services(config, clock or SystemClock(), background))
        .post_shutdown(_close_services)
    )
    if config.bot.api_base_url:
        builder = builder.base_url(config.bot.api_base_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    for group, group_handlers in handler_groups(config):
        app.add_handlers(group_handlers, group=group)
    app.add_error_handler(on_error)
    return app


def handler_groups(config: Config) -> list[tuple[int, list[BaseHandler[Update, Any, Any]]]]:
    """Every handler, in the order they are tried.

    Group -2 is the gate: private chats only, edits never re-run, every button answered.
    Group -1 ends a member's conversation when they start something else (or it went stale).
    Group 0 holds everything else, tried in order, the first match acting: the conversations
    (a member mid-conversation is answered by it), commands, buttons and main-menu taps, and
    last the catch-alls for words and buttons nobody else took.
    """
    conversations_and_buttons: list[BaseHandler[Update, Any, Any]] = [
        *start.handlers(),
        *listings.handlers(),
        *browse.handlers(),
        *exchanges.handlers(),
        *account.handlers(),
        *settings.handlers(),
        *details.handlers(),
        *privacy.handlers(),
        *coordinators.handlers(),
        *broadcast.handlers(),
        *reports.handlers(),
        *safety.handlers(),
        *pauses.handlers(),
        *visits.handlers(),
        *aftercare.handlers(),
        *checkins.handlers(),
        *visitors.handlers(),
        *referrals.handlers(),
        *organisations.handlers(),
        *activities.handlers(),
        *listings.menu_handlers(),
        *browse.menu_handlers(),
        *account.menu_handlers(),
        *activities.menu_handlers(),
        *spend.handlers(),
        *listings.menu_handlers(),
        *browse.menu_handlers(),
        *account.menu_handlers(),
        *spend.menu_handlers(),
        *account.fallback_handlers(),
    ]
    conversations = [h for h in conversations_and_buttons if isinstance(h, Conversation)]
    timeout = timedelta(minutes=config.bot.conversation_timeout_minutes)
    return [
        (GATE_GROUP, gate.handlers()),
        (LEAVER_GROUP, [Leaver(conversations, timeout)]),
        (0, conversations_and_buttons),
    ]


def _open_services(config: Config, clock: Clock, background: bool) -> Any:
    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        db = await Database.open(config.bot.database)
        try:
            await _start_services(app, db, config, clock, background)
        except BaseException:
            await db.close()  # its worker threads would keep a failed start from exiting
            raise

    return post_init


async def _start_services(
    app: Application[Any, Any, Any, Any, Any, Any],
    db: Database,
    config: Config,
    clock: Clock,
    background: bool,
) -> None:
    """Everything the bot runs on, around one open database."""
    await roles.ensure_coordinators(
        db, config.timebank.coordinators, clock.now(), timings_from(config)
    )
    await outbox.recover_in_flight(db)
    sender = Sender(
        app.bot,
        db,
        clock,
        Policy.from_config(config),
        paid_broadcasts=config.broadcasts.allow_paid_broadcast,
    )
    sender.after_batch = ProgressReporter(app.bot, db, clock, sender.pacer, sender.policy)
    db.on_outbox(sender.wake)  # a commit that queued a notice wakes the sender's task
    services = Services(
        config,
        db,
        clock,
        sender,
        timings_from(config),
        retention_from(config),
        visit_rules_from(config),
    )
    app.bot_data[SERVICES_KEY] = services
    await _set_commands(app.bot, config.timebank.language)
    if background:
        sender.start()
        ticker = Ticker(services)
        ticker.start()
        app.bot_data[SCHEDULER_KEY] = ticker


async def _set_commands(bot: Bot, default_language: str) -> None:
    """Telegram's command menu in each language we have, for people whose Telegram is set to
    it, and in the timebank's language for everyone else."""
    with speaking(default_language):
        await bot.set_my_commands(bot_commands())
    for language in languages():
        with speaking(language):
            await bot.set_my_commands(bot_commands(), language_code=language)


async def _close_services(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    ticker = app.bot_data.pop(SCHEDULER_KEY, None)
    if isinstance(ticker, Ticker):
        await ticker.stop()
    services = app.bot_data.pop(SERVICES_KEY, None)
    if isinstance(services, Services):
        await services.sender.stop()
        await services.db.close()


@asynccontextmanager
async def running(
    app: Application[Any, Any, Any, Any, Any, Any],
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Initialise the app and its services without polling, for process_update callers."""
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        try:
            yield app
        finally:
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
    finally:
        await app.shutdown()
