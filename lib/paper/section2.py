"""The constants of the paper's Section 2 (the distribution D and Theorem 2.1).

Probabilities are fractions in [0, 1]; eta is in feature units.
"""

from __future__ import annotations

#: Section 2.1, after eq. 3: "we can think of p as being 0.95" (P[x1 = y]).
P = 0.95

#: Section 2.1 (after eq. 4): f_avg's standard accuracy is > 99% when
#: eta >= ETA_SCALE / sqrt(d) (Phi(3) = 99.87%; the ledger's T2).
ETA_SCALE = 3.0

#: Theorem 2.2: it holds for eta >= SVM_ETA_SCALE / sqrt(d) and p <= SVM_P_MAX.
SVM_ETA_SCALE = 4.0
SVM_P_MAX = 0.975

#: Section 2.1: the standard accuracy f_avg attains (">99%", T2) ...
STANDARD_ABOVE = 0.99
#: ... and its accuracy against eps = 2 eta (below 1%, T3).
ADVERSARIAL_BELOW = 0.01

#: Section 2.1: the adversary of Theorem 2.1 has eps = EPS_OVER_ETA * eta.
EPS_OVER_ETA = 2.0

#: Theorem 2.1 at p = 0.95 (the paper's footnote 1, the ledger's T4): standard
#: accuracy -> the bound p / (1 - p) * delta on robust accuracy.
FOOTNOTE_BOUNDS = {0.99: 0.19, 0.96: 0.76}
