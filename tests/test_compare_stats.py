"""The statistics behind COMPARE, against scipy and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bot.core.comparison import stats


@pytest.mark.parametrize(
    ("pvalues", "expected"),
    [
        ([], []),
        ([0.04], [0.04]),
        # hand-worked: sorted 0.01, 0.02, 0.03 -> 3*0.01, 2*0.02, 1*0.03 -> monotone max
        ([0.03, 0.01, 0.02], [0.04, 0.03, 0.04]),
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        # capped at 1; ties keep their input order
        ([0.5, 0.5], [1.0, 1.0]),
        ([0.02, 0.02], [0.04, 0.04]),
    ],
)
def test_holm_adjusts_step_down(pvalues: list[float], expected: list[float]) -> None:
    assert stats.holm(pvalues) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.123456789, 0.123457),
        (123456.789, 123457.0),
        (-0.000123456789, -0.000123457),
        (0.0, 0.0),
        (float("nan"), None),
        (float("inf"), None),
        (None, None),
    ],
)
def test_sig_round(x: float | None, expected: float | None) -> None:
    assert stats.sig_round(x) == expected


@pytest.mark.parametrize("n", [2, 5, 20, 200])
def test_expanded_alpha_matches_student_t(n: int) -> None:
    a = stats.expanded_alpha(n, 0.05)
    # the expanded interval's normal quantile equals sqrt(n/(n-1)) times Student's t quantile
    z = sps.norm.isf(a / 2)
    assert z == pytest.approx(math.sqrt(n / (n - 1)) * sps.t.ppf(0.975, n - 1))
    assert a < 0.05


def test_bootstrap_means_is_seeded_and_pairs_columns() -> None:
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    a = stats.bootstrap_means(values, 500, np.random.default_rng(1))
    b = stats.bootstrap_means(values, 500, np.random.default_rng(1))
    assert np.array_equal(a, b)
    # the same task draw is used for every column, so column 2 is exactly 10x column 1
    assert np.allclose(a[:, 1], 10 * a[:, 0])
    assert a[:, 0].min() >= 1.0 and a[:, 0].max() <= 4.0
    assert np.mean(a[:, 0]) == pytest.approx(2.5, abs=0.05)


def test_bootstrap_means_skips_missing_values() -> None:
    values = np.array([[1.0, np.nan], [3.0, 5.0], [5.0, 5.0]])
    reps = stats.bootstrap_means(values, 300, np.random.default_rng(2))
    finite = reps[:, 1][np.isfinite(reps[:, 1])]
    # only the present values (5.0) ever enter column 2's mean
    assert np.all(finite == 5.0)
    # a replicate that drew only the missing row has no mean: NaN, never 0
    assert np.isnan(reps[:, 1]).sum() == np.sum(np.all(np.isnan(reps[:, 1:2]), axis=1))


def test_bootstrap_ci_agrees_with_student_t_on_normal_data() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.02, 0.05, size=40)
    reps = stats.bootstrap_means(x[:, None], 20000, np.random.default_rng(4))[:, 0]
    ci = stats.percentile_ci(reps, 40, 0.95)
    assert ci is not None
    lo, hi = sps.t.interval(0.95, 39, loc=x.mean(), scale=sps.sem(x))
    assert ci[0] == pytest.approx(lo, abs=0.003)
    assert ci[1] == pytest.approx(hi, abs=0.003)


@pytest.mark.parametrize(
    ("values", "n", "expected"),
    [
        # zero variance: the interval is the point
        ([0.1] * 50, 5, (0.1, 0.1)),
        # a single unit has no spread to estimate
        ([0.1, 0.2], 1, None),
        # no finite replicate
        ([float("nan")] * 3, 5, None),
    ],
)
def test_percentile_ci_edges(
    values: list[float], n: int, expected: tuple[float, float] | None
) -> None:
    ci = stats.percentile_ci(np.array(values), n, 0.95)
    assert ci == (pytest.approx(expected) if expected else None)


def test_bootstrap_p_is_consistent_with_the_interval() -> None:
    rng = np.random.default_rng(5)
    for shift in (-0.03, -0.012, -0.01, -0.008, 0.0):
        x = rng.normal(shift, 0.02, size=15)
        reps = stats.bootstrap_means(x[:, None], 5000, np.random.default_rng(6))[:, 0]
        ci = stats.percentile_ci(reps, 15, 0.95)
        p = stats.bootstrap_p_below(reps, 15, -0.01)
        assert ci is not None and p is not None
        # upper end past the threshold <=> p below 5% (up to the replicates' granularity)
        if abs(ci[1] + 0.01) > 0.001:
            assert (ci[1] < -0.01) == (p < 0.05)


def test_bootstrap_p_when_every_replicate_is_past_the_threshold() -> None:
    p = stats.bootstrap_p_below(np.full(9999, -0.5), 20, 0.0)
    # one smoothed tail count in 10,000, read through t with 19 degrees of freedom
    assert p is not None and 0 < p < 0.01
    assert stats.bootstrap_p_below(np.full(99, 0.5), 20, 0.0) == 1.0
    assert stats.bootstrap_p_below(np.full(99, 0.5), 1, 0.0) is None


def test_hodges_lehmann_is_the_median_pairwise_difference() -> None:
    base = np.array([1.0, 2.0, 3.0])
    cand = np.array([2.5, 3.5, 40.0])  # one wild run
    diffs = sorted(c - b for c in cand for b in base)
    assert stats.hodges_lehmann_shift(base, cand) == pytest.approx(diffs[4])
    # the wild run moves the mean difference by 12, the estimate not at all
    assert stats.hodges_lehmann_shift(base, np.array([2.5, 3.5, 4.0])) == pytest.approx(diffs[4])
    assert stats.hodges_lehmann_shift(np.array([]), cand) is None
    assert stats.hodges_lehmann_shift(np.array([np.nan]), cand) is None


def test_yuen_is_scipys_trimmed_test_shifted_by_the_margin() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(0, 0.3, 10)
    cand = rng.normal(0.5, 0.3, 10)
    expected = sps.ttest_ind(cand - 0.1, base, equal_var=False, trim=0.2,
                             alternative="greater").pvalue
    assert stats.yuen_p_greater(base, cand, 0.1) == pytest.approx(expected)
    assert stats.yuen_p_greater(base[:1], cand, 0.1) is None
    # no noise at all: the difference is exact, on either side of the margin
    assert stats.yuen_p_greater(np.array([1.0, 1.0]), np.array([1.5, 1.5]), 0.1) == 0.0
    assert stats.yuen_p_greater(np.array([1.0, 1.0]), np.array([1.05, 1.05]), 0.1) == 1.0


def test_yuen_shrugs_off_one_spike() -> None:
    base = np.log(np.array([100.0, 103.0, 98.0, 101.0, 99.0]))
    cand = np.log(np.array([101.0, 99.0, 300.0, 102.0, 100.0]))  # a noisy neighbour
    p = stats.yuen_p_greater(base, cand, math.log(1.1))
    assert p is not None and p > 0.5


def test_bootstrap_repeats_for_a_single_task() -> None:
    base = np.array([[0.5, 10.0], [0.6, 10.0], [0.7, 10.0]])
    cand = np.array([[0.8, 20.0], [0.9, 20.0], [1.0, 20.0]])
    eff, base_means = stats.bootstrap_repeats(base, cand, [False, True], 2000,
                                              np.random.default_rng(7))
    assert eff[:, 0].mean() == pytest.approx(0.3, abs=0.01)
    # a timing column is the log of the ratio of medians; here every draw gives exactly 2
    assert np.allclose(eff[:, 1], math.log(2.0))
    assert base_means[:, 0].min() >= 0.5 and base_means[:, 0].max() <= 0.7


def test_rng_for_is_stable_and_per_suite() -> None:
    a = stats.rng_for(1, "suite-a").integers(0, 1 << 30, 5)
    b = stats.rng_for(1, "suite-a").integers(0, 1 << 30, 5)
    c = stats.rng_for(1, "suite-b").integers(0, 1 << 30, 5)
    d = stats.rng_for(2, "suite-a").integers(0, 1 << 30, 5)
    assert list(a) == list(b)
    assert list(a) != list(c)
    assert list(a) != list(d)


def _settle(**overrides: float) -> int | None:
    args: dict = dict(delta=-0.002, threshold=-0.01, n_units=20, ci_units=20, delta_var=0.002,
                      noise_var=0.0019, repeat=5, confidence=0.95)
    args.update(overrides)
    return stats.repeats_to_settle(**args)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # hand-worked: z = sqrt(20/19) * t(0.975, 19) = 2.1473; budget = 20 * (0.008/z)^2 -
        # (0.002 - 0.0019) = 0.00017760; repeats = ceil(0.0019 * 5 / budget) = 54
        ({}, 54),
        # the tasks disagree more than any number of repeats can fix
        ({"delta_var": 0.01}, None),
        # the estimate sits on the threshold: nothing settles it
        ({"delta": -0.01}, None),
        # no noise from repeats: more of them change nothing
        ({"noise_var": 0.0, "delta_var": 0.0}, None),
        # beyond the suite's limit of 1000 repeats
        ({"delta": -0.0099}, None),
        # a clear margin still asks for at least one more repeat than now
        ({"delta": 0.05, "delta_var": 0.0019}, 6),
    ],
)
def test_repeats_to_settle(overrides: dict, expected: int | None) -> None:
    assert _settle(**overrides) == expected


@pytest.mark.parametrize("confidence", [0.95, 0.994, 0.9999])
def test_t_ci_is_students_interval_and_its_p_agrees(confidence: float) -> None:
    x = np.array([-0.012, 0.004, -0.02, 0.001, -0.006])
    lo, hi = stats.t_ci(x, confidence) or (math.nan, math.nan)
    want = sps.t.interval(confidence, 4, loc=x.mean(), scale=sps.sem(x))
    assert (lo, hi) == pytest.approx(want, rel=1e-12)
    # p below 1 - confidence exactly when the upper end is below the threshold
    for threshold in (hi - 1e-9, hi + 1e-9):
        p = stats.t_p_below(x, threshold)
        assert p is not None and (p < 1 - confidence) == (hi < threshold)


def test_t_interval_edges() -> None:
    assert stats.t_ci(np.array([0.1]), 0.95) is None
    assert stats.t_p_below(np.array([0.1]), 0.0) is None
    same = np.array([0.02, 0.02, 0.02])  # every task moved alike
    assert stats.t_ci(same, 0.95) == (0.02, 0.02)
    assert stats.t_p_below(same, 0.03) == 0.0 and stats.t_p_below(same, 0.01) == 1.0


def test_a_tail_past_every_replicate_is_read_from_their_shape_not_their_count() -> None:
    # eight tasks all clearly worse: no replicate reaches the threshold. Counted, the p-value
    # could not go under 0.018 with 2,000 resamples, above a sequential first look's 0.005,
    # while the interval at that level lay far past the threshold
    deltas = np.array([-0.23, -0.13, -0.27, -0.26, -0.36, -0.20, -0.20, -0.27])
    reps = stats.bootstrap_means(deltas[:, None], 2000, np.random.default_rng(1))[:, 0]
    p = stats.bootstrap_p_below(reps, 8, 0.0)
    assert p is not None and p < 0.005
    ci = stats.percentile_ci(reps, 8, 0.995)
    assert ci is not None and ci[1] < 0.0
    # one replicate reaching it: the count still decides
    assert stats.bootstrap_p_below(np.append(reps, 0.0), 8, 0.0) == pytest.approx(
        stats.bootstrap_p_below(np.append(reps, 0.0)[:2001], 8, 0.0))
