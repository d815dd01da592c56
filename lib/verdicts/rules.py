"""The general rules: a signed effect, a level crossed, a number matched, parts combined.

Each takes numbers with their standard errors (:class:`~lib.verdicts.noise.Estimate`)
and returns a :class:`~lib.verdicts.judgement.Judgement`; thresholds are in
:mod:`lib.verdicts.judgement`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import NamedTuple

import numpy as np

from lib.verdicts.judgement import (
    _ORDER,
    CHECKED,
    EXACT_TOL,
    INCONCLUSIVE,
    INCONCLUSIVE_KINDS,
    NOT_REPRODUCED,
    NOT_RUN,
    PROXY_ONLY,
    QUALITATIVE,
    REPRODUCED,
    UNDERPOWERED,
    WITHIN_NOISE,
    Judgement,
    Z,
    _over,
    _pm,
    z_for,
)
from lib.verdicts.noise import (
    Estimate,
    as_estimate,
)


# -- rules ----------------------------------------------------------------------
def signed_effect(
    effect: Estimate | float, *, name: str = "effect", z: float = Z, z_against: float | None = None
) -> Judgement:
    """The sign test with noise. ``effect`` is oriented so that > 0 is what the paper says.

    effect > z SE: reproduced; effect < -z_against SE: not reproduced
    (``z_against`` defaults to ``z``; :func:`combine` raises it to
    :func:`z_for` its number of tests); otherwise (including exactly z SE)
    inconclusive, ``within noise``. An unknown SE: inconclusive, ``below the
    rule's power``. An exact effect (SE 0) is judged by its sign alone;
    exactly 0 is inconclusive.
    """
    e = as_estimate(effect)
    return _signed(e, name, z, z if z_against is None else z_against, 1)


def _signed(e: Estimate, name: str, z: float, z_against: float, k: int) -> Judgement:
    za = z_for(k, z_against)
    again = partial(_signed, e, name, z, z_against)

    def judged(verdict: str, reason: str, kind: str | None = None) -> Judgement:
        return Judgement(verdict, ((name, e),), reason, kind, 1, again)

    if math.isnan(e.se):
        return judged(INCONCLUSIVE, f"{name}: no noise estimate, cannot judge", UNDERPOWERED)
    if _over(e.value, z * e.se):
        return judged(REPRODUCED, f"{name} {_pm(e, z)} is above 0")
    if _over(-e.value, za * e.se):
        return judged(NOT_REPRODUCED, f"{name} {_pm(e, za)} is below 0")
    if k > 1 and _over(-e.value, z_against * e.se):
        return judged(
            INCONCLUSIVE,
            f"{name} {_pm(e, z_against)} is below 0, but not beyond {za:.3g} SE, "
            f"the bar for one of {k} tests",
            WITHIN_NOISE,
        )
    return judged(INCONCLUSIVE, f"{name} {_pm(e, z)} is within noise of 0", WITHIN_NOISE)


def exceeds(
    estimate: Estimate | float,
    level: float,
    *,
    name: str = "value",
    z: float = Z,
    z_against: float | None = None,
) -> Judgement:
    """``estimate`` above ``level`` beyond the noise (the signed effect of estimate - level)."""
    e = as_estimate(estimate)
    return _beyond(e, float(level), 1, name, z, z if z_against is None else z_against, 1)


def below(
    estimate: Estimate | float,
    level: float,
    *,
    name: str = "value",
    z: float = Z,
    z_against: float | None = None,
) -> Judgement:
    """``estimate`` below ``level`` beyond the noise (the signed effect of level - estimate)."""
    e = as_estimate(estimate)
    return _beyond(e, float(level), -1, name, z, z if z_against is None else z_against, 1)


def _beyond(
    e: Estimate, level: float, sign: int, name: str, z: float, z_against: float, k: int
) -> Judgement:
    if sign > 0:
        effect, label = Estimate(e.value - level, e.se), f"{name} - {level:g}"
    else:
        effect, label = Estimate(level - e.value, e.se), f"{level:g} - {name}"
    j = _signed(effect, label, z, z_against, k)
    again = partial(_beyond, e, level, sign, name, z, z_against)
    return Judgement(j.verdict, ((name, e),), j.reason, j.why_inconclusive, 1, again)


def matches(
    ours: Estimate | float,
    paper: float,
    *,
    tol: float,
    name: str = "value",
    z: float = Z,
    z_against: float | None = None,
) -> Judgement:
    """An equivalence test: our number equals the paper's within ``tol``.

    With the interval value ± z SE:

    - reproduced: the whole interval lies within paper ± tol (inclusive);
    - not reproduced: |value - paper| > tol + z_against SE (``z_against``
      defaults to ``z``; :func:`combine` raises it for a claim of several parts);
    - inconclusive otherwise: ``below the rule's power`` when the interval
      is wider than the tolerance (z SE > tol: no such measurement could
      show agreement), else ``within noise`` (the interval straddles an end
      of the tolerance). An unknown SE: inconclusive, below the rule's power.

    ``tol`` is the agreement the claim asks for (e.g. 5e-3 for a number the
    paper quotes to two digits); a measured number (SE > 0) can only
    reproduce a claim with ``tol`` > 0. An exact number (SE 0) matches when
    within ``tol``, and is not reproduced beyond it.
    """
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    e = as_estimate(ours)
    return _matches(e, float(paper), tol, name, z, z if z_against is None else z_against, 1)


def _matches(
    e: Estimate, paper: float, tol: float, name: str, z: float, z_against: float, k: int
) -> Judgement:
    za = z_for(k, z_against)
    numbers = ((name, e), (f"paper {name}", Estimate(paper)))
    again = partial(_matches, e, paper, tol, name, z, z_against)

    def judged(verdict: str, reason: str, kind: str | None = None) -> Judgement:
        return Judgement(verdict, numbers, reason, kind, 1, again)

    if math.isnan(e.se):
        return judged(INCONCLUSIVE, f"{name}: no noise estimate, cannot judge", UNDERPOWERED)
    gap = abs(e.value - paper)
    if not _over(gap + z * e.se, tol):
        return judged(
            REPRODUCED, f"{name} {_pm(e, z)} lies within {tol:.3g} of the paper's {paper:g}"
        )
    if _over(gap, tol + za * e.se):
        return judged(
            NOT_REPRODUCED,
            f"{name} {e.value:.4g} is {gap:.3g} from the paper's {paper:g}, beyond "
            f"{tol:.3g} + {za:.3g} x {e.se:.2g}",
        )
    if _over(z * e.se, tol):
        return judged(
            INCONCLUSIVE,
            f"{name} {_pm(e, z)}: interval wider than the tolerance ({tol:.3g}) around "
            f"the paper's {paper:g}",
            UNDERPOWERED,
        )
    return judged(
        INCONCLUSIVE,
        f"{name} {_pm(e, z)} reaches beyond the paper's {paper:g} ± {tol:.3g}, within noise",
        WITHIN_NOISE,
    )


def all_hold(parts: Mapping[str, Judgement], *, tests: int | None = None) -> Judgement:
    """Several parts of one claim, all required: :func:`combine` (the weakest part's
    verdict, refutations corrected for the number of parts, reasons joined)."""
    return combine(parts, tests=tests)


def numbers_and_direction(numbers: Judgement, direction: Judgement) -> Judgement:
    """The paper's numbers matched and its direction holds: reproduced.

    The direction holds but the numbers do not: qualitatively reproduced.
    Otherwise the direction's verdict (not reproduced, or inconclusive, with
    its kind). Only the direction can refute: its tests are this judgement's.
    """
    return _numbers_and_direction(numbers, direction, 0)


def _numbers_and_direction(numbers: Judgement, direction: Judgement, k: int) -> Judgement:
    again = partial(_numbers_and_direction, numbers, direction) if direction.retest else None
    d = direction.for_tests(k) if k > 1 else direction
    both = numbers.numbers + d.numbers

    def judged(verdict: str, reason: str, kind: str | None = None) -> Judgement:
        return Judgement(verdict, both, reason, kind, direction.tests, again)

    if d.verdict != REPRODUCED:
        return judged(d.verdict, f"direction: {d.reason}", d.why_inconclusive)
    if numbers.verdict == REPRODUCED:
        return judged(REPRODUCED, f"{d.reason}; {numbers.reason}")
    return judged(QUALITATIVE, f"direction holds ({d.reason}); numbers: {numbers.reason}")


def at_most(judgement: Judgement, ceiling: str, why: str, *, validated: bool = False) -> Judgement:
    """A proxy's verdict: capped at ``ceiling`` and, unless ``validated``, floored at inconclusive.

    A proxy for what the paper claims (e.g. a model judge for how images
    look) can at best give ``ceiling`` (e.g. qualitatively reproduced); the
    reason says why when the cap bites. A proxy that cannot confirm cannot
    refute either: its "not reproduced" becomes inconclusive (kind
    ``proxy``), unless ``validated`` (a proxy whose judge passed its
    negative controls, or a cap on a direct measurement, not a proxy), which
    may refute. Verdicts outside the order (not run, checked) pass unchanged.
    An unvalidated proxy adds no test to a claim's multiplicity (it cannot refute).
    """
    return _at_most(judgement, ceiling, why, validated, 0)


def _at_most(judgement: Judgement, ceiling: str, why: str, validated: bool, k: int) -> Judgement:
    j = judgement.for_tests(k) if k > 1 else judgement
    if j.verdict not in _ORDER or ceiling not in _ORDER:
        return j
    verdict, reason, kind = j.verdict, j.reason, j.why_inconclusive
    if _ORDER.index(verdict) > _ORDER.index(ceiling):
        verdict, reason = ceiling, f"{reason}; at most {ceiling}: {why}"
        kind = PROXY_ONLY if ceiling == INCONCLUSIVE else None
    if verdict == NOT_REPRODUCED and not validated:
        verdict, kind = INCONCLUSIVE, PROXY_ONLY
        reason = f"{reason}; a proxy that cannot confirm cannot refute ({why})"
    if not validated:  # it cannot refute, so it is no test of the claim's multiplicity
        return Judgement(verdict, j.numbers, reason, kind)
    again = partial(_at_most, judgement, ceiling, why, validated) if judgement.retest else None
    return Judgement(verdict, j.numbers, reason, kind, judgement.tests, again)


class Fact(NamedTuple):
    """A setup fact for :func:`checked`: what ran, what the paper (or the authors' code)
    states, and, when the two differ on purpose, why (``by_design``)."""

    computed: object
    expected: object
    by_design: str | None = None


def _same(computed: object, expected: object, rel_tol: float) -> bool:
    if isinstance(computed, bool) or isinstance(expected, bool):
        return type(computed) is type(expected) and computed == expected
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in (computed, expected)
    )
    if numeric:
        return math.isclose(float(computed), float(expected), rel_tol=rel_tol, abs_tol=EXACT_TOL)
    return computed == expected


def checked(facts: Mapping[str, tuple | Fact], *, rel_tol: float = 1e-9) -> Judgement:
    """A setup fact: every ``name -> (computed, expected)`` pair agrees.

    A fact is a pair, or a :class:`Fact` (or a triple) whose third element
    ``by_design`` says why what ran differs from the paper on purpose (e.g.
    the ``cpu`` profile's smaller network). ``computed`` must come from what
    ran (the stored runs' settings, the models' parameter counts), never
    typed; ``expected`` is the paper's or the authors' code's. Numbers agree
    within ``rel_tol``, anything else when equal (a bool only with a bool).

    - any fact differs and the difference is not declared: not reproduced
      (each named in the reason, "differs: ...");
    - else any computed value is None (it could not be read): not run,
      naming those facts;
    - else: checked; a declared difference is named in the reason,
      "differs by design: <name>: <computed>, paper <expected> (<why>)".

    No facts: not run.
    """
    if not facts:
        return Judgement(NOT_RUN, (), "nothing to check")
    agree, design, unread, wrong = [], [], [], []
    for name, value in facts.items():
        fact = Fact(*value)
        if fact.computed is None:
            unread.append(name)
        elif _same(fact.computed, fact.expected, rel_tol):
            agree.append(name)
        elif fact.by_design:
            design.append(f"{name}: {fact.computed!r}, paper {fact.expected!r} ({fact.by_design})")
        else:
            wrong.append(f"{name}: {fact.computed!r}, expected {fact.expected!r}")
    notes = []
    if unread:
        notes.append(f"not read: {', '.join(unread)}")
    if design:
        notes.append("differs by design: " + "; ".join(design))
    if wrong:
        return Judgement(NOT_REPRODUCED, (), "; ".join(["differs: " + "; ".join(wrong), *notes]))
    if unread:
        agreed = [f"{len(agree)} facts agree"] if agree else []
        return Judgement(NOT_RUN, (), "; ".join([*notes, *agreed]))
    agreed = [f"{len(agree)} facts agree: {', '.join(agree)}"] if agree else []
    return Judgement(CHECKED, (), "; ".join([*agreed, *notes]))


def combine(rows: Mapping[str, Judgement], *, tests: int | None = None) -> Judgement:
    """One claim's overall verdict from its rows (one per data set, or per part).

    The weakest row wins (not reproduced < inconclusive < qualitatively
    reproduced < reproduced), so a failure on one data set is never hidden by
    a success on another. Rows not run are left out, and named in the
    reason; all rows not run: not run. Setup rows (checked) combine to
    checked only when all are checked.

    Multiplicity: any one row refutes the claim, so each row that can be
    judged again (:attr:`Judgement.retest`) is judged as one of the claim's
    k tests, its refutation needing :func:`z_for` (k) SE (Bonferroni: k null
    rows together refute at most as often as one at Z, 2.3%). Confirmation
    needs every row, so its z is left alone (an intersection-union test errs
    no more often than its weakest row). k is the rows' ``tests`` summed
    (their one-sided tests, nested combinations included), or ``tests``.
    An inconclusive result takes the first kind, in :data:`INCONCLUSIVE_KINDS`'
    order, of its inconclusive rows.
    """
    if not rows:
        return Judgement(NOT_RUN, (), "no rows")
    ran = {k: j for k, j in rows.items() if j.verdict != NOT_RUN}
    skipped = [k for k, j in rows.items() if j.verdict == NOT_RUN]
    if not ran:
        return Judgement(NOT_RUN, (), f"not run: {', '.join(skipped)}")
    total = sum(j.tests for j in ran.values())
    k = total if tests is None else int(tests)
    if k > 1:
        ran = {name: j.for_tests(k) for name, j in ran.items()}
    numbers = tuple((f"{name}: {n}", e) for name, j in ran.items() for n, e in j.numbers)
    verdicts = {j.verdict for j in ran.values()}
    if CHECKED in verdicts:
        verdict = CHECKED if verdicts == {CHECKED} else NOT_REPRODUCED
    else:
        verdict = min(verdicts, key=_ORDER.index)
    kind = None
    if verdict == INCONCLUSIVE:
        kinds = {j.why_inconclusive for j in ran.values() if j.verdict == INCONCLUSIVE}
        kind = next((c for c in INCONCLUSIVE_KINDS if c in kinds), None)
    reason = "; ".join(f"{name}: {j.verdict} ({j.reason})" for name, j in ran.items())
    if skipped:
        reason += f"; not run: {', '.join(skipped)}"
    if k > 1 and total:
        reason += f"; refutations judged as {k} tests"
    again = partial(_combine_for, dict(rows)) if any(j.retest for j in rows.values()) else None
    return Judgement(verdict, numbers, reason, kind, total, again)


def _combine_for(rows: Mapping[str, Judgement], k: int) -> Judgement:
    return combine(rows, tests=k)
