"""Server-drawn SVG charts for the printable pages: one horizontal bar chart, nothing fetched, no script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

GOOD, BAD, NEUTRAL = "#4a7", "#d84", "#889"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the page prints it, beside the bar
    good: bool | None = None  # in band or on target (green), not (orange), nothing to judge (grey)
    target: float | None = None  # this bar's own target, marked across its row


def bar_chart(
    name: str,
    title: str,
    bars: Sequence[Bar],
    *,
    top: float,
    caption: str,
    band: tuple[float, float] | None = None,
    line: float | None = None,
) -> str:
    """Bars from 0 to `top`, with an optional shaded band and a dashed line across all rows; `name` is
    the chart's `data-chart` (what a test or a stylesheet finds it by). Every text is escaped here."""
    if not bars:
        return ""
    top = top or 1.0
    label_w, bar_w, row_h = 160, 440, 22
    width, height = label_w + bar_w + 90, row_h * len(bars) + 30

    def x(v: float) -> float:
        return label_w + bar_w * max(v, 0.0) / top

    parts = [
        f'<svg class=chart data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    if band is not None:
        low, high = (x(v) for v in band)
        parts.append(
            f'<rect class=band x="{low:.1f}" y="0" width="{high - low:.1f}" height="{height - 20}" '
            'fill="#dfe9f5"/>'
        )
    for i, b in enumerate(bars):
        y = i * row_h + 4
        colour = NEUTRAL if b.good is None else GOOD if b.good else BAD
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(b.label)}</text>')
        parts.append(
            f'<rect class=bar x="{label_w}" y="{y}" width="{x(b.value) - label_w:.1f}" '
            f'height="{row_h - 8}" fill="{colour}"/>'
        )
        parts.append(f'<text x="{x(b.value) + 4:.1f}" y="{y + 13}">{escape(b.shown)}</text>')
        if b.target is not None:
            parts.append(
                f'<rect class=target x="{x(b.target) - 1:.1f}" y="{y - 3}" width="3" height="{row_h - 2}" '
                'fill="#246"/>'
            )
    if line is not None:
        parts.append(
            f'<line x1="{x(line):.1f}" y1="0" x2="{x(line):.1f}" y2="{height - 20}" stroke="#246" '
            'stroke-dasharray="4 2"/>'
        )
    centre = x(line) if line is not None else label_w + bar_w / 2
    parts.append(
        f'<text x="{centre:.1f}" y="{height - 6}" text-anchor="middle">{escape(caption)}</text></svg>'
    )
    return "".join(parts)
