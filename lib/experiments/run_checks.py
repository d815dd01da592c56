"""The checks that decide whether a stored run, or a stored evaluation of it, may be served.

:func:`usable_run`: a stored run of a :class:`lib.experiments.runs.Plan` is served as its
model only with a checkpoint, the metrics its readers use (with their types)
and, when it recorded them, the same bytes of data (:func:`run_data_hashes`).
:func:`measured_on` and :func:`bound_to_run`: a stored evaluation names the
checkpoint it measured and is served only while the run's stored checkpoint is
that one. What fails a check is recomputed, never served. (The ``plan``
arguments are :class:`lib.experiments.runs.Plan`; not imported, as
:mod:`lib.experiments.runs` imports this module.)
"""

from __future__ import annotations

import math

from lib import data as data_lib
from lib.experiments.store import Run, Store

#: What :func:`lib.experiments.runs.train_run` records in ``metrics``, and the type each must have
#: (readers do arithmetic on them): accuracies in [0, 1], counts >= 0.
_ACCURACIES = ("std_acc", "adv_acc")
_COUNTS = ("n_train", "n_test")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def usable_run(run: Run, plan) -> bool:
    """Whether a stored run of ``plan`` can be served as its model: a checkpoint,
    the metrics its readers use with their types, and (for runs that recorded
    it) the same bytes of data (:func:`lib.data.content_hashes`). Else it is
    retrained, never served.

    Runs stored before the data hash was recorded are served on their key's
    sampled fingerprint alone (retraining every stored run would cost hours).
    """
    metrics = run.metrics
    if run.record.get("checkpoint") is None:
        return False
    if not all(_is_number(metrics.get(k)) and 0 <= metrics[k] <= 1 for k in _ACCURACIES):
        return False
    if not all(
        isinstance(metrics.get(k), int) and not isinstance(metrics[k], bool) and metrics[k] >= 0
        for k in _COUNTS
    ):
        return False
    provenance = run.record["provenance"]
    if not all(isinstance(provenance.get(k), str) for k in ("precision", "device")):
        return False  # one_run reads them
    recorded = provenance.get("data_sha256")
    return recorded is None or recorded == run_data_hashes(plan)


def measured_on(run: Run) -> dict:
    """What an evaluation of ``run``'s model records (in its provenance) to bind
    itself to that model: the checkpoint's SHA-256."""
    return {"checkpoint_sha256": run.record["checkpoint"]["sha256"]}


def bound_to_run(store: Store, plan, needs: tuple[str, ...] = ()):
    """``valid`` for :meth:`Store.get_or_run` of a stored evaluation of ``plan``'s
    run: it measured the checkpoint stored now (:func:`measured_on`), and its
    metrics ``needs`` are numbers. A run retrained under the same key, or gone,
    makes its evaluations recomputed, never served."""

    def valid(evaluation: Run) -> bool:
        metrics = evaluation.metrics
        if not all(_is_number(metrics.get(k)) for k in needs):
            return False
        run = store.load(plan.key)
        if run is None or not usable_run(run, plan):
            return False  # no model to vouch for it: recomputed (the run is trained)
        measured = evaluation.record["provenance"].get("checkpoint_sha256")
        return measured == run.record["checkpoint"]["sha256"]

    return valid


def run_data_hashes(plan) -> dict | None:
    """Every byte of the data ``plan`` reads, hashed per split (None: image folders)."""
    return data_lib.content_hashes(plan.config.dataset, **plan.data_options)
