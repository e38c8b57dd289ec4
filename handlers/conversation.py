"""Conversations: a member is in at most one, and anything else they start ends it.

python-telegram-bot's ConversationHandler keeps each conversation's state to itself: one left
half-way stays live under other commands (a half-made offer swallowed the next search's words),
it can't be ended from outside, and its timeout runs on a wall-clock job that tests can't move.
This is the same shape (entry points, named states, each step returns the next state or END),
with three differences:

- A `Leaver` runs before every other handler (group -1). When a member in a conversation sends
  any command, taps the main menu, or presses a button that is not a step of where they are, the
  conversation ends there and then, its draft is dropped, and the new action runs as if nothing
  had been going on. `/cancel` is just such a command, so it ends every conversation.
- Each step is stamped with the injected clock; a conversation untouched for longer than the
  timeout is put aside at the member's next update, with one kind line if they were typing
  into it. Text typed into a conversation the member has left is never taken as its content.
- A member who types while a step waits for a button is told to use the buttons, instead of
  their words falling through to "I didn't understand".

State lives in memory, per member: a restart forgets half-written drafts (nothing promised is
lost; promises are rows in SQLite). Updates of one member are processed one at a time (see
bot/updates.py), so the state needs no lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler, MessageHandler, filters

from bot.services import services
from bot.ui import keyboards
from bot.ui.i18n import t
from handlers.common import Context, menu_filter
from storage import members

END = -1
_EARLIER_STEP = object()  # a match's check when a button of an earlier step was pressed
Handlers = Sequence[BaseHandler[Update, Context, Any]]


@dataclass(frozen=True, slots=True)
class _Step:
    """Where a member is in a conversation, and when they last moved."""

    state: object
    touched_at: datetime


@dataclass(frozen=True, slots=True)
class _Match:
    handler: BaseHandler[Update, Context, Any] | None  # None: text where a button is awaited
    check: object


async def _noop(update: Update, context: Context) -> None:
    """BaseHandler wants a callback; a Conversation routes to its steps' own callbacks."""


class Conversation(BaseHandler[Update, Context, None]):
    """One flow: entry points start it, each state lists the handlers of that step.

    `drafts` are the `context.user_data` keys the flow keeps its answers under: they are
    dropped whenever the conversation is ended from outside, so nothing half-made lingers.
    With `keeps_draft_on_earlier_buttons`, a button of an earlier step (its buttons carry no
    draft of their own) keeps the draft and says so, instead of ending the conversation."""

    def __init__(
        self,
        name: str,
        entry_points: Handlers,
        states: Mapping[object, Handlers],
        *,
        drafts: Sequence[str] = (),
        keeps_draft_on_earlier_buttons: bool = False,
    ) -> None:
        super().__init__(_noop)
        self.keeps_draft_on_earlier_buttons = keeps_draft_on_earlier_buttons
        self.name = name
        self.entry_points = list(entry_points)
        self.states = {state: list(steps) for state, steps in states.items()}
        self.drafts = tuple(drafts)
        self._steps: dict[int, _Step] = {}

    def all_handlers(self) -> list[BaseHandler[Update, Context, Any]]:
        """Entry points and every step's handlers (for tests that walk what is registered)."""
        return [*self.entry_points, *(h for steps in self.states.values() for h in steps)]

    # --- where members are -----------------------------------------------------------------

    def step_of(self, user_id: int) -> _Step | None:
        return self._steps.get(user_id)

    def end(self, user_id: int, user_data: dict[Any, Any] | None) -> None:
        """Leave the conversation and drop its draft (from outside: another action, a timeout)."""
        self._steps.pop(user_id, None)
        for key in self.drafts:
            if user_data is not None:
                user_data.pop(key, None)

    def is_step(self, update: Update, user_id: int) -> bool:
        """The update is an answer to the step the member is at (not a way out of it)."""
        step = self._steps.get(user_id)
        return (
            step is not None and _first_match(self.states.get(step.state, []), update) is not None
        )

    # --- BaseHandler -----------------------------------------------------------------------

    def check_update(self, update: object) -> _Match | None:
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        step = self._steps.get(update.effective_user.id)
        if step is not None:
            handlers = self.states.get(step.state, [])
            match = _first_match(handlers, update)
            if match is not None:
                return match
            if _is_plain_text(update) and not _takes_text(handlers):
                return _Match(None, None)
            if update.callback_query is not None and self.owns(update):
                return _Match(None, _EARLIER_STEP)
        return _first_match(self.entry_points, update)

    def owns(self, update: Update) -> bool:
        """A button of this conversation, from any of its steps (an earlier one, say), for a
        conversation that keeps its draft on such a press."""
        return self.keeps_draft_on_earlier_buttons and any(
            _first_match(steps, update) is not None for steps in self.states.values()
        )

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Context, Any, Any, Any, Any],
        check_result: object,
        context: Context,
    ) -> None:
        assert isinstance(check_result, _Match)
        assert update.effective_user is not None
        if check_result.handler is None:
            await _ask_for_a_button(update, earlier=check_result.check is _EARLIER_STEP)
            return
        new_state = await check_result.handler.handle_update(
            update, application, check_result.check, context
        )
        self._move(update.effective_user.id, new_state, services(context).clock.now())

    def _move(self, user_id: int, new_state: object, now: datetime) -> None:
        if new_state == END:
            self._steps.pop(user_id, None)
            return
        current = self._steps.get(user_id)
        if new_state is None:  # the step stays where it is (a wrong answer, asked again)
            if current is not None:
                self._steps[user_id] = _Step(current.state, now)
            return
        if new_state not in self.states:
            raise ValueError(f"conversation {self.name!r} has no state {new_state!r}")
        self._steps[user_id] = _Step(new_state, now)


class Leaver(BaseHandler[Update, Context, None]):
    """Ends a member's conversation when they start something else, or when it went stale.

    Registered in a group before every other handler; it never consumes an update, except
    words typed into a conversation that timed out, which it answers itself."""

    def __init__(self, conversations: Sequence[Conversation], timeout: timedelta) -> None:
        super().__init__(_noop)
        self.conversations = list(conversations)
        self.timeout = timeout

    def check_update(self, update: object) -> list[Conversation] | None:
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        user_id = update.effective_user.id
        active = [c for c in self.conversations if c.step_of(user_id) is not None]
        return active or None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Context, Any, Any, Any, Any],
        check_result: object,
        context: Context,
    ) -> None:
        assert isinstance(check_result, list)
        assert update.effective_user is not None
        user_id = update.effective_user.id
        now = services(context).clock.now()
        stale = left = False
        for conversation in check_result:
            step = conversation.step_of(user_id)
            assert step is not None
            if now - step.touched_at > self.timeout:
                conversation.end(user_id, context.user_data)
                stale = True
            elif _leaves(update, conversation, user_id):
                conversation.end(user_id, context.user_data)
                left = True
        if stale and _is_plain_text(update):
            await _put_aside(update)
            raise ApplicationHandlerStop
        if left and _CANCEL.check_update(update):
            # /cancel's whole job is done: nothing else answers it.
            await _say_stopped(update, context)
            raise ApplicationHandlerStop


def _first_match(handlers: Handlers, update: Update) -> _Match | None:
    for handler in handlers:
        check = handler.check_update(update)
        if check is not None and check is not False:
            return _Match(handler, check)
    return None


_COMMAND = filters.COMMAND
_CANCEL = filters.Regex(r"^/cancel(@\w+)?(\s|$)")
_TEXT = filters.TEXT & ~filters.COMMAND


def _leaves(update: Update, conversation: Conversation, user_id: int) -> bool:
    """A command (/cancel among them), a main-menu tap, or a button that is not a step of
    this conversation: the member is doing something else. Typed words never leave: they
    are the step's answer, or they are asked to use the buttons."""
    if _COMMAND.check_update(update) or _menu().check_update(update):
        return True
    if update.callback_query is None or conversation.is_step(update, user_id):
        return False
    return not conversation.owns(update)  # an earlier step's button keeps the draft


@cache
def _menu() -> filters.BaseFilter:
    return menu_filter()


def _is_plain_text(update: Update) -> bool:
    return update.message is not None and bool(_TEXT.check_update(update))


def _takes_text(handlers: Handlers) -> bool:
    """Some handler of this step reads typed words (so typing is an answer, right or wrong)."""
    return any(isinstance(handler, MessageHandler) for handler in handlers)


async def _ask_for_a_button(update: Update, *, earlier: bool) -> None:
    assert update.effective_chat is not None
    key = "conversation.earlier_step" if earlier else "conversation.use_buttons"
    await update.effective_chat.send_message(t(key))


async def _say_stopped(update: Update, context: Context) -> None:
    """Stopped: the menu for members; for someone who was joining, that nothing was kept."""
    assert update.effective_chat is not None
    assert update.effective_user is not None
    if await members.by_telegram_id(services(context).db, update.effective_user.id) is None:
        await update.effective_chat.send_message(
            t("join.declined"), reply_markup=ReplyKeyboardRemove()
        )
        return
    await update.effective_chat.send_message(
        t("common.cancelled"), reply_markup=keyboards.main_menu()
    )


async def _put_aside(update: Update) -> None:
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        t("conversation.put_aside"), reply_markup=keyboards.main_menu()
    )
