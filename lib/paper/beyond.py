"""The published numbers of the later work the trade-off chapter quotes (X1-X4).

Distances are l_inf in [0, 1] pixel space; accuracies are fractions (X3's
released model) or percent (as the sources print them).
"""

from __future__ import annotations

#: X1, Yang et al. 2020, Table 1 (numbers from the first author's slides): the
#: l_inf separation, (train-train, test-train), per data set.
SEPARATION = {"mnist": (0.737, 0.812), "cifar10": (0.212, 0.220)}

#: X3, Zhang et al. 2019 (TRADES), the released models: data set -> (eps, natural %,
#: robust %).
TRADES = {"mnist": (0.3, 99.48, 96.07), "cifar10": (0.031, 84.92, 56.61)}

#: X4, Raghunathan et al. 2020, Table 1: CIFAR-10 at l_inf eps 8/255, method ->
#: (robust %, standard %).
RST_EPS = 8 / 255
RST = {"PGD-AT": (45.8, 87.3), "RST + TRADES": (63.1, 89.7)}
