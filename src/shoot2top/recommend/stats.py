"""The small statistics the recommendations share: normal quantiles, Bayesian ridge
regression with its prior fitted by evidence maximisation, and a stratified bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


def z_value(level: float) -> float:
    """The two-sided normal quantile of a central interval: 1.645 for 0.9."""
    if not 0 < level < 1:
        raise ValueError(f"interval level must be between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class RidgeFit:
    """Posterior of ``y = X b + noise`` under the prior ``b ~ N(0, prior_var)``."""

    mean: np.ndarray
    sd: np.ndarray
    noise_var: float
    prior_var: float


def bayesian_ridge(
    x: np.ndarray, y: np.ndarray, *, min_prior_var: float = 0.0, iterations: int = 200
) -> RidgeFit:
    """Bayesian linear regression whose noise and prior variances maximise the marginal
    likelihood (MacKay's evidence approximation; Bishop, PRML §3.5). A coefficient is
    shrunk toward zero as much as the data as a whole says effects are small, so with
    many candidate terms few null ones look strong by chance. `y` should be centred.
    `min_prior_var` keeps thin data from fitting "no effect at all" with certainty (the
    evidence can drive the prior variance to zero, and every interval with it)."""
    n, p = x.shape
    if p == 0 or n < 3:
        return RidgeFit(np.zeros(p), np.full(p, np.inf), float(np.var(y)) if n else 0.0, 0.0)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    eigen = singular**2
    uty = (x @ vt.T).T @ y / np.where(singular > 0, singular, 1.0)  # U^T y without U
    noise_precision = 1.0 / max(float(np.var(y)), 1e-9)
    prior_precision = 1.0
    for _ in range(iterations):
        ratio = prior_precision / noise_precision
        mean = vt.T @ (singular / (eigen + ratio) * uty)
        gamma = float(np.sum(eigen / (eigen + ratio)))
        residual = y - x @ mean
        new_prior = gamma / max(float(mean @ mean), 1e-12)
        new_noise = max(n - gamma, 1e-9) / max(float(residual @ residual), 1e-12)
        converged = (
            abs(new_prior - prior_precision) <= 1e-6 * prior_precision
            and abs(new_noise - noise_precision) <= 1e-6 * noise_precision
        )
        prior_precision = min(new_prior, 1 / min_prior_var if min_prior_var > 0 else 1e9)
        noise_precision = new_noise
        if converged:
            break
    precision = noise_precision * (x.T @ x) + prior_precision * np.eye(p)
    covariance = np.linalg.inv(precision)
    mean = noise_precision * covariance @ (x.T @ y)
    return RidgeFit(
        mean, np.sqrt(np.diag(covariance)), 1.0 / noise_precision, 1.0 / prior_precision
    )


def bootstrap_interval(
    strata: Sequence[Sequence[Any]],
    statistic: Callable[[list[list[Any]]], float | None],
    *,
    level: float = 0.9,
    rounds: int = 1000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """The percentile interval of `statistic` over resamples that draw each stratum's
    rows with replacement (strata keep their sizes: a publisher's test items stay that
    publisher's). None when no resample gives a value."""
    generator = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        resampled = [
            [rows[i] for i in generator.integers(0, len(rows), len(rows))] if rows else []
            for rows in strata
        ]
        value = statistic(resampled)
        if value is not None and np.isfinite(value):
            values.append(value)
    if not values:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
