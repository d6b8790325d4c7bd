"""Server-drawn SVG charts for the printable pages: one horizontal bar chart, nothing fetched, no script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

GOOD, BAD, NEUTRAL = "#4a7", "#d84", "#889"
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the page prints it, beside the bar
    good: bool | None = None  # in band or on target (green), not (orange), nothing to judge (grey)
    target: float | None = None  # this bar's own target, marked across its row
    target_shown: str = ""  # the target as the page prints it, above its mark


def bar_chart(
    name: str,
    title: str,
    bars: Sequence[Bar],
    *,
    top: float,
    caption: str,
    band: tuple[float, float] | None = None,
    line: float | None = None,
    track: bool = False,
) -> str:
    """Bars from 0 to `top`, with an optional shaded band and a dashed line across all rows, or a track
    behind each bar (the whole scale, for shares); `name` is the chart's `data-chart` (what a test or a
    stylesheet finds it by). Every text is escaped here."""
    if not bars:
        return ""
    top = top or 1.0
    label_w, bar_w, bar_h = 160, 440, 14
    pad = 10 if any(b.target_shown for b in bars) else 0  # room above a bar for its target's label
    head = 22  # the chart's title, printed above the rows
    row_h = 22 + pad
    width, height = label_w + bar_w + 90, head + row_h * len(bars) + 30

    def x(v: float) -> float:
        return label_w + bar_w * max(v, 0.0) / top

    parts = [
        f'<svg class=chart data-chart="{escape(name)}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text class=heading x="0" y="14" font-weight="bold">{escape(title)}</text>'
    ]
    if band is not None:
        low, high = (x(v) for v in band)
        parts.append(
            f'<rect class=band x="{low:.1f}" y="{head}" width="{high - low:.1f}" '
            f'height="{height - 20 - head}" fill="#dfe9f5"/>'
        )
    values: list[str] = []
    for i, b in enumerate(bars):
        y = head + i * row_h + 4 + pad
        colour = NEUTRAL if b.good is None else GOOD if b.good else BAD
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(b.label)}</text>')
        if track:
            parts.append(
                f'<rect class=track x="{label_w}" y="{y}" width="{bar_w}" height="{bar_h}" fill="#eef0f3"/>'
            )
        parts.append(
            f'<rect class=bar x="{label_w}" y="{y}" width="{x(b.value) - label_w:.1f}" '
            f'height="{bar_h}" fill="{colour}"/>'
        )
        values.append(  # drawn last, with a white halo: readable over the band's edges and the line
            f'<text class=value x="{x(b.value) + 4:.1f}" y="{y + 13}" {HALO}>{escape(b.shown)}</text>'
        )
        if b.target is not None:
            mark = x(b.target)
            parts.append(
                f'<rect class=target x="{mark - 1:.1f}" y="{y - 3}" width="3" height="20" fill="#246"/>'
            )
            if b.target_shown:
                parts.append(
                    f'<text x="{mark:.1f}" y="{y - 5}" text-anchor="middle">{escape(b.target_shown)}</text>'
                )
    if band is not None:  # the band's edges again over the bars, so a long bar does not hide the band
        for edge in band:
            parts.append(
                f'<line class=band-edge x1="{x(edge):.1f}" y1="{head}" x2="{x(edge):.1f}" y2="{height - 20}" '
                'stroke="#7a9cc6" stroke-width="1.5"/>'
            )
    if line is not None:
        parts.append(
            f'<line x1="{x(line):.1f}" y1="{head}" x2="{x(line):.1f}" y2="{height - 20}" stroke="#246" '
            'stroke-dasharray="4 2"/>'
        )
    parts += values
    centre = x(line) if line is not None else label_w + bar_w / 2
    parts.append(
        f'<text x="{centre:.1f}" y="{height - 6}" text-anchor="middle">{escape(caption)}</text></svg>'
    )
    return "".join(parts)
