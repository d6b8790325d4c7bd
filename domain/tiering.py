"""Tiers by potential (seeds 001, 003, 004) and the tiering matrix (seed 003)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from domain.defaults import TierCutoffs, TieringMatrix

K = TypeVar("K", bound=Hashable)


def tier_accounts(potentials: Mapping[K, float], cutoffs: TierCutoffs) -> dict[K, int]:
    """Tier 1, 2 or 3 per account: by absolute thresholds when both are set, else by shares.

    Shares: the top tier1_share of accounts by potential are tier 1, the next tier2_share tier 2, the rest
    tier 3; counts are rounded, so each tier is within one account of its share. Ties break by key.
    """
    if cutoffs.tier1_min_potential is not None and cutoffs.tier2_min_potential is not None:
        return {
            key: 1
            if value >= cutoffs.tier1_min_potential
            else 2
            if value >= cutoffs.tier2_min_potential
            else 3
            for key, value in potentials.items()
        }
    ranked = sorted(potentials, key=lambda key: (-potentials[key], str(key)))
    n = len(ranked)
    n1 = round(n * cutoffs.tier1_share)
    n12 = round(n * (cutoffs.tier1_share + cutoffs.tier2_share))
    return {key: 1 if i < n1 else 2 if i < n12 else 3 for i, key in enumerate(ranked)}


@dataclass(frozen=True)
class MatrixCell:
    revenue_band: str
    growth: str
    rep_type: str
    strategy: str


# Seed 003, "Create a tiering matrix": (revenue band, growth potential) -> (rep type, strategy)
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
