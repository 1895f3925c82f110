"""The funnel plot's control limits (dashboards/funnel.py) against SciPy's binomial distribution, with
Spiegelhalter's interpolation written here from the paper (Statistics in Medicine 2005, appendix A.1.1)."""

from __future__ import annotations

import sys

import pytest
from scipy.stats import binom

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "dashboards"))
import funnel


def spiegelhalter(p0: float, n: int, q: float) -> float:
    p = p0 / 100
    r = binom.ppf(q, n, p)
    alpha = (binom.cdf(r, n, p) - q) / (binom.cdf(r, n, p) - binom.cdf(r - 1, n, p))
    return 100 * (r - alpha) / n


@pytest.mark.parametrize(("p0", "n"), [(30, 50), (12.5, 400), (70, 3000), (2, 20), (50, 1), (97.5, 60),
                                       (45.2, 12_345), (0.4, 5000)])
def test_limits_equal_the_exact_binomial_quantiles_interpolated(p0, n):
    found = funnel.limits(p0, n)
    for q in (0.001, 0.025, 0.975, 0.999):
        assert found[q] == pytest.approx(min(max(spiegelhalter(p0, n, q), 0), 100), abs=1e-6), q
        # Between the quantile and the count just below it.
        r = binom.ppf(q, n, p0 / 100)
        assert 100 * (r - 1) / n - 1e-9 <= found[q] <= 100 * r / n + 1e-9
    assert found[0.001] <= found[0.025] <= p0 <= found[0.975] <= found[0.999]


def test_limits_narrow_as_the_effectif_grows():
    widths = [funnel.limits(30, n)[0.975] - funnel.limits(30, n)[0.025] for n in (20, 200, 2000)]
    assert widths == sorted(widths, reverse=True)


def test_a_reference_of_0_or_100_has_no_spread():
    assert set(funnel.limits(0, 40).values()) == {0}
    assert set(funnel.limits(100, 40).values()) == {100}


def test_position_in_french():
    assert funnel.position(30, 30, 100) == "dans les limites à 95 %"
    high95, high998 = funnel.limits(30, 100)[0.975], funnel.limits(30, 100)[0.999]
    assert funnel.position((high95 + high998) / 2, 30, 100) == "au-dessus des limites à 95 %, dans celles à 99,8 %"
    assert funnel.position(high998 + 1, 30, 100) == "au-dessus des limites à 99,8 %"
    assert funnel.position(1, 30, 100) == "en dessous des limites à 99,8 %"


def test_grid_reaches_beyond_the_largest_effectif():
    points = funnel.grid(1000)
    assert points[0] == 1 and points[-1] >= 1000 and points == sorted(set(points))
