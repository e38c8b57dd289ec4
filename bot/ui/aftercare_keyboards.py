"""Buttons after a visit: confirming it, paying it forward, and the loneliness check.

The loneliness check's buttons carry the answers so far in their callback data (stage letter,
then one digit per answer: "f" asks the first question, "f21" the third), so it needs no
conversation state: a restart, or a day's pause between questions, loses nothing, and the
answers are kept only when the third is tapped (storage keeps them once per stage).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import t
from bot.ui.keyboards import button
from storage.aftercare import ANSWERS, QUESTIONS, STAGES

# A stage as one letter of callback data ("first" -> "f").
_LETTERS = {stage[0]: stage for stage in STAGES}
_DIGITS = {str(answer): answer for answer in ANSWERS}
ANSWER_KEYS = ("aftercare.hardly_ever", "aftercare.some_of_the_time", "aftercare.often")


def did_they_visit(visit_id: int) -> InlineKeyboardMarkup:
    """To the patient: Yes (confirms it) or No (a coordinator looks into it)."""
    return InlineKeyboardMarkup(
        [
            [
                button(t("aftercare.yes"), Callback(Area.AFTERCARE, "yes", visit_id)),
                button(t("aftercare.no"), Callback(Area.AFTERCARE, "no", visit_id)),
            ]
        ]
    )


def confirm_visit(visit_id: int) -> InlineKeyboardMarkup:
    """To coordinators, for a patient not on Telegram (or one who said it didn't happen)."""
    return InlineKeyboardMarkup(
        [[button(t("aftercare.confirm"), Callback(Area.AFTERCARE, "confirm", visit_id))]]
    )


def pay_forward(referral_id: int) -> InlineKeyboardMarkup:
    """Yes leads into visitor sign-up (the visitors part answers it); No is never asked again."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("aftercare.pay_forward_yes"),
                    Callback(Area.VISITOR, "signup", referral_id, "fwd"),
                )
            ],
            [button(t("aftercare.pay_forward_no"), Callback(Area.AFTERCARE, "fwdno", referral_id))],
        ]
    )


def loneliness_offer(referral_id: int, stage: str) -> InlineKeyboardMarkup:
    so_far = pack_answers(stage, ())
    return InlineKeyboardMarkup(
        [
            [
                button(t("aftercare.ok"), Callback(Area.AFTERCARE, "lonely", referral_id, so_far)),
                button(
                    t("aftercare.not_now"), Callback(Area.AFTERCARE, "notnow", referral_id, so_far)
                ),
            ]
        ]
    )


def loneliness_answers(
    referral_id: int, stage: str, so_far: tuple[int, ...]
) -> InlineKeyboardMarkup:
    """The three answers to the next question, each carrying the answers before it."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t(key),
                    Callback(
                        Area.AFTERCARE, "lonely", referral_id, pack_answers(stage, (*so_far, value))
                    ),
                )
            ]
            for key, value in zip(ANSWER_KEYS, ANSWERS, strict=True)
        ]
    )


def pack_answers(stage: str, answers: tuple[int, ...]) -> str:
    return stage[0] + "".join(str(answer) for answer in answers)


def unpack_answers(arg: str) -> tuple[str, tuple[int, ...]] | None:
    """The stage and answers a button carries, or None for data no button of ours had."""
    stage = _LETTERS.get(arg[:1])
    digits = arg[1:]
    if stage is None or len(digits) > len(QUESTIONS) or not set(digits) <= _DIGITS.keys():
        return None
    return stage, tuple(_DIGITS[digit] for digit in digits)
