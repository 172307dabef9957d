"""The statistics behind COMPARE: a seeded paired bootstrap over tasks, Hodges-Lehmann shifts
and Yuen's trimmed t-test for timings (on logs), Holm's step-down correction, and how many
repeats would settle an unclear result.

Pure functions over numpy arrays; no I/O. Every random draw comes from a Generator the caller
seeds, so the same inputs always give the same numbers.

Why a bootstrap and not a sign-flip permutation: the report needs a confidence interval for
every delta, and the bootstrap gives one directly from the same replicates that give the
p-value; inverting a sign-flip test for an interval is costlier and, with few tasks, no better.
The plain percentile bootstrap is too narrow with few tasks (it uses the plug-in variance and
normal tails), so the interval is the *expanded* percentile interval (Hesterberg 2015): its
tail level is chosen so that, for a normal mean, it is as wide as Student's t interval.

Below ``FEW_TASKS`` tasks the interval is Student's t itself, over the tasks' deltas: a
bootstrap over 2 to 5 values has only a handful of distinct means, so at the strict levels of a
sequential evaluation's looks (99.4%, ...) its quantiles stick to the extreme deltas and the
interval is too narrow (the calibration benchmark measured 9% false accepts at 5 tasks with
later looks). Student's t keeps its level at every confidence for normal deltas.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from scipy import special
from scipy import stats as sps

# fewest tasks whose interval is the expanded bootstrap; below, Student's t (see above)
FEW_TASKS = 6
# about a million draws per chunk keeps the bootstrap's count matrix in cache-friendly sizes
_CHUNK_CELLS = 1_000_000


def sig_round(x: float | None, digits: int = 6) -> float | None:
    """``x`` to ``digits`` significant digits; NaN and infinities become None (JSON has none)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0.0:
        return 0.0
    return float(f"{x:.{digits}g}")


def ci_level(confidence: float | None) -> str:
    """An interval's confidence as a label: 95%, 99.4% (a sequential look); 95% for a record
    written before the confidence was kept with it."""
    return f"{(0.95 if confidence is None else confidence) * 100:.3g}%"


def rng_for(seed: int, key: str) -> np.random.Generator:
    """A generator for one suite: the configured seed plus a stable hash of the suite id, so
    that adding or reordering suites never changes another suite's numbers."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, digest])


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order, monotone and capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _expanded_z(n: int, alpha: float) -> float:
    """The normal quantile an expanded interval over ``n`` units (n >= 2) reaches: Student's
    t quantile with n - 1 degrees of freedom, times sqrt(n / (n - 1))."""
    return math.sqrt(n / (n - 1)) * float(sps.t.ppf(1 - alpha / 2, n - 1))


def expanded_alpha(n: int, alpha: float) -> float:
    """The tail level for an expanded percentile interval over ``n`` units (n >= 2)."""
    return float(2 * sps.norm.sf(_expanded_z(n, alpha)))


def bootstrap_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Replicates of each column's mean over rows resampled with replacement.

    ``values`` is (n units, k columns) with NaN where a unit has no value for that column; the
    same row draw is used for every column (the pairing across metrics is kept). Returns
    (resamples, k); a replicate that drew no value for a column is NaN there.
    """
    n, k = values.shape
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    # sums and counts in one product: [values | presence]
    both = np.concatenate([filled, present.astype(np.float64)], axis=1)
    out = np.empty((resamples, k))
    chunk = max(1, min(resamples, _CHUNK_CELLS // max(n, 1)))
    offsets = np.arange(chunk, dtype=np.int64)[:, None] * n
    for start in range(0, resamples, chunk):
        r = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(r, n), dtype=np.int64)
        idx += offsets[:r]
        counts = np.bincount(idx.ravel(), minlength=r * n).reshape(r, n).astype(np.float64)
        agg = counts @ both
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + r] = agg[:, :k] / agg[:, k:]
    return out


def bootstrap_repeats(
    base: np.ndarray, cand: np.ndarray, timing: Sequence[bool], resamples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Replicates for a single task, resampling its repeats on each side independently.

    ``base`` (r_b, k) and ``cand`` (r_c, k) hold one row per repeat, NaN where missing. Returns
    (effects, base means), each (resamples, k): score columns' effect is cand mean - base mean,
    timing columns' is log(cand median / base median).
    """
    k = base.shape[1]
    ib = rng.integers(0, base.shape[0], size=(resamples, base.shape[0]))
    ic = rng.integers(0, cand.shape[0], size=(resamples, cand.shape[0]))
    effects = np.empty((resamples, k))
    base_means = np.empty((resamples, k))
    with quiet_nan():
        for j in range(k):
            b = base[:, j][ib]
            c = cand[:, j][ic]
            base_means[:, j] = np.nanmean(b, axis=1)
            if timing[j]:
                effects[:, j] = np.log(np.nanmedian(c, axis=1) / np.nanmedian(b, axis=1))
            else:
                effects[:, j] = np.nanmean(c, axis=1) - base_means[:, j]
    return effects, base_means


@contextmanager
def quiet_nan() -> Iterator[None]:
    """Silence numpy about empty or all-NaN slices: callers make those cells NaN on purpose."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def percentile_ci(
    replicates: np.ndarray, n: int, confidence: float
) -> tuple[float, float] | None:
    """The expanded percentile interval of the replicates, or None when ``n`` < 2 units (no
    spread can be estimated) or no replicate is finite."""
    reps = replicates[np.isfinite(replicates)]
    if n < 2 or reps.size == 0:
        return None
    a = expanded_alpha(n, 1 - confidence)
    lo, hi = np.quantile(reps, [a / 2, 1 - a / 2])
    return float(lo), float(hi)


def t_ci(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """Student's t interval for the mean of ``values`` (n - 1 degrees of freedom), or None
    with fewer than two values."""
    n = values.size
    if n < 2:
        return None
    mean = float(np.mean(values))
    half = float(sps.t.isf((1 - confidence) / 2, n - 1)) * _se(values)
    return mean - half, mean + half


def t_p_below(values: np.ndarray, threshold: float) -> float | None:
    """Two-sided p-value that the mean of ``values`` lies below ``threshold`` (Student's t),
    consistent with :func:`t_ci` as :func:`bootstrap_p_below` is with :func:`percentile_ci`:
    p < 1 - confidence exactly when that interval's upper end is below the threshold."""
    n = values.size
    if n < 2:
        return None
    gap = threshold - float(np.mean(values))
    se = _se(values)
    if se == 0.0:  # every task moved alike: the mean is known exactly
        return 0.0 if gap > 0 else 1.0
    return float(min(1.0, 2 * sps.t.sf(gap / se, n - 1)))


def _se(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) / math.sqrt(values.size)


def bootstrap_p_below(replicates: np.ndarray, n: int, threshold: float) -> float | None:
    """Two-sided-equivalent p-value that the true value lies below ``threshold``.

    It is consistent with :func:`percentile_ci`: p < 1 - confidence exactly when that
    interval's upper end is below the threshold. The tail fraction is smoothed (+1) so it is
    never zero, mapped to a normal quantile, shrunk by the expansion factor and read back
    from Student's t with n - 1 degrees of freedom.
    """
    reps = replicates[np.isfinite(replicates)]
    if n < 2 or reps.size == 0:
        return None
    reached = int(np.count_nonzero(reps >= threshold))
    tail = (reached + 1) / (reps.size + 1)
    if reached == 0:
        # no replicate reaches the threshold: the count only says the tail is under the
        # resamples' resolution, which at a sequential look's strict level over a few units
        # (2,000 resamples, 8 tasks: p >= 0.018) could never show what the interval shows;
        # the tail is read from the replicates' normal shape instead, as the expansion is
        sd = float(np.std(reps))
        if sd > 0.0:
            shape = float(sps.norm.sf((threshold - float(np.mean(reps))) / sd))
            tail = max(min(tail, shape), 1e-300)  # never zero, as the count's smoothing
    z = float(sps.norm.isf(tail))
    t_equiv = z / math.sqrt(n / (n - 1))
    return float(min(1.0, 2 * sps.t.sf(t_equiv, n - 1)))


def hodges_lehmann_shift(base: np.ndarray, cand: np.ndarray) -> float | None:
    """The Hodges-Lehmann estimate of how far ``cand`` sits from ``base``: the median of every
    pairwise difference. On log timings it is a log ratio that one spike cannot move (unlike a
    mean) and that wastes less of a few repeats than a ratio of medians does."""
    b = base[np.isfinite(base)]
    c = cand[np.isfinite(cand)]
    if b.size == 0 or c.size == 0:
        return None
    return float(np.median((c[:, None] - b[None, :]).ravel()))


def _trimmed(x: np.ndarray, trim: float) -> tuple[float, float, int]:
    """Yuen's pieces for one sample: the trimmed mean, the squared standard error
    ((n - 1) winsorized variance / (h (h - 1))) and h, the number of values kept."""
    x = np.sort(x)
    n = x.size
    g = int(math.floor(trim * n))
    h = n - 2 * g
    kept = x[g:n - g]
    wins = np.clip(x, kept[0], kept[-1])
    d = (n - 1) * float(np.var(wins, ddof=1)) / (h * (h - 1))
    return float(np.mean(kept)), d, h


def yuen_p_greater(base: np.ndarray, cand: np.ndarray, margin: float,
                   trim: float = 0.2) -> float | None:
    """One-sided p-value that ``cand`` exceeds ``base`` by more than ``margin``: Yuen's
    trimmed-mean t-test (20% trimmed, Welch's degrees of freedom), so a run or two slowed by a
    noisy neighbour cannot make a task look slower. None with fewer than two values a side.
    (The same numbers as ``scipy.stats.ttest_ind(..., trim=0.2, equal_var=False)``, at a
    fraction of its cost: it runs once per task and metric.)"""
    b = base[np.isfinite(base)]
    c = cand[np.isfinite(cand)] - margin
    if b.size < 2 or c.size < 2:
        return None
    mb, db, hb = _trimmed(b, trim)
    mc, dc, hc = _trimmed(c, trim)
    if db + dc == 0:
        # no noise at all (a deterministic count, a test fixture): the difference is exact
        return 0.0 if mc > mb else 1.0
    t = (mc - mb) / math.sqrt(db + dc)
    df = (db + dc) ** 2 / (db**2 / (hb - 1) + dc**2 / (hc - 1))
    return float(special.stdtr(df, -t))


def repeats_to_settle(
    *, delta: float, threshold: float, n_units: int, ci_units: int, delta_var: float,
    noise_var: float, repeat: int, confidence: float, limit: int = 1000,
) -> int | None:
    """Repeats per task and side after which the interval would clear ``threshold`` on the side
    the point estimate lies, if the estimate stayed where it is; None when no number would.

    ``delta_var`` is the variance of the per-task deltas across tasks, ``noise_var`` the part
    of it that comes from the repeats (mean over tasks of var_b/r_b + var_c/r_c) at the
    current ``repeat``. More repeats shrink only that part: when the tasks genuinely disagree,
    no number of repeats settles it and a person must. ``ci_units`` is the number of units the
    interval's width was expanded for (tasks, or the repeats of a single task).
    """
    gap = abs(delta - threshold)
    if gap == 0.0 or n_units < 1 or repeat < 1:
        return None
    z = _expanded_z(max(ci_units, 2), 1 - confidence)
    task_var = max(0.0, delta_var - noise_var) if n_units >= 2 else 0.0
    budget = n_units * (gap / z) ** 2 - task_var
    if budget <= 0:
        return None
    if noise_var <= 0:
        return None
    needed = math.ceil(noise_var * repeat / budget)
    needed = max(needed, repeat + 1)
    return needed if needed <= limit else None
