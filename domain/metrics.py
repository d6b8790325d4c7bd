"""Small rules of the weekly metrics (seed 004)."""

from __future__ import annotations

from domain.defaults import CoverageModel


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (never a made-up zero)."""
    return part / whole if whole else None


def sequence_target(tier: int, model: CoverageModel) -> int:
    """Touches that complete a tier's sequence: the low end of its range (seed 004: tier 1 8-12, ...)."""
    touches = {1: model.tier1_touches, 2: model.tier2_touches}.get(tier, model.tier3_touches)
    return touches[0]
