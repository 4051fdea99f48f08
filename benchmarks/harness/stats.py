"""Small statistics helpers: percentiles, and min/median/max over rounds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile (0..1) of ``values``, nearest-rank."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    """The median of per-round values, with the smallest and largest round."""

    low: float
    mid: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        values = [value for value in values if not math.isnan(value)]
        if not values:
            return cls(math.nan, math.nan, math.nan)
        return cls(min(values), statistics.median(values), max(values))

    def as_dict(self) -> dict[str, float]:
        return {"min": self.low, "median": self.mid, "max": self.high}


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Round-by-round ratios: each round is compared with the same round of the other."""
    return [a / b if b else math.nan for a, b in zip(numerators, denominators, strict=True)]
