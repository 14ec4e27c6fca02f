"""The small statistics the recommendations share: normal quantiles, a sparse Bayesian
regression (spike-and-slab, fitted by EM), and a stratified bootstrap."""

from __future__ import annotations

import math
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
class SparseFit:
    """Posterior of ``y = X b + noise`` under a spike-and-slab prior on each ``b``."""

    mean: np.ndarray
    sd: np.ndarray
    inclusion: np.ndarray  # per coefficient: the probability it is in the slab (an effect)
    noise_var: float
    slab_var: dict[str, float]  # per group: how large the effects that exist are


START_SLAB_SD, START_SHARE = 0.3, 0.2  # EM starts from few (a fifth), moderate (±30%) effects


def spike_and_slab(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    *,
    spike_var: float,
    iterations: int = 500,
) -> SparseFit:
    """Bayesian linear regression for when most candidate effects are nil and a few are
    large: each coefficient's prior is ``π N(0, slab) + (1 − π) N(0, spike_var)``, fitted
    by EM (EMVS: Ročková and George, JASA 2014). A coefficient the data place near zero
    is held within the spike; one they place far out is barely shrunk. Each group of
    columns (e.g. hashtags, keywords) has its own slab variance and its own share π of
    effects, both fitted, so many nil keywords do not shrink a few strong hashtags. The
    sd is the Gaussian posterior's given the fitted prior precisions. `y` should be
    centred; `spike_var` is the size below which an effect counts as none."""
    n, p = x.shape
    if len(groups) != p:
        raise ValueError(f"{len(groups)} group labels for {p} columns")
    if p == 0 or n < 3:
        empty = np.zeros(p)
        return SparseFit(empty, np.full(p, np.inf), empty, float(np.var(y)) if n else 0.0, {})
    members = {label: np.flatnonzero(np.array(groups) == label) for label in sorted(set(groups))}
    gram, cross = x.T @ x, x.T @ y
    noise_precision = 1.0 / max(float(np.var(y)), 1e-9)
    slab = dict.fromkeys(members, max(START_SLAB_SD**2, 4 * spike_var))
    share = dict.fromkeys(members, START_SHARE)
    precision = np.full(p, 1.0 / slab[next(iter(members))])
    inclusion = np.full(p, START_SHARE)
    for _ in range(iterations):
        covariance = np.linalg.inv(noise_precision * gram + np.diag(precision))
        mean = noise_precision * covariance @ cross
        updated = np.empty(p)
        for label, index in members.items():
            square, wide, odds = mean[index] ** 2, slab[label], share[label]
            log_slab = math.log(odds) - 0.5 * (math.log(wide) + square / wide)
            log_spike = math.log(1 - odds) - 0.5 * (math.log(spike_var) + square / spike_var)
            weight = 1.0 / (1.0 + np.exp(np.clip(log_spike - log_slab, -700, 700)))
            inclusion[index] = weight
            updated[index] = weight / wide + (1 - weight) / spike_var
            total = max(float(weight.sum()), 1e-9)
            slab[label] = max(float(weight @ square) / total, 4 * spike_var)
            share[label] = (float(weight.sum()) + 1) / (len(index) + 2)
        residual = y - x @ mean
        noise_precision = n / (float(residual @ residual) + float(np.sum(gram * covariance)))
        converged = bool(np.max(np.abs(updated - precision) / precision) < 1e-6)
        precision = updated
        if converged:
            break
    covariance = np.linalg.inv(noise_precision * gram + np.diag(precision))
    mean = noise_precision * covariance @ cross
    return SparseFit(
        mean, np.sqrt(np.diag(covariance)), inclusion.copy(), 1.0 / noise_precision, slab
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
