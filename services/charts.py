"""Bar charts drawn on the server as SVG: the geometry is computed here, the template
(templates/admin/_charts.html) only writes the rectangles. No JavaScript, no CDN, and
nothing for the strict CSP to refuse (SVG presentation attributes, CSS classes).

Pure functions over plain values: unit-tested in tests/unit/test_charts.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    negative: bool = False


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    baseline: float  #: y of the zero line (columns) or x of it (horizontal bars)
    max_value: int
    min_value: int


def columns(values: list[tuple[str, int]], width: int = 720, height: int = 240, gap: float = 0.2,
            top: float = 10, bottom: float = 10) -> Chart:
    """Vertical bars, one per (label, value), left to right, scaled so that the largest
    magnitude fills the plot; negative values hang below the zero line."""
    high = max([0] + [v for _, v in values])
    low = min([0] + [v for _, v in values])
    plot = height - top - bottom
    span = high - low
    baseline = top + (plot * high / span if span else plot)
    slot = width / len(values) if values else width
    bars = []
    for i, (label, value) in enumerate(values):
        size = plot * abs(value) / span if span else 0.0
        y = baseline - size if value >= 0 else baseline
        bars.append(Bar(x=round(i * slot + slot * gap / 2, 2), y=round(y, 2), width=round(slot * (1 - gap), 2),
                        height=round(size, 2), label=label, value=value, negative=value < 0))
    return Chart(width, height, bars, round(baseline, 2), high, low)


def rows(values: list[tuple[str, int]], width: int = 480, bar_height: int = 24, gap: int = 8,
         left: int = 0) -> Chart:
    """Horizontal bars, one per (label, value), top to bottom, from ``left``; negative
    values count as zero (a breakdown of revenue has no negative share)."""
    high = max([0] + [v for _, v in values])
    plot = width - left
    bars = [Bar(x=left, y=i * (bar_height + gap), width=round(plot * max(value, 0) / high, 2) if high else 0.0,
                height=bar_height, label=label, value=value)
            for i, (label, value) in enumerate(values)]
    return Chart(width, max(len(values) * (bar_height + gap) - gap, 0), bars, left, high, 0)
