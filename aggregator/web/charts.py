"""Bar charts as geometry for server-rendered SVG (pure): no script, no third-party request, a table beside each."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    left: int  # room for the value axis
    bottom: int  # room for the labels
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def nice_top(largest: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `largest` (at least 1)."""
    if largest <= 1:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= largest)


def bar_chart(labels: tuple[str, ...], values: tuple[int, ...], *, width: int = 560, height: int = 200) -> BarChart:
    """Bars for `values` under `labels`, scaled to a round top value with ticks at 0, half and the top."""
    left, bottom, top_pad = 48, 28, 8
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = nice_top(max(values, default=0))
    slot = plot_w / max(len(values), 1)
    bar_w = min(slot * 0.7, 48.0)  # one issue is a bar, not a wall
    bars = tuple(
        Bar(
            x=round(left + i * slot + (slot - bar_w) / 2, 1),
            y=round(top_pad + plot_h - plot_h * value / top, 1),
            width=round(bar_w, 1),
            height=round(plot_h * value / top, 1),
            label=label,
            value=value,
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    )
    ticks = tuple(Tick(round(top_pad + plot_h - plot_h * v / top, 1), v) for v in sorted({0, top // 2, top}))
    return BarChart(width, height, left, bottom, bars, ticks)
