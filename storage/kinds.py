"""The names the rooms share, as StrEnums: exchange states, outbox kinds and outbox states.

Each is matched by the schema (tests/test_contracts.py compares them): states by a CHECK,
outbox kinds by the rows of outbox_kinds, which outbox.kind references. So a misspelt state or
a kind nobody renders fails a test or an INSERT, never a send. They are
strings, so SQL parameters and stored rows need no conversion.
"""

from __future__ import annotations

from enum import StrEnum


class ExchangeState(StrEnum):
    """agreed -> proposed -> confirmed | held | disputed; agreed -> cancelled ("It didn't
    happen"); proposed -> disputed (it didn't happen, yet hours were proposed); held and
    disputed wait for a coordinator, who may settle any exchange, a cancelled one too."""

    AGREED = "agreed"
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    HELD = "held"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"


# Exchanges still under way: nothing credited yet, and someone waits on someone.
OPEN_STATES = (
    ExchangeState.AGREED,
    ExchangeState.PROPOSED,
    ExchangeState.HELD,
    ExchangeState.DISPUTED,
)


class LedgerKind(StrEnum):
    """Why hours moved; matched by the rows of ledger_kinds, which ledger_transactions.kind
    references. activity and spend transactions name their activity or spend."""

    EXCHANGE = "exchange"  # a member confirmed help between two parties
    COORDINATOR = "coordinator"  # a coordinator recorded or settled it
    CORRECTION = "correction"
    VISIT = "visit"  # a peer visit, from the community account
    ACTIVITY = "activity"  # a group activity's roll call: helpers credited, participants charged
    SPEND = "spend"  # a member spent hours on a partner organisation's offer


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by the sender, under a lease
    SENT = "sent"
    BLOCKED = "blocked"  # Telegram said the member blocked the bot, or is gone
    FAILED = "failed"
    SKIPPED = "skipped"  # no longer applies, expired, or a stopped broadcast


class OutboxKind(StrEnum):
    """What an outbox row tells whom; bot/outbound/notices.py renders each when it is sent."""

    RESPONSE_NEW = "response_new"
    RESPONSE_ACCEPTED = "response_accepted"
    RESPONSE_DECLINED = "response_declined"
    EXCHANGE_PROPOSED = "exchange_proposed"
    EXCHANGE_CONFIRMED = "exchange_confirmed"
    EXCHANGE_APPROVED = "exchange_approved"
    EXCHANGE_HELD = "exchange_held"
    EXCHANGE_HELD_PARTY = "exchange_held_party"
    EXCHANGE_DISPUTED = "exchange_disputed"
    EXCHANGE_DISPUTED_PARTY = "exchange_disputed_party"
    EXCHANGE_CANCELLED = "exchange_cancelled"
    EXCHANGE_TIME_SET = "exchange_time_set"
    EXCHANGE_RECORDED = "exchange_recorded"
    EXCHANGE_SETTLED = "exchange_settled"
    NUDGE_FIRST_POST = "nudge_first_post"
    NUDGE_UNCONFIRMED = "nudge_unconfirmed"
    NUDGE_CONFIRM_WAITING = "nudge_confirm_waiting"
    COORDINATOR_CONFIRM_STUCK = "coordinator_confirm_stuck"
    NEED_STILL_OPEN = "need_still_open"
    NEED_MATCH = "need_match"
    REMINDER_DAY_BEFORE = "reminder_day_before"
    REMINDER_HOUR_BEFORE = "reminder_hour_before"
    BROADCAST = "broadcast"
    BROADCAST_REPORT = "broadcast_report"
    MEMBER_APPLIED = "member_applied"
    MEMBER_ACTIVE = "member_active"
    MEMBER_DECLINED = "member_declined"
    ROLE_PROMOTED = "role_promoted"
    ROLE_DEMOTED = "role_demoted"
    MEMBER_REPORTED = "member_reported"  # to each coordinator: someone reported a member
    MEMBER_PAUSED = "member_paused"
    MEMBER_RESUMED = "member_resumed"
    PARTNER_LEFT = "partner_left"  # to the other party of an exchange /forget cancelled
    MEMBER_LEFT = "member_left"  # to each coordinator: someone left (never who, or why)
    # Peer visits, matching (storage/matching.py): ref_id is the referral's id, or the visit's.
    VISIT_OFFER = "visit_offer"  # to a visitor: would you visit? (args: offer)
    VISIT_MATCHED = "visit_matched"  # to the patient: who is coming, and the code word
    VISIT_MATCHED_COORDINATOR = "visit_matched_coordinator"  # to pass on, patient off Telegram
    VISIT_UNMATCHED = "visit_unmatched"  # to each coordinator: nobody accepted by the deadline
    VISIT_TIME_SET = "visit_time_set"  # to the patient: when the visitor comes (ref: visit)
    VISIT_REMINDER = "visit_reminder"  # the day and the hour before a visit (ref: visit)
    VISIT_WITHDRAWN = "visit_withdrawn"  # to the visitor: the visit is no longer needed
    VISIT_VISITOR_LEFT = "visit_visitor_left"  # to the patient: we're finding someone else
    # Aftercare (peer visits, after a visit is done): ref_id a visit, or a referral.
    VISIT_CONFIRM_PATIENT = "visit_confirm_patient"  # to the patient: did they visit you?
    VISIT_CONFIRM_COORDINATOR = "visit_confirm_coordinator"  # a patient not on Telegram
    VISIT_DENIED = "visit_denied"  # to each coordinator: the patient says it didn't happen
    VISIT_CREDITED = "visit_credited"  # to the visitor: thanks, and their balance
    FIRST_VISIT_DONE = "first_visit_done"  # to the ward's coordinator (ref: the referral)
    PAY_FORWARD_ASK = "pay_forward_ask"  # to the patient, weeks later (ref: the referral)
    LONELINESS_OFFER = "loneliness_offer"  # to the patient (ref: the referral; args: stage)
    # check-ins (peer visits): ref_id is the visit's id, or the alert's for CHECKIN_ALERT
    CHECKIN_PROMPT = "checkin_prompt"  # to the visitor: how did the visit (or follow-up) go?
    CHECKIN_ALERT = "checkin_alert"  # to each coordinator: a worry, or a patient unreached
    CHECKIN_REACH = "checkin_reach"  # to the patient: your visitor couldn't reach you, OK?
    CHECKIN_COME_AGAIN = "checkin_come_again"  # to the visitor: they're OK, pick a new time
    # Visitors (peer visits): ref_id is the visitor's member id in each.
    VISITOR_APPLIED = "visitor_applied"  # to each coordinator: someone offered to visit
    VISITOR_APPROVED = "visitor_approved"  # to the visitor: checked, briefed and approved
    VISITOR_DECLINED = "visitor_declined"
    VISITOR_CHECKED = "visitor_checked"  # to the visitor: a new check was recorded
    VISITOR_PAUSED = "visitor_paused"
    VISITOR_RESUMED = "visitor_resumed"
    VISITOR_RETIRED = "visitor_retired"
    VISITOR_CHECK_EXPIRING = "visitor_check_expiring"  # to visitor and coordinators, ahead
    VISITOR_CHECK_EXPIRED = "visitor_check_expired"  # on the day: no referrals until renewed
    # referrals (peer visits): the accepted visitor hears a coordinator closed the referral
    REFERRAL_CLOSED = "referral_closed"
    # organisations: ref_id is the organisation's id
    ORGANISATION_MEMBER_ADDED = "organisation_member_added"  # to the member: you act for it now
    ORGANISATION_MEMBER_REMOVED = "organisation_member_removed"  # to the member: no longer
    # Group activities (storage/activities.py): ref_id a signup's id, or the activity's.
    ACTIVITY_REMINDER = "activity_reminder"  # the day and the hour before (ref: signup)
    ACTIVITY_OFFERED = "activity_offered"  # a place came free: Take it / No thanks (ref: signup)
    ACTIVITY_ROLL_CALL = "activity_roll_call"  # to each organiser: who came? (ref: activity)
    ACTIVITY_THANKS = "activity_thanks"  # credited (or charged), and their balance (ref: activity)
    ACTIVITY_CALLED_OFF = "activity_called_off"  # an organiser called it off (ref: signup)
    # Spending hours with partners (storage/partners.py): ref_id is the spend's id.
    SPEND_ASKED = "spend_asked"  # to each member acting for the organisation: confirm or can't
    SPEND_CONFIRMED = "spend_confirmed"  # to the member: done, and their new balance
    SPEND_DECLINED = "spend_declined"  # to the member, kindly: not this time


# Kinds that obey a member's nudge settings, quiet hours and digest; the other kinds are
# direct notices (someone answered you) and go out at once.
NUDGE_KINDS = frozenset(
    {
        OutboxKind.NUDGE_FIRST_POST,
        OutboxKind.NUDGE_UNCONFIRMED,
        OutboxKind.NUDGE_CONFIRM_WAITING,
        OutboxKind.COORDINATOR_CONFIRM_STUCK,
        OutboxKind.NEED_STILL_OPEN,
        OutboxKind.NEED_MATCH,
        OutboxKind.REMINDER_DAY_BEFORE,
        OutboxKind.REMINDER_HOUR_BEFORE,
        OutboxKind.VISIT_REMINDER,
        OutboxKind.ACTIVITY_REMINDER,
    }
)

# Kinds only the scheduler's full pass sends: nudges wait for their policy, and a broadcast of
# thousands must never hold up a member's own notices.
SCHEDULED_KINDS = NUDGE_KINDS | {OutboxKind.BROADCAST}
# Nudges a member was promised at a time they chose ("I'll remind you an hour before"): quiet
# hours or the daily digest may hold them back, but never past the time they are about.
PROMISED_KINDS = frozenset(
    {
        OutboxKind.REMINDER_DAY_BEFORE,
        OutboxKind.REMINDER_HOUR_BEFORE,
        OutboxKind.VISIT_REMINDER,
        OutboxKind.ACTIVITY_REMINDER,
    }
)

# Kinds whose ref_id is a member's id (the one who joined, applied, was promoted…), not a row
# of their own: /forget deletes these as well as every row addressed to the member.
MEMBER_REF_KINDS = frozenset(
    {
        OutboxKind.NUDGE_FIRST_POST,
        OutboxKind.MEMBER_APPLIED,
        OutboxKind.MEMBER_ACTIVE,
        OutboxKind.MEMBER_DECLINED,
        OutboxKind.ROLE_PROMOTED,
        OutboxKind.ROLE_DEMOTED,
        OutboxKind.VISITOR_APPLIED,
        OutboxKind.VISITOR_APPROVED,
        OutboxKind.VISITOR_DECLINED,
        OutboxKind.VISITOR_CHECKED,
        OutboxKind.VISITOR_PAUSED,
        OutboxKind.VISITOR_RESUMED,
        OutboxKind.VISITOR_RETIRED,
        OutboxKind.VISITOR_CHECK_EXPIRING,
        OutboxKind.VISITOR_CHECK_EXPIRED,
    }
)
