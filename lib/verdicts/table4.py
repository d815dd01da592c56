"""P1-P3's rules against the paper's Table 4: pooled effects, trends, counts, ratios,
and the training seed's spread that widens a single model's SE.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from lib.paper import tables as paper_tables
from lib.verdicts.judgement import (
    INCONCLUSIVE,
    MAJORITY,
    MIN_RATIO_ROWS,
    NOT_REPRODUCED,
    NOT_RUN,
    QUALITATIVE,
    RATIO_FACTOR,
    REPRODUCED,
    UNDERPOWERED,
    WITHIN_NOISE,
    Judgement,
    Z,
    _over,
)
from lib.verdicts.noise import (
    Estimate,
    as_estimate,
    combined_se,
)
from lib.verdicts.rules import signed_effect


def count_rule(
    effects: Sequence[Estimate | float],
    *,
    paper_k: int,
    labels: Sequence[str] | None = None,
    z: float = Z,
) -> Judgement:
    """k of m rows show the effect, each judged by :func:`signed_effect` with its SE.

    ``paper_k``: in how many of the m rows the paper itself shows it (P3:
    11 of 12). With S rows beyond the noise in the paper's direction and A
    beyond it against:

    - reproduced: S >= paper_k and A <= m - paper_k;
    - not reproduced: A > m - paper_k and A >= S;
    - qualitatively reproduced: otherwise, when S > MAJORITY * m;
    - inconclusive: otherwise (most rows within the noise).
    """
    m = len(effects)
    if m == 0:
        return Judgement(NOT_RUN, (), "no rows")
    if not 0 <= paper_k <= m:
        raise ValueError(f"paper_k must lie in [0, {m}], got {paper_k!r}")
    labels = list(labels) if labels is not None else [f"row {i + 1}" for i in range(m)]
    if len(labels) != m:
        raise ValueError("one label per effect")
    judged = [signed_effect(e, name=lab, z=z) for e, lab in zip(effects, labels, strict=True)]
    shows = sum(j.verdict == REPRODUCED for j in judged)
    against = sum(j.verdict == NOT_REPRODUCED for j in judged)
    numbers = tuple(j.numbers[0] for j in judged)
    against_rows = [
        lab for j, lab in zip(judged, labels, strict=True) if j.verdict == NOT_REPRODUCED
    ]
    why = (
        f"{shows} of {m} rows show it beyond {z:g} SE, {against} go against"
        + (f" ({', '.join(against_rows)})" if against_rows else "")
        + f"; the paper: {paper_k} of {m}"
    )
    if shows >= paper_k and against <= m - paper_k:
        verdict = REPRODUCED
    elif against > m - paper_k and against >= shows:
        verdict = NOT_REPRODUCED
    elif shows > MAJORITY * m:
        verdict = QUALITATIVE
    else:
        verdict = INCONCLUSIVE
    return Judgement(verdict, numbers, why, WITHIN_NOISE if verdict == INCONCLUSIVE else None)


def paper_count(
    effects: Sequence[float], ses: Sequence[float] | None = None, *, z: float = Z
) -> int:
    """How many of the paper's own rows show the effect: > 0 (the paper gives no errors),
    or, with ``ses`` (one per row, in the effects' units), beyond ``z`` of them: the
    paper's count at the same noise as the rows it is compared with (Table 4 on 10,000
    test images: 5 of 12 rows up and 6 down beyond 2 SE, not 11)."""
    if ses is None:
        return int(sum(e > 0 for e in effects))
    if len(ses) != len(effects):
        raise ValueError("one SE per effect")
    return int(sum(_over(e, z * se) for e, se in zip(effects, ses, strict=True)))


def ratio(gain: Estimate | float, loss: Estimate | float) -> Estimate:
    """gain / loss with its delta-method SE (the two independent; loss must not be 0)."""
    g, lo = as_estimate(gain), as_estimate(loss)
    if lo.value == 0:
        raise ValueError("the ratio is undefined for a loss of 0")
    r = g.value / lo.value
    return Estimate(r, math.hypot(g.se / lo.value, r * lo.se / lo.value))


# The paper's Table 4, in %: (data set, norm, eps) -> ((std: standard, half, robust),
# (rob: standard, half, robust)), from lib.paper. P3 is judged against it.
PAPER_TABLE4 = paper_tables.TABLE4


def half_half_effects(std_half, std_robust, rob_half, rob_robust):
    """P3's two effects for one row, each > 0 in the paper's direction.

    gain = std(half) - std(robust): half-half raises standard accuracy;
    loss = rob(robust) - rob(half): and lowers robust accuracy.
    """
    return std_half - std_robust, rob_robust - rob_half


def paper_half_half() -> dict[tuple, tuple[float, float]]:
    """(gain, loss) in points for every row of the paper's Table 4."""
    return {
        key: half_half_effects(std[1], std[2], rob[1], rob[2])
        for key, (std, rob) in PAPER_TABLE4.items()
    }


def roughly_proportional(
    gains: Sequence[Estimate | float],
    losses: Sequence[Estimate | float],
    paper_gains: Sequence[float],
    paper_losses: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    z: float = Z,
) -> Judgement:
    """P3: "half-half raises standard accuracy and lowers robust accuracy by a roughly
    proportional amount", judged row by row against the paper's own ratios.

    Per row, gain = std(half) - std(robust) and loss = rob(robust) -
    rob(half). A row has a measurable ratio when our loss is above 0 beyond
    z SE and the paper's loss is > 0. Its ratio agrees when it lies within a
    factor RATIO_FACTOR of the paper's ratio for that row, or within z SE of
    it. Fewer than MIN_RATIO_ROWS measurable rows: inconclusive; otherwise
    reproduced when more than MAJORITY of them agree, else not reproduced.
    """
    m = len(gains)
    if not m == len(losses) == len(paper_gains) == len(paper_losses):
        raise ValueError("gains, losses and the paper's must have one entry per row")
    labels = list(labels) if labels is not None else [f"row {i + 1}" for i in range(m)]
    numbers, agree, measurable = [], 0, 0
    for g, lo, pg, pl, lab in zip(gains, losses, paper_gains, paper_losses, labels, strict=True):
        g, lo = as_estimate(g), as_estimate(lo)
        if pl <= 0 or signed_effect(lo, z=z).verdict != REPRODUCED:
            continue
        measurable += 1
        r, rp = ratio(g, lo), pg / pl
        numbers.append((f"{lab} ratio (paper {rp:.2f})", r))
        q = r.value / rp if rp > 0 and r.value > 0 else 0.0
        within_factor = q > 0 and not _over(1 / RATIO_FACTOR, q) and not _over(q, RATIO_FACTOR)
        within_noise = not _over(abs(r.value - rp), z * r.se)
        agree += within_factor or within_noise
    why = (
        f"{agree} of {measurable} rows with a measurable ratio agree with the paper's "
        f"(within x{RATIO_FACTOR:g} or {z:g} SE)"
    )
    if measurable < MIN_RATIO_ROWS:
        return Judgement(
            INCONCLUSIVE,
            tuple(numbers),
            f"only {measurable} rows with a robust-accuracy loss beyond {z:g} SE "
            f"(need {MIN_RATIO_ROWS}); " + why,
            UNDERPOWERED,
        )
    verdict = REPRODUCED if agree > MAJORITY * measurable else NOT_REPRODUCED
    return Judgement(verdict, tuple(numbers), why)


# --------------------------------------------------------------------------
# Pooled effects, trends and the training seed's spread (the price chapter's P1-P3)


def pooled_effect(effects: Sequence[Estimate | float]) -> Estimate:
    """The mean of m effects, each > 0 in the paper's direction, ± sqrt(sum SE^2) / m.

    The rows must be independent (other models, or the same images with a paired
    SE per row). Unweighted: every row (every data set, norm and eps of Table 4) has
    the same say, so the mean is "the effect over the table" in the effects' units;
    a weighting by 1 / SE^2 would leave it to the rows with the smallest errors.
    """
    es = [as_estimate(e) for e in effects]
    if not es:
        raise ValueError("no effects to pool")
    return Estimate(
        sum(e.value for e in es) / len(es), math.sqrt(sum(e.se**2 for e in es)) / len(es)
    )


def pooled_rule(
    effects: Sequence[Estimate | float],
    *,
    labels: Sequence[str] | None = None,
    name: str = "mean over rows",
    paper_k: int | None = None,
    z: float = Z,
) -> Judgement:
    """P3's rule: one pooled effect over the rows (:func:`pooled_effect`), judged by
    :func:`signed_effect` (beyond z SE either way). How many rows show the effect beyond
    z SE each on their own, and the paper's count ``paper_k`` when given, are said in
    the reason: a description, not the verdict. No rows: not run."""
    m = len(effects)
    if m == 0:
        return Judgement(NOT_RUN, (), "no rows")
    labels = list(labels) if labels is not None else [f"row {i + 1}" for i in range(m)]
    if len(labels) != m:
        raise ValueError("one label per effect")
    judged = [signed_effect(e, z=z).verdict for e in effects]
    against = [lab for v, lab in zip(judged, labels, strict=True) if v == NOT_REPRODUCED]
    pooled = signed_effect(pooled_effect(effects), name=f"{name} of {m}", z=z)
    count = (
        f"{judged.count(REPRODUCED)} of {m} rows beyond {z:g} SE on their own, "
        f"{len(against)} against" + (f" ({', '.join(against)})" if against else "")
    )
    if paper_k is not None:
        count += f"; the paper: {paper_k} of {m} rows > 0"
    return dataclasses.replace(pooled, reason=f"{pooled.reason} ({count})")


def trend(x: Sequence[float], ys: Sequence[Estimate | float]) -> Estimate:
    """The least-squares slope of ys against x, ± its SE from the ys' own SEs.

    Unweighted (ordinary) least squares, with the variance sum (x_i - mean x)^2 se_i^2
    / (sum (x_i - mean x)^2)^2 of independent errors (no residual term: the ys' SEs
    are the noise, a curve's bend is not). Needs two distinct x at least.
    """
    es = [as_estimate(y) for y in ys]
    if len(es) != len(x):
        raise ValueError("one y per x")
    mx = sum(x) / len(x)
    dx = [xi - mx for xi in x]
    sxx = sum(d * d for d in dx)
    if sxx == 0:
        raise ValueError("a trend needs two distinct x")
    slope = sum(d * e.value for d, e in zip(dx, es, strict=True)) / sxx
    return Estimate(
        slope, math.sqrt(sum((d * e.se) ** 2 for d, e in zip(dx, es, strict=True))) / sxx
    )


def pair_spread(pairs: Sequence[tuple[float, float]]) -> float:
    """The training seed's spread of one model's accuracy (a standard deviation), from
    pairs (a, b): the same recipe trained with two seeds, measured on the same images.

    sqrt(mean((a - b)^2) / 2). The difference of two seeds also holds the disagreement
    of two models on the same test images, so this is an upper bound on the seed's own
    spread (an SE widened by it errs toward "inconclusive"). One pair is one degree of
    freedom: a rough number. No pairs: NaN (not measured).
    """
    if not pairs:
        return math.nan
    return math.sqrt(sum((a - b) ** 2 for a, b in pairs) / (2 * len(pairs)))


def widened(estimate: Estimate | float, spread: float) -> Estimate:
    """A single model's accuracy with its SE widened by the training seed's ``spread``
    (:func:`pair_spread`), in quadrature: the noise of "this recipe" rather than of
    "this trained model". A NaN spread (not measured) leaves the estimate as it is."""
    e = as_estimate(estimate)
    if math.isnan(spread):
        return e
    return Estimate(e.value, combined_se(e.se, spread))
