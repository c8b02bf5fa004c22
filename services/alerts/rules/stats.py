"""Small-count statistics for rate rules, in pure Python (no SciPy).

A refusal rate of 3/4 is not evidence of much; 300/400 is. Comparing a rate
with a baseline as if both were exact (z-scores on rates, ratio thresholds)
floods small agencies with false alarms. The functions here instead ask:
*given the baseline's own counts, how surprising is this many refusals out
of this many requests?*
"""

from __future__ import annotations

from math import exp, lgamma


def _log_beta(a: float, b: float) -> float:
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def _log_choose(n: int, k: int) -> float:
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)


def beta_binomial_sf(k: int, n: int, alpha: float, beta: float) -> float:
    """P(X >= k) for X ~ BetaBinomial(n, alpha, beta)."""
    if n < 0 or alpha <= 0 or beta <= 0:
        raise ValueError("need n >= 0, alpha > 0, beta > 0")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    lb = _log_beta(alpha, beta)
    terms = [_log_choose(n, j) + _log_beta(j + alpha, n - j + beta) - lb for j in range(k, n + 1)]
    top = max(terms)
    return min(1.0, exp(top) * sum(exp(t - top) for t in terms))


def baseline_tail(
    k: int, n: int, base_k: float, base_n: float, *, prior: float = 0.5, max_weight: float | None = None
) -> float:
    """P(at least ``k`` of ``n`` | the baseline rate is ``base_k/base_n``,
    known only as well as its counts allow).

    The baseline rate gets a Beta(prior + base_k, prior + base_n - base_k)
    posterior (Jeffreys prior by default); the current count is then
    beta-binomial. ``max_weight`` caps the baseline's effective number of
    requests, so a long, large history does not make the test so sharp that
    ordinary year-to-year wobble becomes "significant" (overdispersion).
    """
    if base_n < 0 or base_k < 0 or base_k > base_n:
        raise ValueError("baseline counts must satisfy 0 <= base_k <= base_n")
    if max_weight is not None and base_n > max_weight:
        scale = max_weight / base_n
        base_k, base_n = base_k * scale, base_n * scale
    return beta_binomial_sf(k, n, prior + base_k, prior + base_n - base_k)
