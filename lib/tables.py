"""The paper's eps (Tables 2 and 3) and the large-eps attack of Figure 3.

All eps are in [0, 1] pixel space (l2 norms for norm 2).
"""

from __future__ import annotations

from lib.attacks import PGD, check_norm, step_factor
from lib.data import check_dataset

#: Table 2: eps for adversarial training and evaluation, [0, 1] pixel space.
TABLE2_EPS = {
    ("binary_mnist", "inf"): 0.2,
    ("mnist", "inf"): 0.3,
    ("cifar10", "inf"): 4 / 255,
    ("restricted_imagenet", "inf"): 0.005,
    ("mnist", 2): 1.5,
    ("cifar10", 2): 0.314,
    ("restricted_imagenet", 2): 1.0,
}

#: Table 3: the large eps of the Figure 3 examples.
TABLE3_EPS = {
    ("mnist", "inf"): 0.3,
    ("cifar10", "inf"): 0.125,
    ("restricted_imagenet", "inf"): 0.25,
    ("mnist", 2): 4.0,
    ("cifar10", 2): 4.7,
    ("restricted_imagenet", 2): 40.0,
}


def table2_eps(dataset: str, norm) -> float:
    """Table 2's eps for ``dataset`` and ``norm``; an error where the paper has none."""
    key = (check_dataset(dataset), check_norm(norm))
    if key not in TABLE2_EPS:
        raise ValueError(f"Table 2 has no eps for {dataset} with norm {norm!r}")
    return TABLE2_EPS[key]


#: CLAIMS S4: the authors' large-eps examples of Restricted ImageNet
#: (robust-features-code, make_visualizations.py): norm -> (eps, steps, step size).
RI_LARGE_EPS = {2: (40.0, 40, 1.5), "inf": (0.25, 120, 0.003)}


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
