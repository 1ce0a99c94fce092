"""Server-rendered SVG charts for the dashboard: no script, nothing fetched, readable without the colours.

Every bar segment carries a <title> (a tooltip, and text for screen readers); the chart has a <title> and a
<desc> summing it up, and the dashboard prints the same numbers as a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 30, 24
_MAX_X_LABELS = 8


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[int]
    color: str


def stacked_bars(
    *, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], width: int = 640, height: int = 220
) -> str:
    """One stacked bar per label (a day), one segment per series; returns SVG markup, all text escaped."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = nice_ceiling(max(totals, default=0))
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    slot = plot_w / max(len(labels), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="paperboy-chart" '
        f'id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(_describe(labels, series, totals))}</desc>',
        *_legend(series),
        *_grid(peak=peak, width=width, plot_h=plot_h),
    ]
    for i, label in enumerate(labels):
        x = _LEFT + i * slot + slot * 0.15
        y = float(_TOP + plot_h)
        for s in series:
            value = s.values[i]
            if not value:
                continue
            h = value / peak * plot_h
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{escape(s.color)}"><title>{escape(label)}: {value:,} {escape(s.name)}</title></rect>'
            )
    step = math.ceil(len(labels) / _MAX_X_LABELS) or 1
    for i in range(0, len(labels), step):
        x = _LEFT + (i + 0.5) * slot
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" font-size="11" fill="currentColor">'
            f"{escape(labels[i])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten not below `value` (at least 1): a round top for the axis."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= value)


def _grid(*, peak: int, width: int, plot_h: int) -> list[str]:
    lines = []
    # Whole numbers only: a top of 1 gets no middle line, a top of 5 gets none at 2.5.
    ticks = (0, peak // 2, peak) if peak % 2 == 0 else (0, peak)
    for value in ticks:
        y = _TOP + plot_h - value / peak * plot_h
        lines.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
            f'stroke-opacity="0.2"/><text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{value:,}</text>'
        )
    return lines


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], _LEFT
    for s in series:
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{escape(s.color)}"/>'
            f'<text x="{x + 16}" y="16" font-size="12" fill="currentColor">{escape(s.name)}</text>'
        )
        x += 28 + 7 * len(s.name)
    return parts


def _describe(labels: Sequence[str], series: Sequence[Series], totals: Sequence[int]) -> str:
    if not labels:
        return "No data."
    latest = ", ".join(f"{s.values[-1]:,} {s.name}" for s in series)
    return f"Per day from {labels[0]} to {labels[-1]}; {labels[-1]}: {totals[-1]:,} in all ({latest})."
