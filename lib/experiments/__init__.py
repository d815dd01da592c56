"""The experiments wing: a run's life, settings -> key -> store -> metrics.

- ``runs``: :class:`~lib.experiments.runs.RunConfig` (a run's settings), its
  :class:`~lib.experiments.runs.Plan` (resolved once against the profile and
  the device, the store key included), the one store-key schema, ``train_run``;
  ``make_run``: what a planned run computes (its recipe, training, metrics)
- ``profiles``: the smoke / cpu / paper profiles, Tables 2 and 3; ``grids``:
  what each chapter runs at each profile
- ``store`` (``store_format``: the on-disk format): runs keyed by their settings,
  written atomically; ``run_checks``: whether a stored run may be served;
  ``plan_data``: which data a planned run reads
- ``evals``: ``robust_eval`` and ``strong_eval`` of a stored run; ``results``:
  the metrics of a grid's stored runs for the chapters
- ``execute``: how runs are executed: CPU worker processes (``parallel``), the
  papermill runner (``runner``), the sweep command line (``sweep``) and its Ray
  executor (``ray_executor``)

This package imports nothing itself: import the modules (``from lib.experiments
import runs``), so that no module of it reaches another through the package.
"""
