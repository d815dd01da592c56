"""Judging claims: one vocabulary of verdicts, and the rules that give them, with noise.

Every verdict of a reproduction table comes from one of the small rules
below. Each rule takes the compared numbers with their standard errors
(:class:`Estimate`) and returns a :class:`Judgement`: the verdict, the
numbers it compared (shown with ±), and a one-line reason. Thresholds are
module constants, so a reader can see them and a test can sit exactly on them.

The vocabulary:

- ``reproduced``: the effect the paper states is there, beyond the noise.
- ``qualitatively reproduced``: the direction holds, the paper's numbers do not.
- ``not reproduced``: the effect goes the other way, beyond the noise (or a
  number the paper states is not matched).
- ``inconclusive``: the effect is within the noise, or the models cannot test it;
  a rule says which kind when it knows (``Judgement.why_inconclusive``, one of
  ``INCONCLUSIVE_KINDS``: within noise, below the rule's power, a bound only,
  proxy).
- ``not run``: the experiment did not run here (e.g. no ImageNet).
- ``checked``: a setup fact (P4, S1-S4) computed from what ran, found as the
  paper or the authors' code states it. Setup facts are counted apart from
  the paper's claims; one found different is ``not reproduced``.

Noise: an accuracy measured on n test images has the binomial standard error
:func:`binomial_se`; a mean over seeds has the seed spread
:func:`seed_spread`; independent errors add in quadrature
(:func:`combined_se`). A difference counts only beyond ``Z`` standard errors;
a claim of k parts refutes only where a part does beyond :func:`z_for` (k)
(see :func:`combine`). A number matches the paper's only when its whole
interval lies within the claim's tolerance (:func:`matches`).

The module is the facade: the vocabulary, thresholds and general rules live
in :mod:`lib.rules`, the numbers with noise in :mod:`lib.noise`; both are
re-exported here. The claim-specific rules (P3's count and proportionality
against the paper's Table 4, B4's masking audit) are defined below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lib.noise import (  # noqa: F401  (re-exported)
    Estimate,
    accuracy,
    as_estimate,
    binomial_se,
    combined_se,
    diff_se,
    paired_diff_se,
    seed_spread,
    seeds_and_test_set,
)
from lib.paper import tables as paper_tables
from lib.rules import (  # noqa: F401  (re-exported)
    BOUND_ONLY,
    CHECKED,
    CLAIM_VERDICTS,
    EXACT_TOL,
    INCONCLUSIVE,
    INCONCLUSIVE_KINDS,
    MAJORITY,
    MIN_AUDIT_IMAGES,
    MIN_RATIO_ROWS,
    NEGLIGIBLE_SHARE,
    NOT_REPRODUCED,
    NOT_RUN,
    PGD_GAP,
    PROXY_ONLY,
    QUALITATIVE,
    RATIO_FACTOR,
    REPRODUCED,
    RULES_VERSION,
    SETUP_FACTS,
    SETUP_VERDICTS,
    UNDERPOWERED,
    VOCABULARY,
    WITHIN_NOISE,
    Fact,
    Judgement,
    Z,
    _over,
    all_hold,
    at_most,
    below,
    check_vocabulary,
    checked,
    combine,
    exceeds,
    matches,
    numbers_and_direction,
    signed_effect,
    z_for,
)


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
    return Judgement(verdict, numbers, why)


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
        )
    verdict = REPRODUCED if agree > MAJORITY * measurable else NOT_REPRODUCED
    return Judgement(verdict, tuple(numbers), why)


def no_masking(
    *,
    flagged: bool,
    strong_pgd: Estimate | float,
    worst: Estimate | float,
    n_images: int,
    floor: Estimate | float = 0.0,
    z: float = Z,
    best_gradient: Estimate | float | None = None,
    gap_se: float | None = None,
    falls_to_zero: bool | None = None,
    chance: float = 0.0,
) -> Judgement:
    """B4 for one model: robustness not owed to masked gradients.

    ``strong_pgd``, ``worst``: accuracy under the strong PGD and under the
    worst of all attacks per image (gradient-free and transfer ones
    included), on the same ``n_images`` images; ``best_gradient``: under the
    strongest gradient attack (default ``strong_pgd``). The gap is
    best_gradient - worst; its SE ``gap_se`` defaults to the paired one,
    binomial in the gap on ``n_images`` images (an image robust to all
    attacks is robust to the gradient attack, so the two differ only on the
    gap's images).

    - not reproduced (masking shown): ``falls_to_zero`` is False (the caller
      found accuracy not falling toward 0 as eps grows), or a masking flag
      is raised and the gap exceeds PGD_GAP + z gap SE;
    - reproduced, only when all hold: no flag; the strong PGD within PGD_GAP
      of the worst attack (same images: no noise allowance); at least
      MIN_AUDIT_IMAGES images; and real residual robustness: the worst-case
      accuracy above the floor, the larger of ``floor`` (e.g. the standard
      model's under the same attacks) and ``chance`` (e.g. 0.1 for ten
      classes), beyond z SE, so a model at chance is never reproduced;
    - inconclusive otherwise, saying which condition failed (kind: below the
      rule's power for too few images or a PGD too weak to tell, else within
      noise).
    """
    pgd, w, fl = as_estimate(strong_pgd), as_estimate(worst), as_estimate(floor)
    grad = pgd if best_gradient is None else as_estimate(best_gradient)
    if chance > fl.value:
        fl = Estimate(float(chance))
    numbers = (("strong PGD", pgd), ("all attacks", w))
    if best_gradient is not None:
        numbers += (("best gradient attack", grad),)
    gap = grad.value - w.value
    if gap_se is None:
        gap_se = binomial_se(min(max(gap, 0.0), 1.0), n_images) if n_images >= 1 else math.nan
    shown = []
    if falls_to_zero is False:
        shown.append("accuracy does not fall toward 0 as eps grows")
    if flagged and _over(gap, PGD_GAP + z * gap_se):
        shown.append(
            f"a masking flag is raised and the worst attack is {gap:.1%} below the best "
            f"gradient attack, beyond {PGD_GAP:.0%} + {z:g} x {gap_se:.2g}"
        )
    if shown:
        return Judgement(NOT_REPRODUCED, numbers, "; ".join(shown))
    failed, kind = [], WITHIN_NOISE
    if flagged:
        failed.append(
            f"a masking flag is raised, but the gap ({gap:.1%}) is not beyond "
            f"{PGD_GAP:.0%} + {z:g} x {gap_se:.2g}"
        )
    pgd_gap = pgd.value - w.value
    if _over(pgd_gap, PGD_GAP):
        failed.append(f"strong PGD is {pgd_gap:.1%} above the worst attack (allowed {PGD_GAP:.0%})")
        kind = UNDERPOWERED
    if n_images < MIN_AUDIT_IMAGES:
        failed.append(f"{n_images} images audited (need {MIN_AUDIT_IMAGES})")
        kind = UNDERPOWERED
    if signed_effect(w - fl, z=z).verdict != REPRODUCED:
        failed.append(f"no residual robustness beyond {z:g} SE above {fl.value:.1%}")
    if failed:
        return Judgement(INCONCLUSIVE, numbers, "; ".join(failed), kind)
    return Judgement(
        REPRODUCED,
        numbers,
        f"no flag; strong PGD within {pgd_gap:.1%} of all attacks on {n_images} images; "
        f"{w.value:.1%} robust",
    )


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
    return Judgement(pooled.verdict, pooled.numbers, f"{pooled.reason} ({count})")


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
