"""Statistics for block timings: robust summaries, noise flags, a bootstrap CI of a ratio.

Pure functions over plain floats (block throughputs in samples/s); no numpy, so nktenv stays light.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

NOISY_IQR = 0.10  # IQR/median above this: "system fluctuation" (torch.utils.benchmark's threshold)
NOISY_MEDIAN_MIN = 1.3  # median/min above this: stalls dominate some blocks


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default method), q in [0, 1]."""
    if not values:
        raise ValueError("quantile of no values")
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


@dataclass(frozen=True)
class Summary:
    median: float
    q1: float
    q3: float
    min: float
    max: float
    n: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def noisy(self) -> bool:
        return is_noisy(self)

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "q1": self.q1, "q3": self.q3, "min": self.min, "max": self.max}


def summarize(values: Sequence[float]) -> Summary:
    return Summary(
        median=median(values),
        q1=quantile(values, 0.25),
        q3=quantile(values, 0.75),
        min=min(values),
        max=max(values),
        n=len(values),
    )


def is_noisy(s: Summary) -> bool:
    """Throughput blocks are noisy when IQR/median > 10 % or median/min > 1.3."""
    if s.median <= 0 or s.min <= 0:
        return True
    return s.iqr / s.median > NOISY_IQR or s.median / s.min > NOISY_MEDIAN_MIN


@dataclass(frozen=True)
class RatioCI:
    ratio: float
    low: float
    high: float


def bootstrap_ratio(
    num: Sequence[float],
    den: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> RatioCI:
    """Ratio of medians num/den with a percentile bootstrap CI (blocks resampled within each arm).

    Seeded, so the same blocks always give the same interval.
    """
    if not num or not den:
        raise ValueError("bootstrap needs blocks in both arms")
    rng = random.Random(seed)
    point = median(num) / median(den)
    ratios = []
    for _ in range(resamples):
        a = median([num[rng.randrange(len(num))] for _ in num])
        b = median([den[rng.randrange(len(den))] for _ in den])
        ratios.append(a / b if b > 0 else math.inf)
    alpha = (1.0 - confidence) / 2.0
    return RatioCI(ratio=point, low=quantile(ratios, alpha), high=quantile(ratios, 1.0 - alpha))


def blocks_needed(cv: float, half_width: float, z: float = 1.96) -> int:
    """Blocks for a CI of relative half-width `half_width` on a median, given the block CV (n = (1.96 * sqrt(pi/2) * CV / h)^2)."""
    return max(1, math.ceil((z * math.sqrt(math.pi / 2) * cv / half_width) ** 2))
