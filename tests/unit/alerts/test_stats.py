from __future__ import annotations

import math

import pytest

from services.alerts.rules.stats import baseline_tail, beta_binomial_sf


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed directly: the reference a
    baseline known exactly would give."""
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def test_beta_binomial_sf_bounds_and_total() -> None:
    assert beta_binomial_sf(0, 10, 2, 3) == 1.0
    assert beta_binomial_sf(11, 10, 2, 3) == 0.0
    # uniform prior: every count equally likely
    assert beta_binomial_sf(7, 9, 1, 1) == pytest.approx(3 / 10)


def test_beta_binomial_is_wider_than_binomial_for_a_small_baseline() -> None:
    # baseline 2 of 10: the beta-binomial knows the 20 % is uncertain
    loose = baseline_tail(8, 20, 2, 10)
    exact = binomial_tail(8, 20, 0.2)
    assert loose > exact


def test_baseline_weight_cap_softens_a_long_history() -> None:
    sharp = baseline_tail(30, 100, 2000, 10000)
    capped = baseline_tail(30, 100, 2000, 10000, max_weight=200)
    assert capped > sharp


def test_large_counts_are_numerically_stable() -> None:
    p = baseline_tail(900, 5000, 500, 5000)
    assert 0.0 <= p < 1e-6


def test_bad_baseline_rejected() -> None:
    with pytest.raises(ValueError):
        baseline_tail(1, 10, 5, 3)
