"""A stand-in for Telegram's Bot API, at python-telegram-bot's request layer.

The tests, the benchmarks and the `try` sandbox all run the real Application against it: it
answers Bot API methods the way Telegram does (message ids, edits, callback answers, errors
such as 429 and 403) and records every call, and `ChatMember` speaks as a person in a chat.
Nothing here reaches the network.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.services import SERVICES_KEY, Services

BOT_ID = 7000000001
BOT_USERNAME = "timebank_test_bot"


@dataclass
class SentMessage:
    """A message as the member's phone shows it: the latest text and buttons after edits."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    date: int
    kind: str = "text"
    deleted: bool = False

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def reply_buttons(self) -> list[str]:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [b["text"] if isinstance(b, dict) else b for row in rows for b in row]


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    """An error Telegram would answer with, for the next matching call."""

    status: int
    description: str
    retry_after: int | None = None
    network: bool = False


TOO_MANY = Failure(429, "Too Many Requests: retry after 3", retry_after=3)
BLOCKED = Failure(403, "Forbidden: bot was blocked by the user")
NETWORK_DOWN = Failure(0, "network is unreachable", network=True)


@dataclass
class StandInBotAPI(BaseRequest):
    """Answers like api.telegram.org, from memory."""

    clock: Callable[[], int] = field(default=lambda: 1_790_000_000)
    calls: list[ApiCall] = field(default_factory=list)
    chats: dict[int, list[SentMessage]] = field(default_factory=dict)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    failures: list[tuple[str, int | None, Failure]] = field(default_factory=list)
    record_calls: bool = True
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    # Called after a method was answered (and a message stored): tests use it to stop the
    # bot abruptly mid-broadcast, as a crash would.
    after_call: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)

    # --- BaseRequest -------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if self.record_calls:
            self.calls.append(ApiCall(api_method, params))
            self._record_uploads(api_method, request_data)
        failure = self._take_failure(api_method, params.get("chat_id"))
        if failure is not None:
            return self._fail(failure)
        if params.get("chat_id") in self.blocked:
            return self._fail(BLOCKED)
        answer = getattr(self, f"_api_{api_method}", None)
        if answer is None:
            return 404, _json({"ok": False, "error_code": 404, "description": "Not Found"})
        result = answer(params)
        if isinstance(result, Failure):
            return self._fail(result)
        if self.after_call is not None:
            await self.after_call(api_method, params)
        return 200, _json({"ok": True, "result": result})

    # --- what a test or the sandbox asks of it -----------------------------------------------

    def fail_next(self, method: str, failure: Failure, chat_id: int | None = None) -> None:
        """Answer the next `method` call (to `chat_id`, if given) with `failure`."""
        self.failures.append((method, chat_id, failure))

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def sent(self, method: str = "sendMessage") -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def messages(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.chats.get(chat_id, []) if not m.deleted]

    def find(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self.chats.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    # --- Bot API methods ---------------------------------------------------------------------

    def _api_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Timebank",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, params["text"], kind="text")

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, params.get("caption", ""), kind="photo")

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, params.get("caption", ""), kind="document")

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        message = self.find(int(params["chat_id"]), int(params["message_id"]))
        if message is None:
            return Failure(400, "Bad Request: message to edit not found")
        markup = _markup(params.get("reply_markup"))
        if message.text == params["text"] and message.reply_markup == markup:
            return Failure(400, "Bad Request: message is not modified")
        message.text, message.reply_markup = params["text"], markup
        return self._message_json(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        message = self.find(int(params["chat_id"]), int(params["message_id"]))
        if message is None:
            return Failure(400, "Bad Request: message to edit not found")
        message.reply_markup = _markup(params.get("reply_markup"))
        return self._message_json(message)

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        message = self.find(int(params["chat_id"]), int(params["message_id"]))
        if message is not None:
            message.deleted = True
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        self.callback_answers[str(params["callback_query_id"])] = params
        return True

    def _api_setMyCommands(self, _: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, _: dict[str, Any]) -> bool:
        return True

    def _api_sendChatAction(self, _: dict[str, Any]) -> bool:
        return True

    def _api_getUpdates(self, _: dict[str, Any]) -> list[Any]:
        return []

    # --- helpers -----------------------------------------------------------------------------

    def _store(self, params: dict[str, Any], text: str, kind: str) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = SentMessage(
            message_id=next(self._message_ids),
            chat_id=chat_id,
            text=text,
            reply_markup=_markup(params.get("reply_markup")),
            date=self.clock(),
            kind=kind,
        )
        self.chats.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": {"id": message.chat_id, "type": "private", "first_name": "Member"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Timebank"},
            "text": message.text,
        }
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _record_uploads(self, method: str, request_data: RequestData | None) -> None:
        """Files sent (photos, documents) as (method, file name, bytes)."""
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        for name, content, _ in files.values():
            self.uploads.append((method, name or "", bytes(content)))  # type: ignore[arg-type]

    def _take_failure(self, method: str, chat_id: object) -> Failure | None:
        for index, (wanted, wanted_chat, failure) in enumerate(self.failures):
            if wanted == method and wanted_chat in (None, chat_id):
                del self.failures[index]
                return failure
        return None

    @staticmethod
    def _fail(failure: Failure) -> tuple[int, bytes]:
        if failure.network:
            raise NetworkError(failure.description)
        body: dict[str, Any] = {
            "ok": False,
            "error_code": failure.status,
            "description": failure.description,
        }
        if failure.retry_after is not None:
            body["parameters"] = {"retry_after": failure.retry_after}
        return failure.status, _json(body)


class ChatMember:
    """A person in a private chat with the bot: says things, taps buttons, reads replies."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        api: StandInBotAPI,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        settle: bool = True,
    ) -> None:
        self.app, self.api = app, api
        self.user_id, self.first_name, self.username = user_id, first_name, username
        self.settle = settle

    # --- acting ------------------------------------------------------------------------------

    async def says(self, text: str) -> None:
        message = self._incoming_message(text)
        await self._process({"message": message})

    async def taps(self, label: str) -> None:
        """Tap a button by its label: exact, else the one label that contains it."""
        inline = self._inline_button(label)
        if inline is not None:
            message, button = inline
            await self.presses(button["callback_data"], message)
            return
        choice = _choose(label, self.reply_buttons)
        if choice is None:
            raise AssertionError(f"{self.first_name} sees no button {label!r}: {self.buttons}")
        await self.says(choice)

    async def presses(self, data: str, message: SentMessage | None = None) -> None:
        """Send callback data as if from a button, even data no button had (a forgery)."""
        target = message or self._latest_with_inline() or self._any_message()
        query = {
            "id": str(self.api.next_update_id()),
            "from": self._user(),
            "chat_instance": str(self.user_id),
            "data": data,
            "message": self.api._message_json(target),
        }
        await self._process({"callback_query": query})

    # --- reading -----------------------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        return self.api.messages(self.user_id)

    @property
    def last(self) -> SentMessage:
        if not self.messages:
            raise AssertionError(f"the bot has sent {self.first_name} nothing")
        return self.messages[-1]

    @property
    def last_text(self) -> str:
        return self.last.text

    @property
    def last_alert(self) -> str | None:
        """The text of the pop-up or toast from the last callback answer, if any."""
        answers = list(self.api.callback_answers.values())
        return answers[-1].get("text") if answers else None

    @property
    def inline_labels(self) -> list[str]:
        message = self._latest_with_inline()
        return [b["text"] for b in message.inline_buttons] if message else []

    @property
    def reply_buttons(self) -> list[str]:
        """The reply keyboard the phone shows now: the last one sent, until removed."""
        for message in reversed(self.messages):
            markup = message.reply_markup or {}
            if "keyboard" in markup:
                return message.reply_buttons
            if markup.get("remove_keyboard"):
                return []
        return []

    @property
    def buttons(self) -> list[str]:
        return self.inline_labels + self.reply_buttons

    def texts_since(self, count: int) -> list[str]:
        return [m.text for m in self.messages[count:]]

    # --- building updates --------------------------------------------------------------------

    def _user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        return user

    def _incoming_message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": 10_000_000 + self.api.next_update_id(),
            "date": self.api.clock(),
            "chat": {"id": self.user_id, "type": "private", "first_name": self.first_name},
            "from": self._user(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    async def _process(self, payload: dict[str, Any]) -> None:
        payload["update_id"] = self.api.next_update_id()
        update = Update.de_json(payload, self.app.bot)
        await self.app.process_update(update)
        await self._settle()

    async def _settle(self) -> None:
        """Deliver the notices this action queued for others, as the sender's own task would a
        moment later, so a test or the sandbox reads everyone's chat as it will be."""
        if not self.settle:
            return
        bot_data = getattr(self.app, "bot_data", None)
        services = bot_data.get(SERVICES_KEY) if isinstance(bot_data, dict) else None
        # A pass already under way (this action came from inside one) picks them up itself.
        if isinstance(services, Services) and not services.sender.busy:
            await services.sender.deliver_direct()

    def _latest_with_inline(self) -> SentMessage | None:
        for message in reversed(self.messages):
            if message.inline_buttons:
                return message
        return None

    def _any_message(self) -> SentMessage:
        if self.messages:
            return self.messages[-1]
        return SentMessage(1, self.user_id, "", None, self.api.clock())

    def _inline_button(self, label: str) -> tuple[SentMessage, dict[str, Any]] | None:
        for message in reversed(self.messages):
            chosen = _choose(label, [b["text"] for b in message.inline_buttons])
            if chosen is not None:
                return message, next(b for b in message.inline_buttons if b["text"] == chosen)
        return None


def _choose(label: str, labels: list[str]) -> str | None:
    if label in labels:
        return label
    matches = [text for text in labels if label.lower() in text.lower()]
    return matches[0] if len(matches) == 1 else None


def _markup(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    parsed = json.loads(value) if isinstance(value, str) else value
    assert isinstance(parsed, dict)
    return parsed


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
