"""The territory plan as a printable page (`format=html`): server-rendered, self-contained (inline CSS and
an inline SVG chart, nothing fetched), in the report's order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from api.services.reports import EquityMetricsRead, TerritoryPlanRead

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; color: #222; margin: 2em auto; max-width: 64em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #999;
margin-top: 1.6em; } table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; } dl { display: grid; grid-template-columns: 16em 1fr; gap: .2em 1em; }
dt { font-weight: 600; } .flag { color: #a30; } svg text { font: 11px system-ui, sans-serif; }
@media print { body { margin: 0; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
"""


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.0%}"


def text(value: Any) -> str:
    return "" if value is None else escape(str(value))


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int] | None = None) -> str:
    """Cells are escaped here; pass numbers already formatted."""
    numeric = numeric or set()
    ths = "".join(f"<th{' class=n' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{text(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def tier_cells(tiers: dict[str, int]) -> list[int]:
    return [tiers.get(str(t), 0) for t in (1, 2, 3)]


def pairs(items: Iterable[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{text(v)}</dd>" for k, v in items) + "</dl>"


def potential_chart(metrics: EquityMetricsRead) -> str:
    """Potential per rep as bars against the balance band (mean +- band, shaded) and the mean (a line)."""
    reps = metrics.per_rep
    mean = metrics.average_potential_per_rep
    if not reps or not mean:
        return ""
    band = metrics.balance_band
    top = max(max(r.potential for r in reps), mean * (1 + band)) or 1.0
    label_w, bar_w, row_h = 160, 440, 22
    height = row_h * len(reps) + 30

    low, high = mean * (1 - band), mean * (1 + band)

    def x(v: float) -> float:
        return label_w + bar_w * v / top

    parts = [
        f'<svg role="img" width="{label_w + bar_w + 90}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 90} {height}">',
        f"<title>Potential per rep against the balance band (mean {money(mean)} +- {pct(band)})</title>",
        f'<rect x="{x(low):.1f}" y="0" width="{x(high) - x(low):.1f}" height="{height - 20}" '
        'fill="#dfe9f5"/>',
    ]
    for i, r in enumerate(reps):
        y = i * row_h + 4
        colour = "#4a7" if r.in_band else "#d84"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{text(r.rep_name or "none")}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{x(r.potential) - label_w:.1f}" height="{row_h - 8}" '
            f'fill="{colour}"/>'
        )
        parts.append(f'<text x="{x(r.potential) + 4:.1f}" y="{y + 13}">{money(r.potential)}</text>')
    parts.append(
        f'<line x1="{x(mean):.1f}" y1="0" x2="{x(mean):.1f}" y2="{height - 20}" stroke="#246" '
        f'stroke-dasharray="4 2"/>'
    )
    parts.append(
        f'<text x="{x(mean):.1f}" y="{height - 6}" text-anchor="middle">mean {money(mean)}, band '
        f"+-{pct(band)}</text></svg>"
    )
    return "".join(parts)


def territory_plan_page(report: TerritoryPlanRead) -> str:
    h, seg, cov, cap = report.header, report.segmentation, report.coverage_model, report.capacity
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Territory plan {text(h.planning_horizon)}</title><style>{STYLE}</style></head><body>",
        "<h1>Territory plan</h1>",
        pairs(
            [
                ("Prepared", h.prepared.isoformat()),
                ("Planning horizon", h.planning_horizon),
                ("Plan", h.plan_name or "no active plan"),
                ("Total sales team", f"{h.total_sales_team} reps"),
                ("Total addressable market", money(h.total_addressable_market)),
            ]
        ),
        "<h2>Market segmentation</h2>",
        table(
            [
                "Segment",
                "Accounts",
                "ICP fit",
                "Tier 1",
                "Tier 2",
                "Tier 3",
                "TAM",
                "Avg deal",
                "Win rate",
                "TAP",
            ],
            (
                [
                    s.segment or "unsegmented",
                    s.accounts,
                    s.icp_fit_accounts,
                    *tier_cells(s.tiers),
                    money(s.tam),
                    money(s.average_deal_size),
                    pct(s.win_rate),
                    money(s.tap),
                ]
                for s in seg.segments
            ),
            set(range(1, 10)),
        ),
        f"<p>{text(seg.note)}</p>",
        "<h2>Coverage model</h2>",
        table(
            ["Tier", f"Touches per sequence (across {cov.sequence_window_days} days)", "Coverage"],
            (
                [f"Tier {t}", f"{lo}-{hi}", "proactive" if int(t) <= cov.proactive_max_tier else "reactive"]
                for t, (lo, hi) in cov.tier_touches_per_sequence.items()
            ),
        ),
        table(
            ["Segment", "Visits a year", "Accounts per rep"],
            (
                [
                    name.replace("_", "-"),
                    "-".join(map(str, visits)),
                    "-".join(map(str, cov.accounts_per_rep[name])),
                ]
                for name, visits in cov.segment_visits_per_year.items()
            ),
        ),
        pairs(
            [
                ("Hours per touch", cov.hours_per_touch),
                (f"Needed ({cap.unit})", f"{cap.needed:,.1f}"),
                (f"Available ({cap.unit})", f"{cap.available:,.1f}"),
                (f"Shortfall ({cap.unit})", f"{cap.shortfall:,.1f}"),
            ]
        ),
        "<h2>Territory assignments</h2>",
    ]
    if report.assignments:
        out.append(
            table(
                [
                    "Territory",
                    "Rep",
                    "Backup",
                    "Tier 1",
                    "Tier 2",
                    "Tier 3",
                    "Quota",
                    "Potential",
                    "Weekly pipeline target",
                    "Meeting rate target",
                    "Next review",
                ],
                (
                    [
                        t.name,
                        t.owner.name if t.owner else "none",
                        t.backup.name if t.backup else "none",
                        *tier_cells(t.tiers),
                        money(t.quota),
                        money(t.potential),
                        money(t.weekly_pipeline_target),
                        pct(t.meeting_rate_target),
                        t.next_review_date.isoformat() if t.next_review_date else "",
                    ]
                    for t in report.assignments
                ),
                {3, 4, 5, 6, 7, 8, 9},
            )
        )
        out.append(
            table(
                ["Territory", "Boundary", "Tier 1 target activity", "Escalation policy"],
                (
                    [t.name, t.boundary_text, t.tier1_target_activity, t.escalation_policy or ""]
                    for t in report.assignments
                ),
            )
        )
    else:
        out.append("<p>No active plan: no territories to list.</p>")
    out.append("<h2>Equity metrics</h2>")
    m = report.equity_metrics
    if m is not None:
        high, low = m.highest_territory, m.lowest_territory
        out.append(
            pairs(
                [
                    ("Average quota per rep", money(m.average_quota_per_rep)),
                    (
                        "Quota range",
                        f"{money(m.quota_low)} - {money(m.quota_high)} (spread {pct(m.quota_spread)})",
                    ),
                    ("Average potential per rep", money(m.average_potential_per_rep)),
                    (
                        "Potential range",
                        f"{money(m.potential_low)} - {money(m.potential_high)} "
                        f"(spread {pct(m.potential_spread)})",
                    ),
                    (
                        "Highest territory",
                        f"{high.name}, {signed(high.potential_vs_mean)} vs mean" if high else "",
                    ),
                    (
                        "Lowest territory",
                        f"{low.name}, {signed(low.potential_vs_mean)} vs mean" if low else "",
                    ),
                    ("Rebalancing needed", "Yes" if m.rebalancing_needed else "No"),
                ]
            )
        )
        if m.actions:
            out.append("<ul>" + "".join(f"<li class=flag>{text(a)}</li>" for a in m.actions) + "</ul>")
        out.append(potential_chart(m))
    else:
        out.append("<p>No active plan: no equity to measure.</p>")
    sched = report.rebalancing_schedule
    out += [
        "<h2>Rebalancing schedule</h2>",
        f"<p>Cadence: {text(sched.cadence)}; the fiscal year starts in month "
        f"{sched.fiscal_year_start_month}.</p>",
        table(
            ["Period", "Review date", "Actions"],
            ([r.period, r.review_date.isoformat(), "; ".join(r.actions)] for r in sched.reviews),
        ),
        "</body></html>",
    ]
    return "".join(out)
