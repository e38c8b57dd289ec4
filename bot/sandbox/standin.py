"""A stand-in for Telegram's Bot API, at python-telegram-bot's request layer.

The tests, the benchmarks and the `try` sandbox all run the real Application against it: it
answers Bot API methods the way Telegram does (message ids, edits, callback answers, errors
such as 429 and 403) and records every call, and `ChatMember` speaks as a person in a chat.
Nothing here reaches the network.

It refuses what Telegram refuses, in Telegram's words: HTML its parser can't read, texts and
captions too long or empty, bad buttons, edits that change nothing, callback queries answered
late or twice, chats of people who blocked the bot or are gone. So a test meets, in memory, the
400 or 403 that production would meet. `rtt` adds a real round trip for benchmarks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.services import SERVICES_KEY, Services
from bot.ui.render import utf16_length

BOT_ID = 7000000001
BOT_USERNAME = "timebank_test_bot"

TEXT_LIMIT = 4096  # UTF-16 code units of a message's text, counted after entity parsing
CAPTION_LIMIT = 1024  # the same, for a caption
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8 in an inline button's callback_data
# An inline keyboard holds at most 100 buttons, 8 to a row (tginfo/Telegram-Limits).
INLINE_BUTTONS_LIMIT = 100
INLINE_ROW_LIMIT = 8
PHONE_NUMBER = "+447700900123"  # what a pretend person's "share my number" sends
QUERY_LIFETIME = 15  # seconds Telegram waits for answerCallbackQuery before the query expires


# --- Telegram's HTML -----------------------------------------------------------------------------
# A port of the parser Telegram runs for parse_mode HTML (tdlib's parse_html), so the stand-in
# refuses exactly what api.telegram.org refuses, in the same words and at the same byte offsets.
# It reads the text as tdlib reads a C string: a "\0" (the sentinel appended below) ends it, and
# inside a tag counts as a space. To Telegram a stray ">", or an "&" that starts no entity it
# knows, is plain text; only "<" always starts a tag.

TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_SPECIAL = re.compile(r"[<&]")
_TAG_NAME = re.compile(r"[^ \t\r\n\v\0>]*")
_ATTRIBUTE_NAME = re.compile(r"[^ \t\r\n\v\0=>/\"']*")
_SPACES = re.compile(r"[ \t\r\n\v]*")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]*")
_QUOTED = {'"': re.compile(r'[^"\0]*'), "'": re.compile(r"[^'\0]*")}
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]*)|#([0-9]*)|([A-Za-z]*));?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NUMBER = re.compile(r"-?[0-9]+")
_SURROGATES = re.compile("[\ud800-\udfff]")


class EntityError(ValueError):
    """HTML Telegram can't parse; `description` is the Bot API's answer, word for word."""

    def __init__(self, reason: str) -> None:
        self.description = f"Bad Request: can't parse entities: {reason}"
        super().__init__(self.description)


def parse_html(html: str) -> str:
    """The plain text Telegram shows for `html` sent with parse_mode HTML, or EntityError.

    Tags must be supported, well formed, nested and closed; entities decode as Telegram decodes
    them (only &lt; &gt; &amp; &quot; and numeric ones, the ";" optional)."""
    if "<" not in html and "&" not in html:
        return html
    text, end = html + "\0", len(html)
    plain: list[str] = []
    written = 0  # characters of plain text so far: a tag around none makes no entity
    open_tags: list[tuple[str, str, int]] = []  # (name, argument, `written` where it opened)
    position = 0
    while special := _SPECIAL.search(text, position, end):
        at = special.start()
        plain.append(text[position:at])
        written += at - position
        if text[at] == "&":
            decoded, position = _entity(text, at)
            plain.append(decoded)
            written += len(decoded)
        elif text[at + 1] == "/":
            position = _end_tag(text, at, open_tags, written)
        else:
            tag, argument, position = _start_tag(text, at)
            open_tags.append((tag, argument, written))
    plain.append(text[position:end])
    if open_tags:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    result = "".join(plain)
    if "&#" in html and _SURROGATES.search(result):
        raise EntityError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return result


def _entity(text: str, at: int) -> tuple[str, int]:
    """The character an "&..." at `at` stands for, and where reading goes on; an "&" that
    starts no entity Telegram knows (a lone one, &nbsp;, &#0;) stays as it is."""
    match = _ENTITY.match(text, at)
    assert match is not None  # its last alternative matches even a lone "&"
    hexadecimal, decimal, name = match.groups()
    if name is not None:
        character = _NAMED_ENTITIES.get(name)
        return (character, match.end()) if character else ("&", at + 1)
    digits, base, prefix = (hexadecimal, 16, 3) if hexadecimal is not None else (decimal, 10, 2)
    code = int(digits, base) if digits else 0
    if code == 0 or code >= 0x10FFFF or prefix + len(digits) >= 10:
        return "&", at + 1
    return chr(code), match.end()


def _start_tag(text: str, begin: int) -> tuple[str, str, int]:
    """Read `<tag attribute=value ...>` at `begin`: the tag, its argument (href, language,
    spoiler, emoji id, "1" for an expandable quote) and the position after its ">"."""
    i = _end_of(_TAG_NAME, text, begin + 1)
    if text[i] == "\0":
        raise EntityError(f"Unclosed start tag at byte offset {_bytes(text, begin)}")
    tag = _ascii_lower(text[begin + 1 : i])
    if tag not in TAGS:
        raise EntityError(f'Unsupported start tag "{tag}" at byte offset {_bytes(text, begin)}')
    argument = ""
    while text[i] != ">":
        i = _end_of(_SPACES, text, i)
        if text[i] == ">":
            break
        name_end = _end_of(_ATTRIBUTE_NAME, text, i)
        name, i = text[i:name_end], _end_of(_SPACES, text, name_end)
        if not name:
            raise EntityError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_bytes(text, begin)}'
            )
        if text[i] == "=":
            value, i = _attribute_value(text, tag, begin, i + 1)
            argument = _argument(tag, name, value, argument)
        elif text[i] == "\0":
            raise EntityError(f'Unclosed start tag "{tag}" at byte offset {_bytes(text, begin)}')
        elif (tag, name) == ("blockquote", "expandable"):  # the one attribute with no value
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise EntityError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_bytes(text, begin)}'
        )
    return tag, argument, i + 1


def _attribute_value(text: str, tag: str, begin: int, at: int) -> tuple[str, int]:
    """An attribute's value after its "=": a quoted string (entities decoded) or a bare name
    token (letters, digits, "." and "-", lowercased), and the position after it."""
    i = _end_of(_SPACES, text, at)
    if text[i] == "\0":
        raise EntityError(f'Unclosed start tag "{tag}" at byte offset {_bytes(text, begin)}')
    if text[i] in _QUOTED:
        value_end = _end_of(_QUOTED[text[i]], text, i + 1)
        value = _decode_entities(text[i + 1 : value_end])
        i = value_end + (text[value_end] == text[i])
    else:
        value_end = _end_of(_NAME_TOKEN, text, i)
        if text[value_end] not in " \t\r\n\v\0>":
            raise EntityError(f"Unexpected end of name token at byte offset {_bytes(text, i)}")
        value, i = _ascii_lower(text[i:value_end]), value_end
    if text[i] == "\0":
        raise EntityError(f"Unclosed start tag at byte offset {_bytes(text, begin)}")
    return value, i


def _argument(tag: str, name: str, value: str, argument: str) -> str:
    """What an attribute tells Telegram; it ignores the attributes it doesn't know."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return argument


def _end_tag(text: str, begin: int, open_tags: list[tuple[str, str, int]], written: int) -> int:
    """Close the innermost open tag with the `</tag>` (or `</>`) at `begin`; the position after."""
    if not open_tags:
        raise EntityError(f"Unexpected end tag at byte offset {_bytes(text, begin)}")
    name_end = _end_of(_TAG_NAME, text, begin + 2)
    name = _ascii_lower(text[begin + 2 : name_end])
    i = _end_of(_SPACES, text, name_end)
    if text[i] != ">":
        raise EntityError(f"Unclosed end tag at byte offset {_bytes(text, begin)}")
    tag, argument, start = open_tags.pop()
    if name and name != tag:
        raise EntityError(
            f"Unmatched end tag at byte offset {_bytes(text, begin)}, "
            f'expected "</{tag}>", found "</{name}>"'
        )
    if tag == "tg-emoji" and written > start and not _is_emoji_id(argument):
        raise EntityError("Invalid custom emoji identifier specified")
    return i + 1


def _decode_entities(value: str) -> str:
    """A quoted attribute value with its entities decoded, as they are in text."""
    parts: list[str] = []
    position = 0
    while (at := value.find("&", position)) >= 0:
        parts.append(value[position:at])
        decoded, position = _entity(value, at)
        parts.append(decoded)
    parts.append(value[position:])
    return "".join(parts)


def _is_emoji_id(argument: str) -> bool:
    """A custom emoji id is a non-zero 64-bit integer, written plainly (no "+", no leading 0)."""
    if not _NUMBER.fullmatch(argument) or str(int(argument)) != argument:
        return False
    return int(argument) != 0 and -(2**63) <= int(argument) < 2**63


def _end_of(pattern: re.Pattern[str], text: str, at: int) -> int:
    """Where the run of `pattern` starting at `at` ends (its patterns all match the empty run;
    the sentinel stops those that would run on)."""
    match = pattern.match(text, at)
    assert match is not None
    return match.end()


def _ascii_lower(name: str) -> str:
    """Telegram lowercases tag names and tokens byte by byte: ASCII letters only."""
    return name.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def _bytes(text: str, index: int) -> int:
    """Telegram reports where it stopped as a byte offset into the UTF-8 text."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


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
DEACTIVATED = Failure(403, "Forbidden: user is deactivated")
CHAT_NOT_FOUND = Failure(400, "Bad Request: chat not found")
NETWORK_DOWN = Failure(0, "network is unreachable", network=True)
NOT_MODIFIED = Failure(
    400,
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message",
)
QUERY_TOO_OLD = Failure(
    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
TEXT_EMPTY = Failure(400, "Bad Request: message text is empty")
TEXT_TOO_LONG = Failure(400, "Bad Request: message is too long")
CAPTION_TOO_LONG = Failure(400, "Bad Request: message caption is too long")
BUTTON_DATA_INVALID = Failure(400, "Bad Request: BUTTON_DATA_INVALID")
BUTTON_TEXT_INVALID = Failure(400, "Bad Request: BUTTON_TEXT_INVALID")
TEXT_BUTTON_INLINE = Failure(
    400,
    "Bad Request: can't parse inline keyboard button: "
    "Text buttons are unallowed in the inline keyboard",
)
EDIT_NOT_FOUND = Failure(400, "Bad Request: message to edit not found")
MARKUP_TOO_LONG = Failure(400, "Bad Request: reply markup is too long")
WEBHOOK_NOT_HTTPS = Failure(
    400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
)
WEBHOOK_BAD_PORT = Failure(
    400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
)
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN_LIMIT = 256
SECRET_TOO_LONG = Failure(400, "Bad Request: secret token is too long")
SECRET_UNALLOWED = Failure(400, "Bad Request: secret token contains unallowed characters")
WEBHOOK_ACTIVE = Failure(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)
# The methods that take allow_paid_broadcast (Bot API 7.11; python-telegram-bot 22's Bot has it
# on exactly these). Telegram silently ignores a parameter a method lacks; the stand-in refuses
# it instead (in words of its own), so a paid flag put where it does nothing is seen in a test.
PAID_BROADCAST_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendLivePhoto",
        "sendAudio",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendPaidMedia",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendGame",
        "copyMessage",
    }
)
NO_PAID_BROADCAST = Failure(400, "Bad Request: this method has no parameter allow_paid_broadcast")
# What makes an inline button do something; one with none of them is only text.
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


@dataclass
class StandInBotAPI(BaseRequest):
    """Answers like api.telegram.org, from memory."""

    clock: Callable[[], int] = field(default=lambda: 1_790_000_000)
    calls: list[ApiCall] = field(default_factory=list)
    chats: dict[int, list[SentMessage]] = field(default_factory=dict)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    deactivated: set[int] = field(default_factory=set)
    failures: list[tuple[str, int | None, Failure]] = field(default_factory=list)
    record_calls: bool = True
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    # The command menu Telegram shows, by language_code ("" for everyone else), or by
    # "chat:ID" for one chat's own menu.
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # What Telegram refused because of the call itself (bad HTML, too long, bad buttons, an
    # edit changing nothing, a stale query), with the call: the app swallows some refusals, so
    # a test can still see them. Kept only while record_calls is on.
    refusals: list[tuple[ApiCall, Failure]] = field(default_factory=list)
    # Seconds every call waits (a real asyncio.sleep) before it is answered: a benchmark sets
    # it to add the round trip to Telegram; tests keep 0.
    rtt: float = 0.0
    # Called after a method was answered (and a message stored): tests use it to stop the
    # bot abruptly mid-broadcast, as a crash would.
    after_call: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
    # The webhook setWebhook set (url, secret_token, allowed_updates), None when there is none.
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._open_queries: dict[str, int] = {}  # callback query id -> when it was made

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
        if self.rtt > 0:
            await asyncio.sleep(self.rtt)
        failure = self._take_failure(api_method, params.get("chat_id"))
        if failure is not None:
            return self._fail(failure)
        if params.get("chat_id") in self.blocked:
            return self._fail(BLOCKED)
        if params.get("chat_id") in self.deactivated:
            return self._fail(DEACTIVATED)
        answer = getattr(self, f"_api_{api_method}", None)
        if answer is None:
            return 404, _json({"ok": False, "error_code": 404, "description": "Not Found"})
        if "allow_paid_broadcast" in params and api_method not in PAID_BROADCAST_METHODS:
            result: Any = NO_PAID_BROADCAST
        else:
            result = answer(params)
        if isinstance(result, Failure):
            if self.record_calls:
                self.refusals.append((ApiCall(api_method, params), result))
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

    def new_callback_query(self, age_seconds: int = 0) -> str:
        """A callback query id, as Telegram makes one when a button is pressed; it can be
        answered once, within QUERY_LIFETIME seconds (by `clock`) of being made. A press
        `age_seconds` old models an update that reached the bot late."""
        query_id = str(self.next_update_id())
        self._open_queries[query_id] = self.clock() - age_seconds
        return query_id

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

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        refused = _text_refusal(params) or _markup_refusal(params.get("reply_markup"))
        return refused or self._store(params, _wire(params, "text"), kind="text")

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        refused = _caption_refusal(params) or _markup_refusal(params.get("reply_markup"))
        return refused or self._store(params, _wire(params, "caption"), kind="photo")

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        refused = _caption_refusal(params) or _markup_refusal(params.get("reply_markup"))
        return refused or self._store(params, _wire(params, "caption"), kind="document")

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        message = self._editable(params)
        if message is None:
            return EDIT_NOT_FOUND
        refused = _text_refusal(params) or _markup_refusal(params.get("reply_markup"))
        if refused is not None:
            return refused
        text, markup = _wire(params, "text"), _markup(params.get("reply_markup"))
        if message.text == text and message.reply_markup == markup:
            return NOT_MODIFIED
        message.text, message.reply_markup = text, markup
        return self._message_json(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | Failure:
        message = self._editable(params)
        if message is None:
            return EDIT_NOT_FOUND
        refused = _markup_refusal(params.get("reply_markup"))
        if refused is not None:
            return refused
        markup = _markup(params.get("reply_markup"))
        if message.reply_markup == markup:
            return NOT_MODIFIED
        message.reply_markup = markup
        return self._message_json(message)

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        message = self.find(int(params["chat_id"]), int(params["message_id"]))
        if message is not None:
            message.deleted = True
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool | Failure:
        query_id = str(params["callback_query_id"])
        made = self._open_queries.pop(query_id, None)
        if made is None or self.clock() - made > QUERY_LIFETIME:
            return QUERY_TOO_OLD
        self.callback_answers[query_id] = params
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool | Failure:
        """As Telegram checks them: at most 100 commands, names of 1-32 lowercase letters,
        digits and underscores, descriptions of 1-256 characters, a two-letter language."""
        commands = _param(params["commands"])
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch("[a-z]{2}", language):
            return Failure(400, "Bad Request: invalid language code specified")
        for command in commands:
            if not re.fullmatch("[a-z0-9_]{1,32}", command["command"]):
                return Failure(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                return Failure(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        if len(commands) > 100:
            return Failure(400, "Bad Request: too many commands")
        scope = _param(params.get("scope") or {"type": "default"})
        key = f"chat:{scope['chat_id']}" if scope["type"] == "chat" else language
        self.commands[key] = commands
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool | Failure:
        """As Telegram checks it: an https address on a port it posts to, and a secret token
        of 1-256 letters, digits, _ and - (an empty one is none). An empty url deletes it."""
        url = str(params.get("url") or "")
        if not url:
            self.webhook = None
            return True
        refused = _webhook_url_refusal(url)
        if refused is not None:
            return refused
        secret = str(params.get("secret_token") or "")
        if len(secret) > SECRET_TOKEN_LIMIT:
            return SECRET_TOO_LONG
        if not re.fullmatch("[A-Za-z0-9_-]*", secret):
            return SECRET_UNALLOWED
        allowed = params.get("allowed_updates")
        self.webhook = {
            "url": url,
            "secret_token": secret or None,
            "allowed_updates": None if allowed is None else _param(allowed),
        }
        return True

    def _api_deleteWebhook(self, _: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _api_getWebhookInfo(self, _: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False}
        if self.webhook is not None:
            info["url"] = self.webhook["url"]
            if self.webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info | {"pending_update_count": 0}

    def _api_sendChatAction(self, _: dict[str, Any]) -> bool:
        return True

    def _api_getUpdates(self, _: dict[str, Any]) -> list[Any] | Failure:
        return WEBHOOK_ACTIVE if self.webhook is not None else []

    # --- helpers -----------------------------------------------------------------------------

    def _editable(self, params: dict[str, Any]) -> SentMessage | None:
        """The message an edit names, unless it never existed or was deleted."""
        message = self.find(int(params["chat_id"]), int(params["message_id"]))
        return None if message is None or message.deleted else message

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


def _webhook_url_refusal(url: str) -> Failure | None:
    """A webhook address Telegram refuses: not https, or on a port it doesn't post to."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return WEBHOOK_NOT_HTTPS
    try:
        port = parts.port or 443
    except ValueError:  # not a port number at all
        return WEBHOOK_BAD_PORT
    return None if port in WEBHOOK_PORTS else WEBHOOK_BAD_PORT


# --- what Telegram checks in a message before it takes it ---------------------------------------


def _text_refusal(params: dict[str, Any]) -> Failure | None:
    """A message text Telegram refuses: HTML it can't parse, nothing to show, or too long."""
    shown = _shown(params, "text")
    if isinstance(shown, Failure):
        return shown
    shown = shown.strip()  # Telegram trims the text before it counts
    if not shown:
        return TEXT_EMPTY
    return TEXT_TOO_LONG if utf16_length(shown) > TEXT_LIMIT else None


def _caption_refusal(params: dict[str, Any]) -> Failure | None:
    """A caption Telegram refuses: HTML it can't parse, or too long (it may be empty)."""
    shown = _shown(params, "caption")
    if isinstance(shown, Failure):
        return shown
    return CAPTION_TOO_LONG if utf16_length(shown.strip()) > CAPTION_LIMIT else None


def _shown(params: dict[str, Any], name: str) -> str | Failure:
    """The text of `params[name]` as Telegram would show it: parsed when the mode is HTML."""
    raw = _wire(params, name)
    if str(params.get("parse_mode", "")).lower() != "html":
        return raw
    try:
        return parse_html(raw)
    except EntityError as error:
        return Failure(400, error.description)


def _wire(params: dict[str, Any], name: str) -> str:
    """A text parameter as Telegram receives it ("" when absent): python-telegram-bot sends
    any value that isn't a string JSON-encoded (with Defaults, its ExtBot turns "" into [],
    which arrives as "[]")."""
    value = params.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _markup_refusal(value: Any) -> Failure | None:
    """Buttons Telegram refuses: no text, callback data empty or over 64 bytes, an inline
    button that does nothing, or more inline buttons than a keyboard holds."""
    markup = _markup(value) or {}
    inline = markup.get("inline_keyboard", [])
    if sum(map(len, inline)) > INLINE_BUTTONS_LIMIT or any(
        len(row) > INLINE_ROW_LIMIT for row in inline
    ):
        return MARKUP_TOO_LONG
    for row in inline:
        for button in row:
            if not str(button.get("text", "")).strip():
                return BUTTON_TEXT_INVALID
            if not BUTTON_ACTIONS & button.keys():
                return TEXT_BUTTON_INLINE
            data = button.get("callback_data")
            if data is not None and not 0 < len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                return BUTTON_DATA_INVALID
    for row in markup.get("keyboard", []):
        for button in row:
            text = button.get("text", "") if isinstance(button, dict) else button
            if not str(text).strip():
                return BUTTON_TEXT_INVALID
    return None


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
        language_code: str | None = None,
    ) -> None:
        self.app, self.api = app, api
        self.user_id, self.first_name, self.username = user_id, first_name, username
        self.settle = settle
        self.language_code = language_code  # what their Telegram app is set to

    # --- acting ------------------------------------------------------------------------------

    async def says(self, text: str) -> None:
        message = self._incoming_message(text)
        await self._process({"message": message})

    def update_saying(self, text: str) -> dict[str, Any]:
        """The update Telegram would post to a webhook when this person says `text`."""
        return {"update_id": self.api.next_update_id(), "message": self._incoming_message(text)}

    async def taps(self, label: str) -> None:
        """Tap a button by its label: one labelled exactly so (under a message, newest first,
        then on the keyboard), else the one label that contains it."""
        for exact in (True, False):
            inline = self._inline_button(label, exact=exact)
            if inline is not None:
                message, button = inline
                await self.presses(button["callback_data"], message)
                return
            choice = _choose(label, self.reply_buttons, exact=exact)
            if choice is not None:
                await self.taps_keyboard(choice)
                return
        raise AssertionError(f"{self.first_name} sees no button {label!r}: {self.buttons}")

    async def taps_keyboard(self, label: str) -> None:
        """A reply-keyboard tap: the phone sends the label as a message, or, for a "share my
        number" button (request_contact), the person's own contact card instead."""
        if label in contact_buttons(self.messages):
            await self.shares_contact()
        else:
            await self.says(label)

    async def shares_contact(self, phone_number: str = PHONE_NUMBER) -> None:
        """Send one's own contact card, as Telegram does for a request_contact button."""
        message = self._incoming_message("")
        del message["text"]
        message["contact"] = {
            "phone_number": phone_number,
            "first_name": self.first_name,
            "user_id": self.user_id,
        }
        await self._process({"message": message})

    async def presses(
        self, data: str, message: SentMessage | None = None, age_seconds: int = 0
    ) -> None:
        """Send callback data as if from a button, even data no button had (a forgery); a
        press `age_seconds` old reaches the bot after its query may have expired."""
        target = message or self._latest_with_inline() or self._any_message()
        query = {
            "id": self.api.new_callback_query(age_seconds),
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
        return shown_keyboard(self.messages)

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
        if self.language_code:
            user["language_code"] = self.language_code
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
        await in_own_task(self.app.process_update(update))
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

    def _inline_button(
        self, label: str, *, exact: bool = False
    ) -> tuple[SentMessage, dict[str, Any]] | None:
        for message in reversed(self.messages):
            chosen = _choose(label, [b["text"] for b in message.inline_buttons], exact=exact)
            if chosen is not None:
                return message, next(b for b in message.inline_buttons if b["text"] == chosen)
        return None


async def in_own_task(step: Coroutine[Any, Any, None]) -> None:
    """Run an update as the Application's runner does, in a task of its own: what the update
    sets for itself (the language it speaks) ends with it, as in production."""
    await asyncio.create_task(step)


def shown_keyboard(messages: Sequence[SentMessage]) -> list[str]:
    """The reply keyboard a phone shows after these messages: the latest one sent, until a
    message removes it."""
    for message in reversed(messages):
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            return message.reply_buttons
        if markup.get("remove_keyboard"):
            return []
    return []


def contact_buttons(messages: Sequence[SentMessage]) -> list[str]:
    """The labels of the shown reply keyboard's buttons that share the person's number."""
    for message in reversed(messages):
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            rows = markup["keyboard"]
            return [
                b["text"]
                for row in rows
                for b in row
                if isinstance(b, dict) and b.get("request_contact")
            ]
        if markup.get("remove_keyboard"):
            return []
    return []


def _choose(label: str, labels: list[str], *, exact: bool = False) -> str | None:
    if label in labels:
        return label
    if exact:
        return None
    matches = [text for text in labels if label.lower() in text.lower()]
    return matches[0] if len(matches) == 1 else None


def _markup(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    parsed = _param(value)
    assert isinstance(parsed, dict)
    return parsed


def _param(value: Any) -> Any:
    """A parameter python-telegram-bot sent as JSON text (or, from a test, as is)."""
    return json.loads(value) if isinstance(value, str) else value


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
