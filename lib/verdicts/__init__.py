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

One home for the verdict rules, in small modules: the vocabulary, thresholds and
:class:`Judgement` in :mod:`~lib.verdicts.judgement`, the numbers with noise in
:mod:`~lib.verdicts.noise`, the general rules in :mod:`~lib.verdicts.rules`, P1-P3's
rules against Table 4 in :mod:`~lib.verdicts.table4`, and B4's masking audit in
:mod:`~lib.verdicts.masking`. The package exports their public names, so a chapter
writes ``from lib import verdicts as V`` and ``V.signed_effect(...)``.
"""

from __future__ import annotations

from lib.verdicts.judgement import (
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
    Judgement,
    Z,
    check_vocabulary,
    z_for,
)
from lib.verdicts.masking import (
    no_masking,
)
from lib.verdicts.noise import (
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
from lib.verdicts.rules import (
    Fact,
    all_hold,
    at_most,
    below,
    checked,
    combine,
    exceeds,
    matches,
    numbers_and_direction,
    signed_effect,
)
from lib.verdicts.table4 import (
    PAPER_TABLE4,
    count_rule,
    half_half_effects,
    pair_spread,
    paper_count,
    paper_half_half,
    pooled_effect,
    pooled_rule,
    ratio,
    roughly_proportional,
    trend,
    widened,
)

__all__ = [
    "BOUND_ONLY",
    "CHECKED",
    "CLAIM_VERDICTS",
    "EXACT_TOL",
    "Estimate",
    "Fact",
    "INCONCLUSIVE",
    "INCONCLUSIVE_KINDS",
    "Judgement",
    "MAJORITY",
    "MIN_AUDIT_IMAGES",
    "MIN_RATIO_ROWS",
    "NEGLIGIBLE_SHARE",
    "NOT_REPRODUCED",
    "NOT_RUN",
    "PAPER_TABLE4",
    "PGD_GAP",
    "PROXY_ONLY",
    "QUALITATIVE",
    "RATIO_FACTOR",
    "REPRODUCED",
    "RULES_VERSION",
    "SETUP_FACTS",
    "SETUP_VERDICTS",
    "UNDERPOWERED",
    "VOCABULARY",
    "WITHIN_NOISE",
    "Z",
    "accuracy",
    "all_hold",
    "as_estimate",
    "at_most",
    "below",
    "binomial_se",
    "check_vocabulary",
    "checked",
    "combine",
    "combined_se",
    "count_rule",
    "diff_se",
    "exceeds",
    "half_half_effects",
    "matches",
    "no_masking",
    "numbers_and_direction",
    "pair_spread",
    "paired_diff_se",
    "paper_count",
    "paper_half_half",
    "pooled_effect",
    "pooled_rule",
    "ratio",
    "roughly_proportional",
    "seed_spread",
    "seeds_and_test_set",
    "signed_effect",
    "trend",
    "widened",
    "z_for",
]
