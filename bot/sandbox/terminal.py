"""The offline sandbox: the real bot, in-process, with the terminal as the chat.

Anyone can try the bot, or a change to it, without a token, a network or a phone. The real
Application runs against the stand-in Bot API (`bot.sandbox.standin`), so every handler, the
database and the outbox behave exactly as in production; only the far end of the wire is pretend.
Input and output are plain text streams, so the whole thing is scriptable and testable.

The words here are developer-facing terminal chrome; what members read lives in bot/ui/locales/.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import sys
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from telegram.ext import Application

from bot.app import OFFLINE_TOKEN, build_application, running
from bot.config import Config
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember, SentMessage, StandInBotAPI
from bot.services import services_of

READY_MADE = ("Alice", "Bob", "Cora")
FIRST_PRETEND_ID = 1001
WIDTH = 78

HELP = """\
  Type a message as the member would, e.g. /start or /need a lift to the clinic.
  Buttons are numbered: type the number to tap one.
  :who NAME   switch to (or create) a pretend member; ready-made: {names}
  :who        list the pretend members
  :say TEXT   send TEXT exactly as typed (to send a bare number)
  :help       show this list
  :quit       leave (end of input or Ctrl-D leaves too)"""

BANNER = """\
Timebank sandbox: the real bot runs here, offline. Nothing is sent to Telegram.
Timebank: {timebank} · database: {database}
You are chatting as {name}, a pretend member. Start with /start.
"""

_LINK = re.compile(r"<a\s+href=\"([^\"]*)\"\s*>(.*?)</a>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

App = Application[Any, Any, Any, Any, Any, Any]
Snapshot = tuple[str, str]


def plain(text: str) -> str:
    """Telegram HTML as a terminal shows it: tags gone, entities decoded, web links kept."""

    def link(match: re.Match[str]) -> str:
        href, label = match.group(1), match.group(2)
        return label if href.startswith("tg://") else f"{label} ({href})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))


@dataclass(frozen=True)
class Choice:
    """One numbered button as shown: an inline button (with its message) or a keyboard label."""

    label: str
    message: SentMessage | None = None
    button: dict[str, Any] | None = None


class Sandbox:
    """The chat loop's state: the pretend members, who is speaking, and what was shown."""

    def __init__(self, app: App, api: StandInBotAPI, config: Config, out: TextIO) -> None:
        self.app, self.api, self.config, self.out = app, api, config, out
        self.members: dict[str, ChatMember] = {}
        self.choices: list[Choice] = []
        self._shown: dict[tuple[int, int], Snapshot] = {}
        self._ids = _free_ids(set(config.timebank.coordinators))
        for name in READY_MADE:
            self._add_member(name)
        self.current = self.members["alice"]

    # --- members -----------------------------------------------------------------------------

    def _add_member(self, name: str) -> ChatMember:
        """Cora takes the first configured coordinator's id, so coordinator flows can be tried."""
        coordinators = self.config.timebank.coordinators
        user_id = coordinators[0] if name == "Cora" and coordinators else next(self._ids)
        member = ChatMember(self.app, self.api, user_id, name, username=name.lower())
        self.members[name.lower()] = member
        return member

    def _describe(self, member: ChatMember) -> str:
        role = ", a coordinator" if member.user_id in self.config.timebank.coordinators else ""
        return f"{member.first_name} (pretend Telegram id {member.user_id}{role})"

    def _name_of(self, chat_id: int) -> str:
        for member in self.members.values():
            if member.user_id == chat_id:
                return member.first_name
        return f"chat {chat_id}"

    # --- input -------------------------------------------------------------------------------

    def banner(self) -> None:
        self.say(
            BANNER.format(
                timebank=self.config.timebank.name,
                database=self.config.bot.database,
                name=self.current.first_name,
            )
        )
        self.say(self._help_text())

    async def handle(self, line: str) -> bool:
        """Act on one line of input; False means the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return await self._command(line)
        if line.isdigit():
            await self._tap(int(line))
        else:
            await self._act(self.current.says(line))
        return True

    async def _command(self, line: str) -> bool:
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if name in ("quit", "q", "exit"):
            return False
        if name == "help":
            self.say(self._help_text())
        elif name == "who":
            self._who(rest)
        elif name == "say" and rest:
            await self._act(self.current.says(rest))
        elif name == "say":
            self.say("  (:say needs some text, e.g. :say 3)")
        else:
            self.say(f"  (unknown command {line.split()[0]}; type :help to see what works)")
        return True

    def _who(self, name: str) -> None:
        if not name:
            for each in self.members.values():
                mark = "*" if each is self.current else " "
                self.say(f"  {mark} {self._describe(each)}")
            return
        member = self.members.get(name.lower())
        if member is None:
            member = self._add_member(name)
            self.say(f"  (new pretend member {self._describe(member)}; try /start)")
        self.current = member
        self.say(f"  (now chatting as {self._describe(member)})")
        self._show_buttons()

    async def _tap(self, number: int) -> None:
        if not self.choices:
            self.say("  (there are no buttons to tap just now; type a message instead)")
            return
        if not 1 <= number <= len(self.choices):
            self.say(f"  (there's no button {number}; pick 1 to {len(self.choices)})")
            return
        choice = self.choices[number - 1]
        self.say(f"  (taps “{choice.label}”)")
        if choice.button is None:
            # A reply-keyboard tap: the label as a message (or a "share my number" contact).
            await self._act(self.current.taps_keyboard(choice.label))
        elif "callback_data" in choice.button:
            await self._act(self.current.presses(choice.button["callback_data"], choice.message))
        elif "url" in choice.button:
            self.say(f"  (that button opens a link: {choice.button['url']})")
        else:
            self.say("  (the sandbox can't tap that kind of button)")

    async def _act(self, action: Awaitable[None]) -> None:
        """Run one member action, then show everything it caused, wherever it landed."""
        answered = len(self.api.callback_answers)
        try:
            await action
        except Exception as error:  # the loop must survive anything a handler does
            self.say(f"  (the sandbox couldn't do that: {error})")
        await self.tick()
        self._show_answers(answered)
        self.show_new()

    async def tick(self) -> None:
        """One scheduler pass, in step with the chat rather than on a timer.

        The terminal is read with a blocking call, so a background scheduler would only run in
        bursts anyway, and could still be mid-query when the sandbox closes the database.
        Ticking after each action delivers whatever became due, in order, before the prompt.
        """
        try:
            await tick(services_of(self.app))
        except Exception as error:
            self.say(f"  (the scheduler's tick failed: {error})")

    # --- output ------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show_new(self) -> None:
        """Print messages that are new or edited since last time, then the current buttons."""
        for message, before in self._changed():
            self._print_message(message, before)
        self._show_buttons()

    def _changed(self) -> list[tuple[SentMessage, Snapshot | None]]:
        """New or changed messages in every chat, oldest first, each with what was shown before.

        The stand-in edits messages in place, so a snapshot of (text, buttons) per message id
        is what tells an edit from a message already shown.
        """
        changed = []
        for chat_id in list(self.api.chats):
            for message in self.api.messages(chat_id):
                key = (chat_id, message.message_id)
                snapshot = (message.text, json.dumps(message.reply_markup, sort_keys=True))
                before = self._shown.get(key)
                if before != snapshot:
                    changed.append((message, before))
                    self._shown[key] = snapshot
        return sorted(changed, key=lambda pair: pair[0].message_id)

    def _print_message(self, message: SentMessage, before: Snapshot | None) -> None:
        """A new message in full; an edit marked as one, shortened if only its buttons changed."""
        text = plain(message.text)
        mark = ""
        if before is not None:
            mark = " (edited)" if before[0] != message.text else " (buttons changed)"
            if before[0] == message.text:
                text = text.splitlines()[0] + " …" if text else ""
        if message.chat_id == self.current.user_id:
            prefix = f"bot{mark}: "
        else:
            prefix = f"[to {self._name_of(message.chat_id)}]{mark} "
        kind = "" if message.kind == "text" else f"({message.kind}) "
        lines = (kind + text).splitlines() or [""]
        self.say(prefix + lines[0])
        for line in lines[1:]:
            self.say((" " * len(prefix) + line).rstrip())

    def _show_answers(self, before: int) -> None:
        for answer in list(self.api.callback_answers.values())[before:]:
            if answer.get("text"):
                kind = "pop-up" if answer.get("show_alert") else "toast"
                self.say(f"  ({kind}) {plain(str(answer['text']))}")

    def _show_buttons(self) -> None:
        """Number the buttons a phone would offer: the newest inline ones, then the keyboard."""
        inline = self._latest_inline()
        tappable = [Choice(b["text"], inline, b) for b in inline.inline_buttons] if inline else []
        keyboard = [Choice(label) for label in self.current.reply_buttons]
        self.choices = tappable + keyboard
        self._print_row("  buttons:  ", tappable, first=1)
        self._print_row("  keyboard: ", keyboard, first=len(tappable) + 1)

    def _latest_inline(self) -> SentMessage | None:
        for message in reversed(self.current.messages):
            if message.inline_buttons:
                return message
        return None

    def _print_row(self, head: str, choices: list[Choice], *, first: int) -> None:
        """Lay numbered choices out greedily across lines, so a long menu stays readable."""
        if not choices:
            return
        line = head
        for number, choice in enumerate(choices, start=first):
            item = f"[{number}] {choice.label}"
            if line != head and len(line) + len(item) > WIDTH:
                self.say(line.rstrip())
                line = " " * len(head)
            line += item + "   "
        self.say(line.rstrip())

    def _help_text(self) -> str:
        names = ", ".join(READY_MADE)
        if self.config.timebank.coordinators:
            names += " (Cora is a coordinator)"
        return HELP.format(names=names)


def _free_ids(taken: set[int]) -> Iterator[int]:
    """Pretend Telegram ids that never collide with a configured coordinator's."""
    return (n for n in itertools.count(FIRST_PRETEND_ID) if n not in taken)


def _read_line(stdin: TextIO, stdout: TextIO, prompt: str) -> str | None:
    """One line of input, or None at end of input; echoes piped input so transcripts read."""
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        stdout.write("\n")
        return None
    if not stdin.isatty():
        stdout.write(line if line.endswith("\n") else line + "\n")
    return line


async def run_sandbox(
    config: Config, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> None:
    """Chat with the real bot from a terminal (or any text stream) until :quit or end of input.

    The streams default to sys.stdin/sys.stdout when called, not when imported, so tests and
    callers that swap them are honoured.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    api = StandInBotAPI(clock=lambda: int(time.time()))
    app = build_application(config, request=api, token=OFFLINE_TOKEN, background=False)
    async with running(app):
        sandbox = Sandbox(app, api, config, stdout)
        sandbox.banner()
        await sandbox.tick()
        sandbox.show_new()
        while (line := _read_line(stdin, stdout, f"{sandbox.current.first_name}> ")) is not None:
            if not await sandbox.handle(line):
                break
    stdout.write("Bye!\n")
    stdout.flush()


def run_sandbox_sync(
    config: Config, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> None:
    """The sandbox for synchronous callers (the CLI); Ctrl-C leaves at once, and cleanly.

    A plain event loop rather than asyncio.run: asyncio.run turns the first Ctrl-C into a task
    cancellation that a blocking read of the terminal would not notice until Enter.
    Raised inside the read instead, the interrupt unwinds through `running`, which closes the
    database before the loop stops.
    """
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run_sandbox(config, stdin=stdin, stdout=stdout))
    except KeyboardInterrupt:
        (stdout or sys.stdout).write("\nBye!\n")
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
