"""The buttons of a visit's check-in, its alerts and "couldn't reach them", as pure functions
of ids and the catalogue (see handlers/checkins.py for the flow they drive)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import t
from bot.ui.keyboards import button
from storage.checkins import QUESTIONS


def how_did_it_go(visit_id: int) -> InlineKeyboardMarkup:
    """Under a visitor's prompt (and their referral card): tell how it went, or that they
    couldn't reach the patient."""
    return InlineKeyboardMarkup(
        [
            [button(t("checkin.how_did_it_go"), Callback(Area.CHECKIN, "start", visit_id))],
            [button(t("checkin.couldnt_reach"), Callback(Area.CHECKIN, "unreached", visit_id))],
        ]
    )


def yes_no(visit_id: int, question: str) -> InlineKeyboardMarkup:
    """Yes and No to one check-in question (its name is the button's action)."""
    assert question in QUESTIONS
    return InlineKeyboardMarkup(
        [
            [
                button(t("checkin.yes"), Callback(Area.CHECKIN, question, visit_id, "1")),
                button(t("checkin.no"), Callback(Area.CHECKIN, question, visit_id, "0")),
            ]
        ]
    )


def skip_note(visit_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(t("checkin.skip"), Callback(Area.CHECKIN, "skip", visit_id))]]
    )


def send(visit_id: int) -> InlineKeyboardMarkup:
    """Under the summary: send it, or answer again from the first question."""
    return InlineKeyboardMarkup(
        [
            [button(t("checkin.send"), Callback(Area.CHECKIN, "send", visit_id))],
            [button(t("checkin.again"), Callback(Area.CHECKIN, "start", visit_id))],
        ]
    )


def on_it(alert_id: int) -> InlineKeyboardMarkup:
    """Under an alert, for coordinators."""
    return InlineKeyboardMarkup(
        [[button(t("checkin.on_it"), Callback(Area.CHECKIN, "onit", alert_id))]]
    )


def reach_answer(visit_id: int) -> InlineKeyboardMarkup:
    """Under "your visitor couldn't reach you", for the patient."""
    return InlineKeyboardMarkup(
        [
            [button(t("checkin.reach_ok"), Callback(Area.CHECKIN, "ok", visit_id))],
            [button(t("checkin.reach_help"), Callback(Area.CHECKIN, "help", visit_id))],
        ]
    )
