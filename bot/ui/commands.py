"""The one table of commands: it feeds /help and Telegram's command menu (set_my_commands)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand

from bot.ui.i18n import t


@dataclass(frozen=True)
class Command:
    name: str
    help_key: str
    coordinator_only: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", "commands.start"),
    Command("offer", "commands.offer"),
    Command("need", "commands.need"),
    Command("browse", "commands.browse"),
    Command("search", "commands.search"),
    Command("balance", "commands.balance"),
    Command("history", "commands.history"),
    Command("settings", "commands.settings"),
    Command("language", "commands.language"),
    Command("blocked", "commands.blocked"),
    Command("activities", "commands.activities"),
    Command("activity", "commands.activity"),
    Command("myvisits", "commands.myvisits"),
    Command("spend", "commands.spend"),
    Command("orgoffer", "commands.orgoffer"),
    Command("visitor", "commands.visitor"),
    Command("org", "commands.org"),
    Command("mydata", "commands.mydata"),
    Command("forget", "commands.forget"),
    Command("help", "commands.help"),
    Command("cancel", "commands.cancel"),
    Command("broadcast", "commands.broadcast", coordinator_only=True),
    Command("open_needs", "commands.open_needs", coordinator_only=True),
    Command("record", "commands.record", coordinator_only=True),
    Command("correct", "commands.correct", coordinator_only=True),
    Command("promote", "commands.promote", coordinator_only=True),
    Command("demote", "commands.demote", coordinator_only=True),
    Command("visitors", "commands.visitors", coordinator_only=True),
    Command("paused", "commands.paused", coordinator_only=True),
    Command("discharge", "commands.discharge", coordinator_only=True),
    Command("visits", "commands.visits", coordinator_only=True),
    Command("qr", "commands.qr", coordinator_only=True),
    Command("neworg", "commands.neworg", coordinator_only=True),
    Command("orgs", "commands.orgs", coordinator_only=True),
    Command("report", "report.command", coordinator_only=True),
    Command("export", "export.command", coordinator_only=True),
)


def bot_commands() -> list[BotCommand]:
    return [BotCommand(c.name, t(c.help_key)) for c in COMMANDS if not c.coordinator_only]


def coordinator_help_lines() -> list[str]:
    """The coordinators' commands, one line each (members' are in Telegram's / menu)."""
    return [f"/{c.name} – {t(c.help_key)}" for c in COMMANDS if c.coordinator_only]
