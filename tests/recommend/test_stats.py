"""The shared statistics: evidence-maximising ridge, bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from shoot2top.recommend.stats import bayesian_ridge, bootstrap_interval, z_value


def test_ridge_keeps_real_effects_and_shrinks_null_ones() -> None:
    generator = np.random.default_rng(0)
    x = (generator.random((400, 30)) < 0.3).astype(float)
    truth = np.zeros(30)
    truth[:3] = [0.7, -0.7, 0.5]
    y = x @ truth + generator.normal(0, 0.8, 400)
    fit = bayesian_ridge(x - x.mean(axis=0), y - y.mean())
    assert np.all(np.sign(fit.mean[:3]) == np.sign(truth[:3]))
    assert np.all(np.abs(fit.mean[:3]) / fit.sd[:3] > 2.5)  # clearly not zero
    assert np.all(np.abs(fit.mean[3:]) / fit.sd[3:] < 2.5)
    nulls = np.abs(fit.mean[3:])
    ols = np.linalg.lstsq(x - x.mean(axis=0), y - y.mean(), rcond=None)[0]
    assert nulls.mean() < np.abs(ols[3:]).mean()  # shrunk toward zero
    assert fit.noise_var == pytest.approx(0.64, rel=0.2)
    assert np.all(fit.sd > 0)


def test_ridge_with_nothing_to_fit() -> None:
    fit = bayesian_ridge(np.zeros((2, 0)), np.zeros(2))
    assert fit.mean.shape == (0,)


def test_bootstrap_interval_brackets_the_statistic_and_keeps_strata() -> None:
    strata = [[1.0, 2.0, 3.0, 4.0], [10.0, 10.0]]
    seen_sizes = set()

    def mean_of_first(sample: list[list[float]]) -> float:
        seen_sizes.add(tuple(len(rows) for rows in sample))
        return float(np.mean(sample[0]))

    low, high = bootstrap_interval(strata, mean_of_first, rounds=300)
    assert 1.0 <= low < 2.5 < high <= 4.0
    assert seen_sizes == {(4, 2)}
    assert bootstrap_interval([[]], lambda sample: None, rounds=5) is None


def test_z_value() -> None:
    assert z_value(0.9) == pytest.approx(1.6449, abs=1e-4)
    with pytest.raises(ValueError, match="between 0 and 1, got 90"):
        z_value(90)
