"""The shared statistics: the spike-and-slab regression, bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from shoot2top.recommend.stats import bootstrap_interval, spike_and_slab, z_value


def test_spike_and_slab_keeps_real_effects_and_holds_null_ones_near_zero() -> None:
    generator = np.random.default_rng(0)
    x = (generator.random((400, 30)) < 0.3).astype(float)
    truth = np.zeros(30)
    truth[:3] = [0.7, -0.7, 0.5]
    y = x @ truth + generator.normal(0, 0.8, 400)
    fit = spike_and_slab(x - x.mean(axis=0), y - y.mean(), ["term"] * 30, spike_var=0.01)
    assert np.all(np.sign(fit.mean[:3]) == np.sign(truth[:3]))
    assert np.all(np.abs(fit.mean[:3]) / fit.sd[:3] > 2.5)  # clearly not zero
    assert np.all(np.abs(fit.mean[3:]) / fit.sd[3:] < 2.5)
    assert np.all(fit.inclusion[:3] > 0.9) and np.median(fit.inclusion[3:]) < 0.2
    ols = np.linalg.lstsq(x - x.mean(axis=0), y - y.mean(), rcond=None)[0]
    assert np.abs(fit.mean[3:]).mean() < 0.7 * np.abs(ols[3:]).mean()  # nil ones held in
    assert np.all(np.abs(fit.mean[:3] - ols[:3]) < 0.15)  # real ones barely shrunk
    assert fit.noise_var == pytest.approx(0.64, rel=0.2)
    assert np.all(fit.sd > 0)


def test_many_nil_columns_of_one_group_do_not_shrink_the_other_group() -> None:
    """Three strong effects among 8 columns of one kind, 60 nil columns of another: with
    one prior for all, the nil ones would narrow it and shrink the strong ones."""
    generator = np.random.default_rng(1)
    x = (generator.random((200, 68)) < 0.15).astype(float)
    truth = np.zeros(68)
    truth[:3] = 0.69
    y = x @ truth + generator.normal(0, 0.9, 200)
    groups = ["hashtag"] * 8 + ["keyword"] * 60
    fit = spike_and_slab(x - x.mean(axis=0), y - y.mean(), groups, spike_var=0.01)
    assert np.all(fit.mean[:3] - 1.645 * fit.sd[:3] > 0)  # each found
    assert fit.slab_var["hashtag"] > fit.slab_var["keyword"]


def test_spike_and_slab_with_nothing_to_fit_and_mislabelled_columns() -> None:
    fit = spike_and_slab(np.zeros((2, 0)), np.zeros(2), [], spike_var=0.01)
    assert fit.mean.shape == (0,)
    with pytest.raises(ValueError, match="1 group labels for 2 columns"):
        spike_and_slab(np.zeros((5, 2)), np.zeros(5), ["a"], spike_var=0.01)


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
