"""Charts for the HTML report, drawn as inline SVG with matplotlib's object API.

Never pyplot: a :class:`~matplotlib.figure.Figure` is made, drawn and dropped,
with no global figure state. The SVG is deterministic (fixed id salt, no date),
so the same analysis gives the same bytes, and text stays text (matplotlib
escapes it), so a span value cannot add markup to the page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from perfkit.reports import _format as fmt
from perfkit.reports._view import EndpointRow

_RC: dict[Any, Any] = {
    "svg.hashsalt": "perfkit",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 10,
}
_BAR = "#4a7ab8"
_WHISKER = "#1f2d3d"
_LABEL_CHARS = 48


def p95_chart(rows: Sequence[EndpointRow]) -> str | None:
    """A horizontal bar per endpoint: its p95, whiskers for the 95% CI.

    Returns the ``<svg>`` element as text, or None when no row has a p95.
    """
    rows = [row for row in rows if row.p95_ms is not None]
    if not rows:
        return None
    with mpl.rc_context(_RC):
        figure = _draw(rows)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _draw(rows: Sequence[EndpointRow]) -> Figure:
    p95 = [row.p95_ms or 0.0 for row in rows]
    low = [
        p - (row.p95_ci_low_ms if row.p95_ci_low_ms is not None else p)
        for p, row in zip(p95, rows, strict=True)
    ]
    high = [
        (row.p95_ci_high_ms if row.p95_ci_high_ms is not None else p) - p
        for p, row in zip(p95, rows, strict=True)
    ]
    positions = range(len(rows))

    figure = Figure(figsize=(11, 0.42 * len(rows) + 1.0), layout="constrained")
    axes = figure.add_subplot()
    axes.barh(
        positions,
        p95,
        xerr=[[max(v, 0.0) for v in low], [max(v, 0.0) for v in high]],
        color=_BAR,
        error_kw={"ecolor": _WHISKER, "capsize": 4, "elinewidth": 1.2},
    )

    # Worst first, at the top, like the table beside it.
    axes.set_yticks(list(positions), [_label(row) for row in rows])
    axes.invert_yaxis()
    for position, value, extra in zip(positions, p95, high, strict=True):
        axes.annotate(
            fmt.ms(value),
            (value + max(extra, 0.0), position),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    in_seconds = max(p + h for p, h in zip(p95, high, strict=True)) >= 2000
    axes.xaxis.set_major_formatter(FuncFormatter(_seconds if in_seconds else _millis))
    axes.set_xlabel("p95 latency; whiskers: 95% confidence interval")
    axes.margins(x=0.15)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    return figure


def _label(row: EndpointRow) -> str:
    label = row.endpoint
    if len(label) > _LABEL_CHARS:
        label = label[: _LABEL_CHARS - 1] + "…"
    return label


def _seconds(value: float, _position: int | None = None) -> str:
    return f"{value / 1000:g} s"


def _millis(value: float, _position: int | None = None) -> str:
    return f"{value:g} ms"
