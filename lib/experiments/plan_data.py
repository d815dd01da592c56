"""Which data a planned run trains and is evaluated on: the one choice of its subsets.

A run trains on the seeded subset of ``n_train`` training images, and is
evaluated on the profile's first ``n_test`` test images (seed 0: the same for
every run), robust accuracy on the first ``n_test_robust`` of those.
:func:`lib.experiments.runs.run_data` reads them for a :class:`lib.experiments.runs.RunConfig`. (The
``plan`` arguments are :class:`lib.experiments.runs.Plan`; not imported, as
:mod:`lib.experiments.runs` imports this module.)
"""

from __future__ import annotations

from lib import data as data_lib


def plan_split(plan, split: str, *, whole: bool = False) -> data_lib.Batches:
    """The ``"train"`` or ``"test"`` images ``plan`` reads, on its device.

    ``whole=True``: the whole split, read the same way, instead of the run's subset.
    """
    if data_lib.check_split(split) == "train":
        n, seed = plan.n_train, plan.config.seed
    else:
        n, seed = plan.settings.n_test, 0
    n = None if whole else n
    return data_lib.load_split(
        plan.config.dataset, split, n, seed=seed, device=plan.device, **plan.data_options
    )


def robust_images(test_set, n: int | None):
    """The test images robust accuracy is measured on: the first ``n`` (None: all)."""
    return test_set if n is None else test_set.head(n)
