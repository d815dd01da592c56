"""The verdict vocabulary, its thresholds, and the general rules that give verdicts.

See :mod:`lib.verdicts` for the whole vocabulary and the claim-specific rules
(P3's count and proportionality, B4's masking audit); it re-exports
everything here, so chapters write ``from lib import verdicts``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lib.noise import Estimate, as_estimate

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
