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
- ``inconclusive``: the effect is within the noise, or the models cannot test it.
- ``not run``: the experiment did not run here (e.g. no ImageNet).
- ``checked``: a setup fact (P4, S1-S4) computed from what ran, found as the
  paper or the authors' code states it. Setup facts are counted apart from
  the paper's claims; one found different is ``not reproduced``.

Noise: an accuracy measured on n test images has the binomial standard error
:func:`binomial_se`; a mean over seeds has the seed spread
:func:`seed_spread`; independent errors add in quadrature
(:func:`combined_se`). A difference counts only beyond ``Z`` standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

REPRODUCED = "reproduced"
QUALITATIVE = "qualitatively reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
CHECKED = "checked"
VOCABULARY = (REPRODUCED, QUALITATIVE, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN, CHECKED)
# The setup facts of the ledger: judged `checked` (or `not reproduced`, `not run`), counted apart.
SETUP_FACTS = ("P4", "S1", "S2", "S3", "S4")
SETUP_VERDICTS = (CHECKED, NOT_REPRODUCED, NOT_RUN)
CLAIM_VERDICTS = (REPRODUCED, QUALITATIVE, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN)
# Written into a claim file's provenance by chapters judged with these rules;
# files without it predate them (see tests/test_verdicts.py).
RULES_VERSION = 1

# -- thresholds ---------------------------------------------------------------
Z = 2.0  # a difference counts only beyond Z standard errors (about 95%, two-sided)
MAJORITY = 0.5  # count rule: "most rows" means more than this share of them
RATIO_FACTOR = 2.0  # P3: a ratio is "roughly" the paper's within this factor either way
MIN_RATIO_ROWS = 3  # P3: fewer rows with a measurable ratio than this: inconclusive
PGD_GAP = 0.03  # B4: strong PGD within 3 points of the worst of all attacks
MIN_AUDIT_IMAGES = 500  # B4: the audit needs at least this many test images
EXACT_TOL = 1e-12  # closed forms in float64: differences below this are rounding
NEGLIGIBLE_SHARE = 0.05  # L3: "no weight below the threshold" means under 5% of ||w||_1


def _over(x: float, limit: float) -> bool:
    """x > limit, with a value at the limit up to float64 rounding counted as at it."""
    return x > limit + EXACT_TOL * max(1.0, abs(limit))


# Weakest first: a claim's overall verdict is its weakest row's (see `combine`).
_ORDER = (NOT_REPRODUCED, INCONCLUSIVE, QUALITATIVE, REPRODUCED)


# -- numbers with noise -------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A measured number and its standard error (0: exact; nan: unknown)."""

    value: float
    se: float = 0.0

    def __post_init__(self):
        if not self.se >= 0 and not math.isnan(self.se):
            raise ValueError(f"a standard error must be >= 0, got {self.se!r}")

    def __sub__(self, other: Estimate | float) -> Estimate:
        """The difference of two independent estimates (errors in quadrature)."""
        other = as_estimate(other)
        return Estimate(self.value - other.value, combined_se(self.se, other.se))

    def __add__(self, other: Estimate | float) -> Estimate:
        other = as_estimate(other)
        return Estimate(self.value + other.value, combined_se(self.se, other.se))

    def __neg__(self) -> Estimate:
        return Estimate(-self.value, self.se)

    def z(self) -> float:
        """value / se: how many standard errors from 0 (inf if exact and nonzero)."""
        if math.isnan(self.se):
            return math.nan
        if self.se == 0:
            return 0.0 if self.value == 0 else math.copysign(math.inf, self.value)
        return self.value / self.se

    def format(self, scale: float = 1.0, digits: int = 3) -> str:
        """``"0.912 ± 0.009"``; ``scale=100, digits=1`` gives points: ``"91.2 ± 0.9"``."""
        v = f"{self.value * scale:.{digits}f}"
        if self.se == 0:
            return v
        if math.isnan(self.se):
            return f"{v} ± ?"
        return f"{v} ± {self.se * scale:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


def as_estimate(x: Estimate | float) -> Estimate:
    """A number without an error is exact."""
    return x if isinstance(x, Estimate) else Estimate(float(x), 0.0)


def binomial_se(acc: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images.

    Uses the Agresti-Coull estimate (two successes and two failures added),
    so an accuracy of exactly 0 or 1 still has an error of order 1/n, and two
    perfect scores are never called different.
    """
    if not 0 <= acc <= 1:
        raise ValueError(f"an accuracy must lie in [0, 1], got {acc!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    p = (acc * n + 2) / (n + 4)
    return math.sqrt(p * (1 - p) / (n + 4))


def accuracy(acc: float, n: int) -> Estimate:
    """An accuracy on ``n`` test images, with its binomial standard error."""
    return Estimate(float(acc), binomial_se(acc, n))


def diff_se(a: float, n_a: int, b: float, n_b: int) -> float:
    """SE of a - b for accuracies on independent test sets of n_a and n_b images.

    On the *same* test set the two are positively correlated in practice
    (the same hard images), so this is an upper bound there: use
    :func:`paired_diff_se` when the per-image results are at hand.
    """
    return combined_se(binomial_se(a, n_a), binomial_se(b, n_b))


def paired_diff_se(correct_a, correct_b) -> float:
    """SE of mean(a) - mean(b) measured on the same images, from per-image values.

    The standard error of the mean of d_i = a_i - b_i. For correctness (0 or
    1) only images on which the two models disagree add noise; it works as
    well for any per-image score (B1's alignment and sparsity).
    """
    a = np.asarray(correct_a, dtype=np.float64).ravel()
    b = np.asarray(correct_b, dtype=np.float64).ravel()
    if a.shape != b.shape or len(a) < 2:
        raise ValueError("need two per-image vectors of the same length, at least 2")
    d = a - b
    return float(d.std(ddof=1) / math.sqrt(len(d)))


def seed_spread(values: Iterable[float]) -> Estimate:
    """Mean over seeds ± its standard error (sample std / sqrt(k)); one seed: se nan."""
    v = np.asarray(list(values), dtype=np.float64)
    if len(v) == 0:
        raise ValueError("no values")
    if len(v) == 1:
        return Estimate(float(v[0]), math.nan)
    return Estimate(float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))))


def seeds_and_test_set(accs: Sequence[float], n_test: int) -> Estimate:
    """The mean accuracy of several seeds on one test set of ``n_test`` images.

    Two independent noises: the seeds' spread (training), and the test
    set's sampling, which averaging over seeds on the *same* images does not
    reduce. With one seed only the latter is known, and it is used alone.
    """
    spread = seed_spread(accs)
    test = binomial_se(spread.value, n_test)
    if math.isnan(spread.se):
        return Estimate(spread.value, test)
    return Estimate(spread.value, combined_se(spread.se, test))


def combined_se(*ses: float) -> float:
    """Independent errors in quadrature; nan (unknown) if any is nan."""
    return math.sqrt(sum(float(s) ** 2 for s in ses))


# -- the judgement ------------------------------------------------------------
@dataclass(frozen=True)
class Judgement:
    """What a rule decided: the verdict, the numbers compared, and why."""

    verdict: str
    numbers: tuple[tuple[str, Estimate], ...] = ()
    reason: str = ""

    def __post_init__(self):
        if self.verdict not in VOCABULARY:
            raise ValueError(f"verdict must be one of {VOCABULARY}, got {self.verdict!r}")

    def ours(self, scale: float = 1.0, digits: int = 3) -> str:
        """The compared numbers with ±, for a table's "ours" column."""
        return "; ".join(f"{name} {e.format(scale, digits)}" for name, e in self.numbers)

    def row(self, claim: str, paper: str, ours: str | None = None) -> dict:
        """A reproduction-table row (claim, paper, ours, verdict, reason)."""
        return {
            "claim": claim,
            "paper": paper,
            "ours": self.ours() if ours is None else ours,
            "verdict": self.verdict,
            "reason": self.reason,
        }


def _pm(e: Estimate, z: float = Z) -> str:
    return f"{e.value:.4g} ± {z:g} x {e.se:.2g}"


# -- rules ----------------------------------------------------------------------
def signed_effect(effect: Estimate | float, *, name: str = "effect", z: float = Z) -> Judgement:
    """The sign test with noise. ``effect`` is oriented so that > 0 is what the paper says.

    effect > z SE: reproduced; effect < -z SE: not reproduced; otherwise
    (including exactly z SE, and an unknown SE) inconclusive. An exact
    effect (SE 0) is judged by its sign alone; exactly 0 is inconclusive.
    """
    e = as_estimate(effect)
    numbers = ((name, e),)
    if math.isnan(e.se):
        return Judgement(INCONCLUSIVE, numbers, f"{name}: no noise estimate, cannot judge")
    if _over(e.value, z * e.se):
        return Judgement(REPRODUCED, numbers, f"{name} {_pm(e, z)} is above 0")
    if _over(-e.value, z * e.se):
        return Judgement(NOT_REPRODUCED, numbers, f"{name} {_pm(e, z)} is below 0")
    return Judgement(INCONCLUSIVE, numbers, f"{name} {_pm(e, z)} is within noise of 0")


def exceeds(estimate: Estimate | float, level: float, *, name: str = "value", z: float = Z):
    """``estimate`` above ``level`` beyond the noise (the signed effect of estimate - level)."""
    e = as_estimate(estimate)
    j = signed_effect(Estimate(e.value - level, e.se), name=f"{name} - {level:g}", z=z)
    return Judgement(j.verdict, ((name, e),), j.reason)


def below(estimate: Estimate | float, level: float, *, name: str = "value", z: float = Z):
    """``estimate`` below ``level`` beyond the noise (the signed effect of level - estimate)."""
    e = as_estimate(estimate)
    j = signed_effect(Estimate(level - e.value, e.se), name=f"{level:g} - {name}", z=z)
    return Judgement(j.verdict, ((name, e),), j.reason)


def matches(
    ours: Estimate | float, paper: float, *, tol: float, name: str = "value", z: float = Z
) -> Judgement:
    """Our number equals the paper's within ``tol`` plus z SE (inclusive): reproduced.

    Otherwise not reproduced. ``tol`` is the agreement the claim asks for
    (e.g. 1e-3 for a closed form quoted to 3 digits); the SE widens it by
    the noise of our measurement. An unknown SE is inconclusive.
    """
    e = as_estimate(ours)
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    numbers = ((name, e), (f"paper {name}", Estimate(paper)))
    if math.isnan(e.se):
        return Judgement(INCONCLUSIVE, numbers, f"{name}: no noise estimate, cannot judge")
    gap, allowed = abs(e.value - paper), tol + z * e.se
    if not _over(gap, allowed):
        return Judgement(
            REPRODUCED, numbers, f"{name} within {allowed:.3g} of the paper's {paper:g}"
        )
    return Judgement(
        NOT_REPRODUCED, numbers, f"{name} {e.value:.4g} is {gap:.3g} from the paper's {paper:g}"
    )


def all_hold(parts: Mapping[str, Judgement]) -> Judgement:
    """Several parts of one claim, all required: the weakest part's verdict, reasons joined."""
    return combine(parts)


def numbers_and_direction(numbers: Judgement, direction: Judgement) -> Judgement:
    """The paper's numbers matched and its direction holds: reproduced.

    The direction holds but the numbers do not: qualitatively reproduced.
    Otherwise the direction's verdict (not reproduced, or inconclusive).
    """
    both = numbers.numbers + direction.numbers
    if direction.verdict != REPRODUCED:
        return Judgement(direction.verdict, both, f"direction: {direction.reason}")
    if numbers.verdict == REPRODUCED:
        return Judgement(REPRODUCED, both, f"{direction.reason}; {numbers.reason}")
    return Judgement(
        QUALITATIVE, both, f"direction holds ({direction.reason}); numbers: {numbers.reason}"
    )


def at_most(judgement: Judgement, ceiling: str, why: str) -> Judgement:
    """Cap a verdict at ``ceiling`` (e.g. a proxy for perception can at best qualitatively
    reproduce a claim about how images look); the reason says why when it bites."""
    if judgement.verdict not in _ORDER or ceiling not in _ORDER:
        return judgement
    if _ORDER.index(judgement.verdict) <= _ORDER.index(ceiling):
        return judgement
    return Judgement(ceiling, judgement.numbers, f"{judgement.reason}; at most {ceiling}: {why}")


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


def paper_count(effects: Sequence[float]) -> int:
    """How many of the paper's own rows show the effect (> 0; the paper gives no errors)."""
    return int(sum(e > 0 for e in effects))


def ratio(gain: Estimate | float, loss: Estimate | float) -> Estimate:
    """gain / loss with its delta-method SE (the two independent; loss must not be 0)."""
    g, lo = as_estimate(gain), as_estimate(loss)
    if lo.value == 0:
        raise ValueError("the ratio is undefined for a loss of 0")
    r = g.value / lo.value
    return Estimate(r, math.hypot(g.se / lo.value, r * lo.se / lo.value))


# The paper's Table 4 (CLAIMS.md), in %: (data set, norm, eps) ->
# ((std: standard, half, robust), (rob: standard, half, robust)). P3 is judged against it.
PAPER_TABLE4 = {
    ("mnist", "inf", 0.1): ((99.31, 99.43, 99.36), (29.45, 95.29, 95.05)),
    ("mnist", "inf", 0.2): ((99.31, 99.22, 98.99), (0.05, 90.79, 92.86)),
    ("mnist", "inf", 0.3): ((99.31, 99.17, 97.37), (0.00, 89.51, 89.92)),
    ("mnist", 2, 0.5): ((99.31, 99.35, 99.41), (94.67, 97.60, 97.70)),
    ("mnist", 2, 1.5): ((99.31, 99.29, 99.24), (56.42, 87.71, 88.59)),
    ("mnist", 2, 2.5): ((99.31, 99.12, 97.79), (46.36, 60.27, 63.73)),
    ("cifar10", "inf", 2 / 255): ((92.20, 90.13, 89.64), (0.99, 69.10, 69.92)),
    ("cifar10", "inf", 4 / 255): ((92.20, 88.27, 86.54), (0.08, 55.60, 57.79)),
    ("cifar10", "inf", 8 / 255): ((92.20, 84.72, 79.57), (0.00, 37.56, 41.93)),
    ("cifar10", 2, 20 / 255): ((92.20, 92.04, 91.77), (45.60, 83.94, 84.70)),
    ("cifar10", 2, 80 / 255): ((92.20, 88.95, 88.38), (8.80, 67.29, 68.69)),
    ("cifar10", 2, 320 / 255): ((92.20, 81.74, 75.75), (3.30, 34.45, 39.76)),
}


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
) -> Judgement:
    """B4 for one model: robustness not owed to masked gradients.

    Reproduced only when all hold: no masking flag; strong PGD's accuracy
    within PGD_GAP of the worst of all attacks (same images: no noise
    allowance); at least MIN_AUDIT_IMAGES images; and real residual
    robustness, the worst-case accuracy above ``floor`` (e.g. the standard
    model's under the same attacks) beyond z SE. Otherwise inconclusive,
    saying which condition failed.
    """
    pgd, w, fl = as_estimate(strong_pgd), as_estimate(worst), as_estimate(floor)
    numbers = (("strong PGD", pgd), ("all attacks", w))
    failed = []
    if flagged:
        failed.append("a masking flag is raised")
    gap = pgd.value - w.value
    if _over(gap, PGD_GAP):
        failed.append(f"strong PGD is {gap:.1%} above the worst attack (allowed {PGD_GAP:.0%})")
    if n_images < MIN_AUDIT_IMAGES:
        failed.append(f"{n_images} images audited (need {MIN_AUDIT_IMAGES})")
    if signed_effect(w - fl, z=z).verdict != REPRODUCED:
        failed.append(f"no residual robustness beyond {z:g} SE above {fl.value:.1%}")
    if failed:
        return Judgement(INCONCLUSIVE, numbers, "; ".join(failed))
    return Judgement(
        REPRODUCED,
        numbers,
        f"no flag; strong PGD within {gap:.1%} of all attacks on {n_images} images; "
        f"{w.value:.1%} robust",
    )


def checked(facts: Mapping[str, tuple[object, object]], *, rel_tol: float = 1e-9) -> Judgement:
    """A setup fact: every ``name -> (computed, expected)`` pair agrees.

    ``computed`` must come from what ran (the stored runs' settings, the
    models' parameter counts), never typed; ``expected`` is the paper's or
    the authors' code's. Numbers agree within ``rel_tol``, anything else
    when equal. All agree: checked; any differs: not reproduced (the setup
    differs from the paper, named in the reason); no facts: not run.
    """
    if not facts:
        return Judgement(NOT_RUN, (), "nothing to check")
    wrong = []
    for name, (computed, expected) in facts.items():
        if isinstance(computed, bool) or isinstance(expected, bool):
            if not (type(computed) is type(expected) and computed == expected):
                wrong.append(f"{name}: {computed!r}, expected {expected!r}")
            continue
        numeric = all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in (computed, expected)
        )
        same = (
            math.isclose(float(computed), float(expected), rel_tol=rel_tol, abs_tol=EXACT_TOL)
            if numeric
            else computed == expected
        )
        if not same:
            wrong.append(f"{name}: {computed!r}, expected {expected!r}")
    if wrong:
        return Judgement(NOT_REPRODUCED, (), "differs: " + "; ".join(wrong))
    return Judgement(CHECKED, (), f"{len(facts)} facts agree: {', '.join(facts)}")


def combine(rows: Mapping[str, Judgement]) -> Judgement:
    """One claim's overall verdict from its rows (one per data set, or per part).

    The weakest row wins (not reproduced < inconclusive < qualitatively
    reproduced < reproduced), so a failure on one data set is never hidden by
    a success on another. Rows not run are left out, and named in the
    reason; all rows not run: not run. Setup rows (checked) combine to
    checked only when all are checked.
    """
    if not rows:
        return Judgement(NOT_RUN, (), "no rows")
    ran = {k: j for k, j in rows.items() if j.verdict != NOT_RUN}
    skipped = [k for k, j in rows.items() if j.verdict == NOT_RUN]
    numbers = tuple((f"{k}: {n}", e) for k, j in ran.items() for n, e in j.numbers)
    if not ran:
        return Judgement(NOT_RUN, (), f"not run: {', '.join(skipped)}")
    kinds = {j.verdict for j in ran.values()}
    if CHECKED in kinds:
        verdict = CHECKED if kinds == {CHECKED} else NOT_REPRODUCED
    else:
        verdict = min(kinds, key=_ORDER.index)
    reason = "; ".join(f"{k}: {j.verdict} ({j.reason})" for k, j in ran.items())
    if skipped:
        reason += f"; not run: {', '.join(skipped)}"
    return Judgement(verdict, numbers, reason)


def check_vocabulary(rows: Iterable[Mapping], *, strict: bool = True) -> list[Mapping]:
    """Raise ValueError unless every row's verdict is in the vocabulary.

    With ``strict`` also: setup facts (SETUP_FACTS) use only SETUP_VERDICTS,
    and the paper's claims never use ``checked``. A row's claim may carry a
    scope, ``"P1 (Restricted ImageNet)"``. Returns the rows.
    """
    rows = list(rows)
    problems = []
    for row in rows:
        claim = str(row.get("claim", "")).split("(")[0].strip()
        verdict = row.get("verdict")
        if verdict not in VOCABULARY:
            problems.append(f"{claim}: {verdict!r} is not in the vocabulary")
        elif strict and claim in SETUP_FACTS and verdict not in SETUP_VERDICTS:
            problems.append(f"{claim} is a setup fact: {verdict!r} (allowed: {SETUP_VERDICTS})")
        elif strict and claim not in SETUP_FACTS and verdict not in CLAIM_VERDICTS:
            problems.append(f"{claim} is a claim of the paper: {verdict!r} is for setup facts")
    if problems:
        raise ValueError("; ".join(problems))
    return rows
