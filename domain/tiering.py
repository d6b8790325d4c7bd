"""Tiers by potential and the tiering matrix (docs/domain.md, "Tiers")."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from domain.defaults import TierCutoffs, TieringMatrix

K = TypeVar("K", bound=Hashable)


def _rank_key(key: Hashable, potential: float) -> tuple[float, str]:
    return (-potential, str(key))


@dataclass(frozen=True)
class TierBoundaries:
    """The rank keys of the last tier-1 and the last tier-2 account (None: that tier is empty)."""

    last_tier1: tuple[float, str] | None
    last_tier2: tuple[float, str] | None
    thresholds: tuple[float, float] | None = None  # absolute mode: (tier 1 min, tier 2 min)


def absolute(cutoffs: TierCutoffs) -> TierBoundaries | None:
    """The boundaries when the tenant tiers by absolute thresholds (both set), else None (shares)."""
    if cutoffs.tier1_min_potential is not None and cutoffs.tier2_min_potential is not None:
        return TierBoundaries(None, None, (cutoffs.tier1_min_potential, cutoffs.tier2_min_potential))
    return None


def tier_positions(n: int, cutoffs: TierCutoffs) -> tuple[int, int]:
    """Ranks (1-based, highest potential first) of the last tier-1 and the last tier-2 account; 0: none."""
    return round(n * cutoffs.tier1_share), round(n * (cutoffs.tier1_share + cutoffs.tier2_share))


def boundaries_at(
    last1: tuple[Hashable, float] | None, last2: tuple[Hashable, float] | None
) -> TierBoundaries:
    """The boundaries from the (key, potential) found at the two tier positions (ranked by potential, high
    first, then by key): what a database can find without sending every account here."""
    return TierBoundaries(
        _rank_key(*last1) if last1 is not None else None, _rank_key(*last2) if last2 is not None else None
    )


def tier_boundaries(potentials: Iterable[tuple[Hashable, float]], cutoffs: TierCutoffs) -> TierBoundaries:
    """Where tiers 1 and 2 end, from (key, potential) pairs: the only step that needs every account."""
    fixed = absolute(cutoffs)
    if fixed is not None:
        return fixed
    ranked = sorted(_rank_key(k, p) for k, p in potentials)
    n1, n12 = tier_positions(len(ranked), cutoffs)
    return TierBoundaries(ranked[n1 - 1] if n1 else None, ranked[n12 - 1] if n12 else None)


def tier_of(key: Hashable, potential: float, bounds: TierBoundaries) -> int:
    """Tier 1, 2 or 3 of one account, given the boundaries."""
    if bounds.thresholds is not None:
        t1, t2 = bounds.thresholds
        return 1 if potential >= t1 else 2 if potential >= t2 else 3
    for tier, last in ((1, bounds.last_tier1), (2, bounds.last_tier2)):
        # compare the potential first; the key (a string) only breaks a tie at the boundary
        if last is not None and (-potential < last[0] or (-potential == last[0] and str(key) <= last[1])):
            return tier
    return 3


def tier_accounts(potentials: Mapping[K, float], cutoffs: TierCutoffs) -> dict[K, int]:
    """Tier 1, 2 or 3 per account: by absolute thresholds when both are set, else by shares.

    Shares: the top tier1_share of accounts by potential are tier 1, the next tier2_share tier 2, the rest
    tier 3; counts are rounded, so each tier is within one account of its share. Ties break by key.
    """
    bounds = tier_boundaries(potentials.items(), cutoffs)
    return {key: tier_of(key, value, bounds) for key, value in potentials.items()}


@dataclass(frozen=True)
class MatrixCell:
    revenue_band: str
    growth: str
    rep_type: str
    strategy: str


# (revenue band, growth potential) -> (rep type, strategy)
MATRIX: dict[tuple[str, str], tuple[str, str]] = {
    ("enterprise", "high"): ("Senior AE", "Deep relationships, expansion focus"),
    ("enterprise", "medium"): ("Mid-level AE", "Account health, upsell"),
    ("enterprise", "low"): ("Customer Success", "Retention and renewal"),
    ("mid_market", "high"): ("Growth AE", "Development and rapid scaling"),
    ("mid_market", "medium"): ("Mid-level AE", "Relationship maintenance"),
    ("mid_market", "low"): ("Customer Success", "Renewal focus"),
    ("smb", "high"): ("SDR / Inside Sales", "Volume model, digital engagement"),
    ("smb", "medium"): ("Inside Sales", "Transactional renewals"),
    ("smb", "low"): ("Renewal automation", "Self-serve churn prevention"),
}


def matrix_cell(current_arr: float, growth_factor: float | None, matrix: TieringMatrix) -> MatrixCell:
    """Revenue band from current ARR, growth from the whitespace factor (1-5; unknown counts as low)."""
    if current_arr > matrix.enterprise_min_arr:
        revenue_band = "enterprise"
    elif current_arr >= matrix.mid_market_min_arr:
        revenue_band = "mid_market"
    else:
        revenue_band = "smb"
    value = growth_factor or 0.0
    growth = (
        "high"
        if value >= matrix.high_growth_min_factor
        else ("medium" if value >= matrix.medium_growth_min_factor else "low")
    )
    rep_type, strategy = MATRIX[(revenue_band, growth)]
    return MatrixCell(revenue_band, growth, rep_type, strategy)
