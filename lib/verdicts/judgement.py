"""The verdict vocabulary, its thresholds, the kinds of inconclusive, and :class:`Judgement`.

A rule (:mod:`lib.verdicts.rules`, :mod:`lib.verdicts.table4`,
:mod:`lib.verdicts.masking`) returns a :class:`Judgement`; claim files keep its
verdict, numbers and reason (:func:`check_vocabulary` guards the words).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

from lib.verdicts.noise import (
    Estimate,
)

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
# 2: matches is an equivalence test; combine corrects refutations for multiplicity;
# an unvalidated proxy cannot refute; an unread setup fact is not run; B4 can refute.
RULES_VERSION = 2

# -- thresholds ---------------------------------------------------------------
Z = 2.0  # a difference counts only beyond Z standard errors (about 95%, two-sided)
MAJORITY = 0.5  # count rule: "most rows" means more than this share of them
RATIO_FACTOR = 2.0  # P3: a ratio is "roughly" the paper's within this factor either way
MIN_RATIO_ROWS = 3  # P3: fewer rows with a measurable ratio than this: inconclusive
PGD_GAP = 0.03  # B4: strong PGD within 3 points of the worst of all attacks
MIN_AUDIT_IMAGES = 500  # B4: the audit needs at least this many test images
EXACT_TOL = 1e-12  # closed forms in float64: differences below this are rounding
NEGLIGIBLE_SHARE = 0.05  # L3: "no weight below the threshold" means under 5% of ||w||_1

# -- kinds of inconclusive ----------------------------------------------------------
# Why a rule could not decide; carried by a Judgement (``why_inconclusive``) and a
# claim-file row, and shown on the scorecard. Listed from the one more data of the same
# kind cannot fix to the one it can (`combine` reports the first present).
PROXY_ONLY = "proxy"  # a proxy that cannot confirm (at_most) cannot refute either
BOUND_ONLY = "a bound only"  # the evidence bounds the quantity from one side only
UNDERPOWERED = "below the rule's power"  # too few items, no SE, an interval wider than tol
WITHIN_NOISE = "within noise"  # the effect lies within z SE of the rule's threshold
INCONCLUSIVE_KINDS = (PROXY_ONLY, BOUND_ONLY, UNDERPOWERED, WITHIN_NOISE)


def _over(x: float, limit: float) -> bool:
    """x > limit, with a value at the limit up to float64 rounding counted as at it."""
    return x > limit + EXACT_TOL * max(1.0, abs(limit))


# Weakest first: a claim's overall verdict is its weakest row's (see `combine`).
_ORDER = (NOT_REPRODUCED, INCONCLUSIVE, QUALITATIVE, REPRODUCED)


# -- the judgement ------------------------------------------------------------
@dataclass(frozen=True)
class Judgement:
    """What a rule decided: the verdict, the numbers compared, and why.

    ``why_inconclusive``: for an inconclusive verdict, which kind of
    inconclusive (one of :data:`INCONCLUSIVE_KINDS`) when the rule knows;
    None for every other verdict.

    ``tests`` and ``retest`` (left out of ``==``): how many one-sided tests
    could refute the claim through this judgement, and ``retest(k)``, the
    same numbers judged again as one of ``k`` such tests of one claim (see
    :func:`combine`). The rules built on :func:`signed_effect`,
    :func:`exceeds`, :func:`below` and :func:`matches` set both; a judgement
    read back from a claim file has neither and is never judged again.
    """

    verdict: str
    numbers: tuple[tuple[str, Estimate], ...] = ()
    reason: str = ""
    why_inconclusive: str | None = None
    tests: int = field(default=0, compare=False)
    retest: Callable[[int], Judgement] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.verdict not in VOCABULARY:
            raise ValueError(f"verdict must be one of {VOCABULARY}, got {self.verdict!r}")
        if self.why_inconclusive is not None:
            if self.verdict != INCONCLUSIVE:
                raise ValueError(f"only an inconclusive verdict has a kind, not {self.verdict!r}")
            if self.why_inconclusive not in INCONCLUSIVE_KINDS:
                raise ValueError(
                    f"why_inconclusive must be one of {INCONCLUSIVE_KINDS}, "
                    f"got {self.why_inconclusive!r}"
                )

    def for_tests(self, k: int) -> Judgement:
        """This judgement as one of ``k`` tests of one claim (itself if it cannot be re-judged)."""
        return self.retest(k) if self.retest is not None else self

    def ours(self, scale: float = 1.0, digits: int = 3) -> str:
        """The compared numbers with ±, for a table's "ours" column."""
        return "; ".join(f"{name} {e.format(scale, digits)}" for name, e in self.numbers)

    def row(self, claim: str, paper: str, ours: str | None = None) -> dict:
        """A reproduction-table row (claim, paper, ours, verdict, reason), with
        ``why_inconclusive`` when the verdict is inconclusive and its kind is known."""
        out = {
            "claim": claim,
            "paper": paper,
            "ours": self.ours() if ours is None else ours,
            "verdict": self.verdict,
            "reason": self.reason,
        }
        if self.why_inconclusive:
            out["why_inconclusive"] = self.why_inconclusive
        return out


def _pm(e: Estimate, z: float = Z) -> str:
    return f"{e.value:.4g} ± {z:.3g} x {e.se:.2g}"


def z_for(k: int, base: float = Z) -> float:
    """The z of each of ``k`` one-sided tests that together err no more often than one
    test at ``base`` (Bonferroni: a tail of Phi(-base) / k each). ``k`` <= 1: ``base``.

    At Z = 2 (a tail of 2.3%): 2.28 for 2 tests, 2.47 for 3, 2.67 for 6.
    """
    if k <= 1:
        return float(base)
    normal = NormalDist()
    return -normal.inv_cdf(normal.cdf(-base) / k)


def check_vocabulary(rows: Iterable[Mapping], *, strict: bool = True) -> list[Mapping]:
    """Raise ValueError unless every row's verdict is in the vocabulary.

    With ``strict`` also: setup facts (SETUP_FACTS) use only SETUP_VERDICTS,
    and the paper's claims never use ``checked``. A row's claim may carry a
    scope, ``"P1 (Restricted ImageNet)"``. A row may carry
    ``why_inconclusive`` (rows of rules version 1 do not): then its verdict
    is inconclusive and the kind one of INCONCLUSIVE_KINDS. Returns the rows.
    """
    rows = list(rows)
    problems = []
    for row in rows:
        claim = str(row.get("claim", "")).split("(")[0].strip()
        verdict = row.get("verdict")
        kind = row.get("why_inconclusive")
        if kind is not None and (verdict != INCONCLUSIVE or kind not in INCONCLUSIVE_KINDS):
            problems.append(f"{claim}: why_inconclusive {kind!r} for verdict {verdict!r}")
        if verdict not in VOCABULARY:
            problems.append(f"{claim}: {verdict!r} is not in the vocabulary")
        elif strict and claim in SETUP_FACTS and verdict not in SETUP_VERDICTS:
            problems.append(f"{claim} is a setup fact: {verdict!r} (allowed: {SETUP_VERDICTS})")
        elif strict and claim not in SETUP_FACTS and verdict not in CLAIM_VERDICTS:
            problems.append(f"{claim} is a claim of the paper: {verdict!r} is for setup facts")
    if problems:
        raise ValueError("; ".join(problems))
    return rows
