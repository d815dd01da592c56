"""The paper's eps (Tables 2 and 3, from :mod:`lib.paper`) and the large-eps attack of
Figure 3.

All eps are in [0, 1] pixel space (l2 norms for norm 2).
"""

from __future__ import annotations

from lib.attacks import PGD, check_norm, step_factor
from lib.data import check_dataset
from lib.paper.code import RI_LARGE_EPS
from lib.paper.tables import TABLE2_EPS, TABLE3_EPS

__all__ = ["RI_LARGE_EPS", "TABLE2_EPS", "TABLE3_EPS", "large_eps_attack", "table2_eps"]


def table2_eps(dataset: str, norm) -> float:
    """Table 2's eps for ``dataset`` and ``norm``; an error where the paper has none."""
    key = (check_dataset(dataset), check_norm(norm))
    if key not in TABLE2_EPS:
        raise ValueError(f"Table 2 has no eps for {dataset} with norm {norm!r}")
    return TABLE2_EPS[key]


def large_eps_attack(dataset: str, norm, *, steps: int | None = None) -> PGD:
    """PGD for the large-eps examples of Figure 3 at Table 3's eps, no random start.

    With ``steps``: that many steps of 2.5 eps / steps. Without: the
    authors' settings, which exist for Restricted ImageNet only
    (:data:`RI_LARGE_EPS`).
    """
    key = (check_dataset(dataset), check_norm(norm))
    if key not in TABLE3_EPS:
        raise ValueError(f"Table 3 has no eps for {dataset} with norm {norm!r}")
    if steps is None and dataset == "restricted_imagenet":
        eps, n, size = RI_LARGE_EPS[key[1]]
        return PGD(eps=eps, norm=key[1], steps=n, step_size=size, random_start=False)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int for {dataset}, got {steps!r}")
    return PGD.relative(TABLE3_EPS[key], key[1], steps, step_factor(steps), random_start=False)
