"""Funnel plot control limits (indicators.md v2, "Uncertainty"): for a share, the range in which a territory
with `n` cases would fall by chance alone if its true share were the reference value.

Exact binomial limits with Spiegelhalter's interpolation (Spiegelhalter, "Funnel plots for comparing
institutional performance", Statistics in Medicine 2005, appendix A.1.1): r is the smallest count whose
cumulative probability reaches the level; the limit is (r − α) / n with α = (F(r) − level) / (F(r) − F(r − 1)),
so that limits vary smoothly with n. Pure Python (the dashboard's runtime has no SciPy).
"""

from __future__ import annotations

import math

# Two-sided levels of the plot: 95 % and 99.8 % (about 2 and 3 standard deviations).
LEVELS = {"95 %": (0.025, 0.975), "99,8 %": (0.001, 0.999)}


def _cdf(n: int, p: float) -> dict[int, float]:
    """F(k) of the binomial distribution (n, p), 0 < p < 1, for k within 12 standard deviations of the mean
    (the mass outside is below 1e-30), summed from log-probabilities."""
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    spread = 12 * math.sqrt(n * p * (1 - p)) + 2
    out, total = {}, 0.0
    for k in range(max(0, math.floor(n * p - spread)), min(n, math.ceil(n * p + spread)) + 1):
        total += math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        out[k] = min(total, 1.0)
    return out


def limits(reference: float, n: int) -> dict[float, float]:
    """The four control limits, in %, for a territory of `n` cases when the reference share is `reference` %:
    cumulative level (0.001, 0.025, 0.975, 0.999) → limit."""
    levels = sorted(q for pair in LEVELS.values() for q in pair)
    p = reference / 100
    if n <= 0 or p <= 0 or p >= 1:
        return dict.fromkeys(levels, reference)
    cdf = _cdf(n, p)
    out = {}
    for level in levels:
        r = next((k for k, value in cdf.items() if value >= level), max(cdf))
        below = cdf.get(r - 1, 0.0)
        alpha = (cdf[r] - level) / (cdf[r] - below) if cdf[r] > below else 0.0
        out[level] = 100 * min(max((r - alpha) / n, 0.0), 1.0)
    return out


def limit(reference: float, n: int, level: float) -> float:
    """One control limit, in %, at this cumulative level (0.001, 0.025, 0.975 or 0.999)."""
    return limits(reference, n)[level]


def grid(largest: int, points: int = 60) -> list[int]:
    """Effectifs at which the limits are drawn: 1 to a little beyond the largest, denser for small ones."""
    top = max(2, math.ceil(largest * 1.1))
    return sorted({max(1, round(top ** (i / (points - 1)))) for i in range(points)} | {top})


def position(value: float, reference: float, n: int) -> str:
    """Where a territory's share lies against the limits, in French."""
    found = limits(reference, n)
    low95, high95 = (found[q] for q in LEVELS["95 %"])
    low998, high998 = (found[q] for q in LEVELS["99,8 %"])
    if low95 <= value <= high95:
        return "dans les limites à 95 %"
    if low998 <= value <= high998:
        side = "au-dessus" if value > high95 else "en dessous"
        return f"{side} des limites à 95 %, dans celles à 99,8 %"
    return ("au-dessus" if value > high998 else "en dessous") + " des limites à 99,8 %"
