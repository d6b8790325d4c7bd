"""Composite account scores and potential in dollars (docs/domain.md, "Scores"), each with its reasons.

A score is a weighted average of factors on a 1-5 scale. Each factor is read from documented account
fields; a factor whose fields are missing is left out and lowers the confidence instead of failing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from domain.defaults import PotentialModel, ScoringBands, ScoringWeights, TenantSettings, WinRates
from domain.model import OpportunityStatus, Segment


def band(value: float, thresholds: Sequence[float], low: int = 1) -> int:
    """1 plus the number of ascending thresholds the value reaches: (10, 50, 100, 500) maps 60 to 3."""
    return low + bisect_right(thresholds, value)


def linear(signal: float, signal_max: float, low: int = 1, high: int = 5) -> float:
    """A 0..signal_max signal onto low..high."""
    share = min(max(signal / signal_max, 0.0), 1.0)
    return low + (high - low) * share


@dataclass(frozen=True)
class Factor:
    name: str
    source_fields: tuple[str, ...]
    read: Callable[[Any, TenantSettings], float | None]
    description: str


def _banded(
    field: str, bands_of: Callable[[ScoringBands], tuple[float, ...]]
) -> Callable[[Any, TenantSettings], Any]:
    def read(account: Any, settings: TenantSettings) -> float | None:
        value = getattr(account, field, None)
        return None if value is None else float(band(value, bands_of(settings.scoring_bands)))

    return read


def _signal(field: str) -> Callable[[Any, TenantSettings], Any]:
    def read(account: Any, settings: TenantSettings) -> float | None:
        value = getattr(account, field, None)
        return None if value is None else linear(value, settings.scoring_bands.signal_max)

    return read


class Expansion(NamedTuple):
    dollars: float | None  # None: neither given nor derivable
    derived: bool  # True: from the growth signals (expansion_estimate was not given)


def expansion_estimate(account: Any, model: PotentialModel) -> Expansion:
    """The account's expansion estimate (whitespace dollars): as given, or, when it gives none, derived
    from its growth signals (docs/domain.md, "Potential"): current ARR x (1 + whitespace units) x
    (1 + growth rate)^horizon - current ARR, at least 0; the rate is capped at model.max_growth_rate.
    None when neither a growth rate nor whitespace units are known. persistence/scoring.py computes the
    same in SQL with the same floating-point operations in the same order."""
    given = getattr(account, "expansion_estimate", None)
    if given is not None:
        return Expansion(float(given), False)
    rate = getattr(account, "growth_rate", None)
    units = getattr(account, "whitespace_units", None) or 0
    if rate is None and not units:
        return Expansion(None, False)
    growth = min(max(float(rate or 0.0), -1.0), model.max_growth_rate)
    arr = float(getattr(account, "current_arr", 0.0) or 0.0)
    dollars = arr * (1 + units) * 1.0  # one product, left to right, year by year (as the SQL rounds it)
    for _ in range(model.horizon_years):
        dollars *= 1.0 + growth
    dollars -= arr
    return Expansion(dollars if dollars > 0.0 else 0.0, True)


def _whitespace(account: Any, settings: TenantSettings) -> float | None:
    dollars = expansion_estimate(account, settings.potential).dollars
    return None if dollars is None else float(band(dollars, settings.scoring_bands.whitespace))


FACTORS: tuple[Factor, ...] = (
    Factor(
        "current_revenue",
        ("current_arr",),
        _banded("current_arr", lambda b: b.current_arr),
        "current ARR in the bands of scoring_bands.current_arr",
    ),
    Factor(
        "expansion",
        ("engagement",),
        _signal("engagement"),
        "expansion signals: engagement 0-100 (product usage, customer success data)",
    ),
    Factor(
        "industry_growth",
        ("growth_rate",),
        _banded("growth_rate", lambda b: b.growth_rate),
        "yearly growth rate in the bands of scoring_bands.growth_rate",
    ),
    Factor(
        "whitespace",
        ("expansion_estimate",),
        _whitespace,
        "expansion estimate (whitespace $) in the bands of scoring_bands.whitespace; when not given, "
        "derived from current ARR, growth rate and whitespace units (settings potential)",
    ),
    Factor(
        "firmographic_fit",
        ("annual_revenue",),
        _banded("annual_revenue", lambda b: b.company_revenue),
        "company annual revenue in the bands of scoring_bands.company_revenue",
    ),
    Factor("intent", ("intent",), _signal("intent"), "intent signal 0-100"),
    Factor("relationship", ("relationship",), _signal("relationship"), "relationship signal 0-100"),
    Factor("competitive", ("competitive",), _signal("competitive"), "competitive signal 0-100"),
)


class FactorScore(NamedTuple):
    factor: str
    value: float | None  # 1..5; None when its source fields are missing
    weight: float
    contribution: float  # this factor's part of the composite score
    source_fields: tuple[str, ...]
    description: str


class AccountScore(NamedTuple):
    score: float  # scale_min..scale_max
    confidence: float  # share of the model's weight that had data, 0..1
    factors: tuple[FactorScore, ...]
    missing_fields: tuple[str, ...]


_ACTIVE: dict[int, tuple[ScoringWeights, tuple[tuple[Factor, float], ...]]] = {}


def _active_factors(weights: ScoringWeights) -> tuple[tuple[Factor, float], ...]:
    """The factors a scoring model gives weight to, computed once per model object, not once per account
    (keyed by identity: hashing the frozen model on every call cost more than it saved)."""
    cached = _ACTIVE.get(id(weights))
    if cached is None or cached[0] is not weights:
        if len(_ACTIVE) > 64:
            _ACTIVE.clear()
        active = tuple((f, float(getattr(weights, f.name))) for f in FACTORS if getattr(weights, f.name) > 0)
        cached = _ACTIVE[id(weights)] = (weights, active)
    return cached[1]


NATIVE_LOW, NATIVE_HIGH = 1, 5  # the factors read onto 1-5 (bands of four thresholds; signals linearly)


def _on_scale(value: float | None, low: float, span: float) -> float | None:
    """A factor's 1-5 value on the tenant's scale, scale_min..scale_max (1-5 by default: unchanged)."""
    return None if value is None else low + (value - NATIVE_LOW) * span


def score_account(account: Any, settings: TenantSettings) -> AccountScore:
    """The composite score of one account under the tenant's scoring model, explained factor by factor."""
    weights = settings.scoring
    low, span = float(weights.scale_min), (weights.scale_max - weights.scale_min) / (NATIVE_HIGH - NATIVE_LOW)
    read = [(f, w, _on_scale(f.read(account, settings), low, span)) for f, w in _active_factors(weights)]
    total = sum(w for _, w, _ in read)
    known = sum(w for _, w, v in read if v is not None)
    missing = tuple(field for f, _, v in read if v is None for field in f.source_fields)
    if total == 0 or known == 0:
        # nothing known: the lowest score, with confidence 0, spread over the factors by weight
        low = float(weights.scale_min)
        factors = tuple(
            FactorScore(f.name, None, w, low * w / total if total else 0.0, f.source_fields, f.description)
            for f, w, _ in read
        )
        return AccountScore(low, 0.0, factors, missing)
    factors = tuple(
        FactorScore(f.name, v, w, 0.0 if v is None else w * v / known, f.source_fields, f.description)
        for f, w, v in read
    )
    # the parts add up to the score; clamping only absorbs float rounding (0.9999999999999999)
    score = min(
        max(sum(fs.contribution for fs in factors), float(weights.scale_min)), float(weights.scale_max)
    )
    return AccountScore(score, known / total, factors, missing)


@dataclass(frozen=True)
class WinRate:
    rate: float
    won: int
    lost: int
    source: str  # "history" (the tenant's closed opportunities) or "default" (too few of them)


def win_rates(
    closed: Iterable[tuple[Segment | None, OpportunityStatus]], rules: WinRates
) -> dict[Segment | None, WinRate]:
    """Historical win rate per segment from closed opportunities; the default where there are too few."""
    counts: dict[Segment | None, list[int]] = {}
    for segment, status in closed:
        if status == OpportunityStatus.OPEN:
            continue
        tally = counts.setdefault(segment, [0, 0])
        tally[0 if status == OpportunityStatus.WON else 1] += 1
    rates = {}
    for segment in (*Segment, None):
        won, lost = counts.get(segment, [0, 0])
        if won + lost >= rules.min_closed_opportunities:
            rates[segment] = WinRate(won / (won + lost), won, lost, "history")
        else:
            rates[segment] = WinRate(rules.default_win_rate, won, lost, "default")
    return rates


@dataclass(frozen=True)
class Potential:
    dollars: float
    current_arr: float
    expansion_estimate: float
    win_probability: float
    win_rate_source: str
    expansion_derived: bool = False  # the estimate came from the growth signals (expansion_estimate())


def account_potential(
    account: Any, rates: Mapping[Segment | None, WinRate], model: PotentialModel
) -> Potential:
    """Current ARR + expansion estimate x win probability of the account's segment; the estimate
    as given, or derived from the growth signals (expansion_estimate())."""
    rate = rates.get(getattr(account, "segment", None)) or rates[None]
    arr = float(getattr(account, "current_arr", 0.0) or 0.0)
    found = expansion_estimate(account, model)
    expansion = found.dollars or 0.0
    return Potential(arr + expansion * rate.rate, arr, expansion, rate.rate, rate.source, found.derived)


def segment_win_rates(
    rates: Mapping[Segment | None, WinRate], segments: Iterable[str | None], default: float
) -> dict[str | None, float]:
    """The win rate of each segment (by value) and of the named `segments`: its own, else the tenant's
    overall rate (of accounts with no segment), else `default`."""
    by_value = {(s.value if isinstance(s, Segment) else s): r.rate for s, r in rates.items()}
    return {k: by_value.get(k, by_value.get(None, default)) for k in (*by_value, *segments)}


# Bump when a change to this module's arithmetic changes what a run stores for the same account and
# settings: the next run then rescores every account (full_rescoring_reason).
RULES_REVISION = 1


@dataclass(frozen=True)
class ScoringBasis:
    """What every stored score of a tenant was computed from, beyond its own account's fields: the settings
    version, the win rate of each segment ("" = no segment) and the revision of these rules."""

    settings_version: int
    win_rates: Mapping[str, float]
    revision: int = RULES_REVISION


def basis_of(settings_version: int, rates: Mapping[Segment | None, WinRate]) -> ScoringBasis:
    return ScoringBasis(settings_version, {(s.value if s else ""): r.rate for s, r in rates.items()})


def full_rescoring_reason(previous: ScoringBasis | None, current: ScoringBasis) -> str | None:
    """Why a run must rescore every account, or None when only the accounts changed since the last run
    need it (docs/domain.md, "Scoring after an import"): a score depends on its account's fields and the
    settings, a potential also on its segment's win rate (moved_win_rates), and a tier on the bounds over
    the whole book, which every run recomputes."""
    if previous is None:
        return "no scores were stored with their basis yet"
    if previous.revision != current.revision:
        return f"the scoring rules changed (revision {previous.revision} -> {current.revision})"
    if previous.settings_version != current.settings_version:
        return f"the settings changed (version {previous.settings_version} -> {current.settings_version})"
    return None


def moved_win_rates(previous: ScoringBasis, current: ScoringBasis) -> dict[str, tuple[float | None, float]]:
    """The segments ("" = none) whose win rate moved since the stored scores: (then, now). Their accounts'
    potentials are revalued (current ARR + the stored expansion estimate x the new rate), not rescored:
    the score itself does not read the win rate."""
    return {
        segment: (previous.win_rates.get(segment), rate)
        for segment, rate in sorted(current.win_rates.items())
        if previous.win_rates.get(segment) != rate
    }


def describe_moves(moved: Mapping[str, tuple[float | None, float]]) -> str:
    """ "smb 20.0% -> 30.0%, no segment 20.0% -> 25.0%"."""
    return ", ".join(
        f"{segment or 'no segment'} {'none' if then is None else f'{then:.1%}'} -> {now:.1%}"
        for segment, (then, now) in moved.items()
    )


TAP_NOTE = (
    "TAP = ICP-fit accounts x average won deal x win rate; TAM is the sum of "
    "potential, shown beside it and never used for balancing; TAP is null without won deals"
)


def total_addressable_pipeline(icp_fit_accounts: int, average_deal_size: float, win_rate: float) -> float:
    """ICP-fit accounts x average deal size x historical win rate."""
    return icp_fit_accounts * average_deal_size * win_rate


def mixed_tap(
    icp_fit_by_segment: Mapping[Any, int], average_deal: Mapping[Any, float], win_rate: Mapping[Any, float]
) -> tuple[float, list[Any]]:
    """TAP of a book spanning segments (a territory): each segment's ICP-fit accounts x its average deal x
    its win rate, summed; segments with ICP-fit accounts but no average deal are returned as missing."""
    tap, missing = 0.0, []
    for segment, n in icp_fit_by_segment.items():
        if not n:
            continue
        if segment not in average_deal:
            missing.append(segment)
            continue
        tap += total_addressable_pipeline(n, average_deal[segment], win_rate[segment])
    return tap, missing
