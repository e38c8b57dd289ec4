"""Charts as PNG bytes, drawn with matplotlib's Agg backend and no pyplot.

pyplot keeps global state (a current figure, a chosen backend) that is unsafe in a long-running
bot; a `Figure` with its own Agg canvas is a plain object that is dropped when done. matplotlib
is imported inside the function: it takes a while to import, and only /report needs it, so bot
start-up and every other command don't pay for it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.ui.render import day_words

# A phone screen: 6 x 3.6 inches at 150 dpi is 900 x 540 pixels, sharp and small (~20 kB).
SIZE_INCHES = (6.0, 3.6)
DPI = 150
BAR_COLOUR = "#2e7d6b"
# Up to this many weeks, bars are labelled with their Monday; beyond, by month and year.
LABEL_WEEKS_UP_TO = 26
MAX_LABELS = 7
# matplotlib does not promise thread safety (shared font and text caches), and callers draw
# in a worker thread to keep the event loop free: one chart at a time.
_DRAWING = threading.Lock()


def hours_chart_png(
    weeks: Sequence[tuple[date, int]],
    title: str,
    *,
    hours_label: str = "",
) -> bytes:
    """Bars of hours (minutes / 60) per week, one bar from each week's Monday; PNG bytes."""
    with _DRAWING:
        return _draw(weeks, title, hours_label)


def _draw(weeks: Sequence[tuple[date, int]], title: str, hours_label: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    # Any: matplotlib takes dates through its unit converters, which its type hints don't know.
    axes: Any = figure.add_subplot()
    days = [week for week, _ in weeks]
    values = [minutes / 60 for _, minutes in weeks]
    axes.bar(days, values, width=6, align="edge", color=BAR_COLOUR)
    if days:
        axes.set_xlim(days[0] - timedelta(days=1), days[-1] + timedelta(days=7))
    if len(days) <= LABEL_WEEKS_UP_TO:
        _label_mondays(axes, days)
    else:
        locator = AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_title(title)
    axes.set_ylabel(hours_label)
    # At least an hour high, so a quiet period shows flat bars rather than a 0.05 scale.
    axes.set_ylim(0, max(1.0, *values) * 1.1 if values else 1.0)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def _label_mondays(axes: Any, days: list[date]) -> None:
    """Label bars under their middle with their Monday ("2 Nov": the week from 2 Nov),
    every week or every few weeks so that at most MAX_LABELS fit on a phone."""
    step = max(1, -(-len(days) // MAX_LABELS))
    shown = days[::step]
    axes.set_xticks(
        [day + timedelta(days=3) for day in shown],
        [day_words(day, "time.day") for day in shown],
        fontsize="small",
    )
