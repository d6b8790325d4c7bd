"""The territory plan and the coverage review as printable pages (`format=html`): server-rendered,
self-contained (inline CSS and inline SVG charts, nothing fetched, no script), in the reports' order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from api.rest.svg import Bar, bar_chart
from api.services.reports import CoverageReviewRead, EquityMetricsRead, TerritoryPlanRead

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; color: #222; margin: 2em auto; max-width: 64em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h3 { font-size: 1em; margin: 1em 0 .2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; } dl { display: grid; grid-template-columns: 16em 1fr; gap: .2em 1em; }
dt { font-weight: 600; } .flag { color: #a30; } svg text { font: 11px system-ui, sans-serif; }
svg { max-width: 100%; height: auto; } .table { overflow-x: auto; } th { overflow-wrap: normal; }
@page { margin: 1.5cm; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2, h3 { break-after: avoid; }
  table { font-size: 8pt; } th, td { padding: .15em .3em; } .table { overflow: visible; }
  tr, svg, dl { break-inside: avoid; } thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
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
    return f"<div class=table><table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>"


def page_start(heading: str, subtitle: Any) -> str:
    """The head of a page (its title says which report and of what) and its heading."""
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(heading)} {text(subtitle)}"
        f"</title><style>{STYLE}</style></head><body><h1>{escape(heading)}</h1>"
    )


def tier_cells(tiers: dict[str, int]) -> list[int]:
    return [tiers.get(str(t), 0) for t in (1, 2, 3)]


def pairs(items: Iterable[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{text(v)}</dd>" for k, v in items) + "</dl>"


def potential_chart(metrics: EquityMetricsRead) -> str:
    """Potential per rep as bars against the balance band (mean +- band, shaded) and the mean (a line)."""
    reps, mean, band = metrics.per_rep, metrics.average_potential_per_rep, metrics.balance_band
    if not reps or not mean:
        return ""
    low, high = mean * (1 - band), mean * (1 + band)
    return bar_chart(
        "potential",
        f"Potential per rep against the balance band (mean {money(mean)} ± {pct(band)})",
        [Bar(r.rep_name or "none", r.potential, money(r.potential), r.in_band) for r in reps],
        top=max(max(r.potential for r in reps), high),
        caption=f"mean {money(mean)}, band ±{pct(band)}",
        band=(low, high),
        line=mean,
    )


def territory_plan_page(report: TerritoryPlanRead) -> str:
    h, seg, cov, cap = report.header, report.segmentation, report.coverage_model, report.capacity
    out = [
        page_start("Territory plan", h.planning_horizon),
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


def coverage_chart(report: CoverageReviewRead) -> str:
    """The covered share of each tier as a bar, with the tier's target marked across its row."""
    targets = ", ".join(f"tier {t.tier} {pct(t.target)}" for t in report.coverage_by_tier if t.target)
    return bar_chart(
        "coverage",
        f"Covered share by tier against the tier's target ({targets})",
        [
            Bar(
                f"Tier {t.tier}",
                t.rate or 0.0,
                f"{pct(t.rate)} ({t.covered} of {t.accounts})" if t.accounts else "no accounts",
                t.meets_target,
                t.target,
                f"target {pct(t.target)}" if t.target is not None else "",
            )
            for t in report.coverage_by_tier
        ],
        top=1.0,
        track=True,
        caption=f"covered share of each tier, 0-100%; the mark is its target ({targets or 'none'})",
    )


def words(name: str) -> str:
    return name.replace("_", " ")


def coverage_review_page(report: CoverageReviewRead) -> str:
    rules = list(report.coverage_by_tier[0].failing) if report.coverage_by_tier else []  # the rules' order
    lists = list(report.coverage_by_rep[0].lists) if report.coverage_by_rep else []
    out = [
        page_start("Coverage review", report.as_of.date()),
        pairs(
            [
                ("As of", f"{report.as_of:%Y-%m-%d %H:%M} UTC"),
                ("Role", report.role),
                ("Settings version", report.settings_version),
                *(
                    (f"Tier {t.tier} target (coverage.tier{t.tier}_target)", pct(t.target))
                    for t in report.coverage_by_tier
                    if t.target is not None
                ),
                ("Expansion managed window", f"{report.expansion_pipeline.managed_window_days} days"),
            ]
        ),
        "<p>Covered: a meaningful touch in the coverage window, a next step on the latest activity and a "
        "named contact in the same window; the failing columns count the accounts each rule fails.</p>",
        "<h2>Territory overview</h2>",
        table(["Accounts", "Count"], ([words(k), v] for k, v in report.overview.items()), {1}),
        "<h2>Coverage by tier</h2>",
        coverage_chart(report),
        table(
            ["Tier", "Accounts", "Covered", "Coverage", "Target", "On target", *map(words, rules)],
            (
                [
                    f"Tier {t.tier}",
                    t.accounts,
                    t.covered,
                    pct(t.rate),
                    pct(t.target) if t.target is not None else "none",
                    "" if t.meets_target is None else "yes" if t.meets_target else "no",
                    *(t.failing.get(code, 0) for code in rules),
                ]
                for t in report.coverage_by_tier
            ),
            {1, 2, 3, 4, *range(6, 6 + len(rules))},
        ),
        "<h2>Coverage by rep</h2>",
    ]
    if report.coverage_by_rep:
        stages = list(report.coverage_by_rep[0].by_stage)
        out.append(
            table(
                ["Rep", "Accounts", "Covered", "Coverage", "Tier 1", "Tier 2", "Tier 3", *map(words, stages)],
                (
                    [
                        r.rep_name or "no owner",
                        r.accounts,
                        r.covered,
                        pct(r.coverage_rate),
                        *tier_cells(r.by_tier),
                        *(r.by_stage.get(s, 0) for s in stages),
                    ]
                    for r in report.coverage_by_rep
                ),
                set(range(1, 7 + len(stages))),
            )
        )
        out.append(
            table(
                ["Rep (accounts on each review list)", *map(words, lists)],
                (
                    [r.rep_name or "no owner", *(r.lists.get(n, 0) for n in lists)]
                    for r in report.coverage_by_rep
                ),
                set(range(1, 1 + len(lists))),
            )
        )
    else:
        out.append("<p>No accounts in scope.</p>")
    out.append("<h2>Monthly review questions</h2>")
    for q in report.monthly_questions:
        out.append(f"<h3>{text(words(q.name))}: {q.count}</h3><p>{text(q.why)}</p>")
        if q.accounts:
            out.append(
                table(
                    ["Account", "External id", "Stage", "Tier", "Potential", "Rep"],
                    (
                        [a.name, a.external_id, a.stage, a.tier, money(a.potential), a.rep_name or "no owner"]
                        for a in q.accounts
                    ),
                    {3, 4},
                )
            )
    exp = report.expansion_pipeline
    out += [
        "<h2>Expansion pipeline</h2>",
        pairs(
            [
                ("Customers with an expansion estimate", exp.accounts),
                ("Expansion surface", money(exp.expansion_estimate)),
            ]
        ),
    ]
    if exp.top:
        out.append(
            table(
                [
                    "Account",
                    "Rep",
                    "Expansion estimate",
                    "Open pipeline",
                    "Last worked",
                    "By",
                    f"Managed (worked in {exp.managed_window_days} days)",
                ],
                (
                    [
                        a.name,
                        a.rep_name or "no owner",
                        money(a.expansion_estimate),
                        money(a.open_pipeline) if a.open_pipeline is not None else "not refreshed yet",
                        a.last_worked_at.date().isoformat() if a.last_worked_at else "never",
                        a.last_worked_by or "",
                        "yes" if a.actively_managed else "no",
                    ]
                    for a in exp.top
                ),
                {2, 3},
            )
        )
    out.append("</body></html>")
    return "".join(out)
