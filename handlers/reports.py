"""Coordinators' figures: /report for a period (a short text and a chart), /export as CSV.

    /report ─▶ "This month" · "Last 3 months" · "All time" ─▶ the figures, then the chart
    /export ─▶ one CSV file per table, members' private details left out (and audited)

Both are behind `for_coordinators`, the period button behind `on_coordinator_button`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from telegram import Chat, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.charts import hours_chart_png
from bot.ui.i18n import Html, hours, number, t, tn
from bot.ui.render import day_words
from handlers.common import Context, for_coordinators, on_coordinator_button, reply, show_busy
from storage import export, reports, visit_figures
from storage.models import Member
from storage.reports import JoinSource, PartnerFigures, Report, Span
from storage.visit_figures import VisitFigures
from storage.visit_rules import VisitRules

# The join sources a report names, most members first.
MAX_SOURCES = 5
# Callback arg -> (label key, period helper). The arg is what `rp:period:0:ARG` carries.
PERIODS: dict[str, tuple[str, Callable[[datetime, tzinfo], Span]]] = {
    "month": ("report.this_month", reports.this_month),
    "three": ("report.last_three_months", reports.last_three_months),
    "all": ("report.all_time", reports.all_time),
}


@for_coordinators
async def cmd_report(update: Update, context: Context, member: Member) -> None:
    """/report: ask which period, with one button each."""
    choices = [(arg, label) for arg, (label, _) in PERIODS.items()]
    await reply(update, t("report.choose"), keyboards.report_periods(choices))


@on_coordinator_button
async def cb_report_period(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """Send the period's figures as text, then its hours per week as a chart."""
    period = PERIODS.get(callback.arg)
    if period is None:
        await reply(update, t("errors.gone"))
        return
    label_key, span = period
    svc = services(context)
    start, end = span(svc.clock.now(), svc.config.zone)
    found = await reports.figures(svc.db, start=start, end=end, rules=svc.visits)
    await reply(update, report_text(found.report, t(label_key), svc.config.zone))
    if found.visits.any:
        await reply(update, visit_figures_text(found.visits, svc.visits))
    if found.partners.any:
        await reply(update, partner_figures_text(found.report, found.partners))
    chat = _chat(update)
    await show_busy(chat, ChatAction.UPLOAD_PHOTO)
    # Drawing takes a moment (longer the first time, while matplotlib loads): off the loop.
    png = await asyncio.to_thread(
        hours_chart_png, found.weeks, t("report.chart_title"), hours_label=t("report.chart_hours")
    )
    await chat.send_photo(png, caption=t("report.chart_caption", period=t(label_key)))


@for_coordinators
async def cmd_export(update: Update, context: Context, member: Member) -> None:
    """/export: the exchanges, the ledger and members (no private details) as CSV files."""
    svc = services(context)
    now = svc.clock.now()
    day = now.astimezone(svc.config.zone).date()
    files = await export.export_for(svc.db, by=member.id, now=now, suffix=f"-{day.isoformat()}")
    await reply(update, t("export.intro"))
    chat = _chat(update)
    for name, data in files.items():
        await chat.send_document(data, filename=name)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CommandHandler("report", cmd_report),
        CommandHandler("export", cmd_export),
        CallbackQueryHandler(cb_report_period, pattern=pattern(Area.REPORT, "period")),
    ]


# --- pure rendering, testable without Telegram ------------------------------------------


def report_text(report: Report, period: str, zone: tzinfo) -> Html:
    """The figures, one short line each; lines with nothing to say yet are left out."""
    since = _day(report.start, zone) if report.start else t("report.the_start")
    lines = [
        t("report.title", period=period, since=since, until=_day(report.end, zone)),
        t("report.hours", hours=hours(report.minutes)),
        t("report.exchanges", count=report.exchanges),
        t("report.active", count=report.active_members),
    ]
    if report.reciprocity is not None:
        lines.append(t("report.reciprocity", percent=f"{round(report.reciprocity * 100)}%"))
    lines += [
        t("report.ties", count=report.ties),
        t("report.new", count=report.new_members),
        _first_response_line(report.median_first_response),
    ]
    if report.peer_visits is not None:
        lines.append(t("report.peer_visits", count=report.peer_visits))
    return Html("\n".join(lines))


def visit_figures_text(figures: VisitFigures, rules: VisitRules) -> Html:
    """Peer visits in the period, a second short block: how soon, how safe, what came of it."""
    lines = [t("referral.figures_title"), t("referral.figures_referrals", count=figures.referrals)]
    if figures.median_to_first_visit is not None:
        wait = wait_text(figures.median_to_first_visit)
        lines.append(t("referral.figures_first_visit", wait=wait))
    if figures.within_target is not None:
        target = int(rules.first_visit_target.total_seconds() // 3600)
        lines.append(
            t("referral.figures_within", hours=target, percent=_percent(figures.within_target))
        )
    lines.append(t("referral.figures_visits_done", count=figures.visits_done))
    lines.append(t("referral.figures_worries", count=figures.worries))
    if figures.median_to_acknowledge is not None:
        wait = wait_text(figures.median_to_acknowledge)
        lines.append(t("referral.figures_acknowledged", wait=wait))
    if figures.pay_forward_rate is not None:
        lines.append(
            t(
                "referral.figures_pay_forward",
                paid=figures.paid_forward,
                asked=figures.asked_to_pay_forward,
                percent=_percent(figures.pay_forward_rate),
            )
        )
    lines.append(t("referral.figures_readmissions", count=figures.readmissions))
    if figures.loneliness_change is None:
        lines.append(tn("referral.figures_loneliness_few", visit_figures.MIN_PEOPLE))
    else:
        change = figures.loneliness_change
        sign = "−" if change < 0 else "+"
        shown = f"{sign}{number(round(abs(change), 1))}"
        lines.append(tn("referral.figures_loneliness", figures.loneliness_people, change=shown))
    return Html("\n".join(lines))


def partner_figures_text(report: Report, figures: PartnerFigures) -> Html:
    """Organisations and partners in the period, a block of its own: hours between members,
    given to organisations and spent with them; each organisation's balance, flows and
    activities; how new members came."""
    lines = [
        t("report.partners_title"),
        t("report.between_members", hours=hours(report.between_members)),
        t("report.given_to_organisations", hours=hours(figures.given_to_organisations)),
    ]
    if figures.at_timebank_activities:
        lines.append(
            t("report.at_timebank_activities", hours=hours(figures.at_timebank_activities))
        )
    lines.append(t("report.spent_with_partners", hours=hours(figures.spent_with_partners)))
    for flow in figures.organisations:
        name = flow.name if flow.name is not None else t("report.the_timebank")
        if flow.organisation_id is not None:
            lines.append(
                t(
                    "report.organisation",
                    name=name,
                    balance=hours(flow.balance),
                    came_in=hours(flow.came_in),
                    went_out=hours(flow.went_out),
                )
            )
        else:
            lines.append(Html(f"<b>{name}</b>"))
        if flow.activities:
            lines.append(
                t("report.activities", count=flow.activities, signed=flow.signed_up, came=flow.came)
            )
    if figures.joined:
        lines.append(t("report.joined_title"))
        lines += [
            t("report.joined_line", source=_join_source(joined), count=joined.count)
            for joined in figures.joined[:MAX_SOURCES]
        ]
    return Html("\n".join(lines))


def _join_source(joined: JoinSource) -> str:
    if joined.activity_title is not None:
        return t("report.joined_activity", title=joined.activity_title)
    return joined.source or t("report.joined_directly")


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def wait_text(wait: timedelta) -> Html:
    """A wait as people say it: "40 min", "2¼ hours", "3.5 days"."""
    minutes = round(wait.total_seconds() / 60)
    if minutes < 60:
        return t("report.wait_minutes", minutes=minutes)
    if minutes < 48 * 60:
        return hours(round(minutes / 15) * 15)
    return t("report.wait_days", days=f"{round(minutes / (24 * 60), 1):g}")


def _first_response_line(wait: timedelta | None) -> Html:
    if wait is None:
        return t("report.no_first_response")
    return t("report.first_response", wait=wait_text(wait))


def _day(moment: datetime, zone: tzinfo) -> str:
    return day_words(moment.astimezone(zone).date(), "time.day_year")


def _chat(update: Update) -> Chat:
    chat = update.effective_chat
    assert chat is not None
    return chat
