"""The linear-MNIST chapter's uncertainty (book/linear_mnist.py, issue 39): its four
models refitted on bootstrap resamples of the training images, and every measure of
L1-L3 as an estimate with a standard error.

The chapter's fits are deterministic (weights start at 0, full-batch steps), so a seed
moves them only by rounding; the spread that matters is over the sample of training
images (:mod:`lib.bootstrap`). Accuracies are in percent in the frames, fractions in
the estimates.
"""

from __future__ import annotations

import pandas as pd

from lib import bootstrap, data
from lib import verdicts as V
from lib.chapters.linear_mnist import (
    ACCURACIES,
    MEASURES,
    MODELS,
    TRAININGS,
    Recipe,
    fit_four,
    fmt,
    measures_frame,
    resample,
)


def bootstrap_fits(recipe: Recipe, train_set, test_set, *, resamples: int, seed: int):
    """The four models of :func:`fit_four` refitted on each of ``resamples`` bootstrap
    resamples of ``train_set`` (:func:`lib.bootstrap.resample_indices` with ``seed``),
    each measured as the chapter measures its own models: train accuracies on its
    resample, test accuracies on ``test_set``, "share below eps" against its resample's
    correlations. One row per (resample, recipe, model), :data:`MEASURES` as columns."""
    rows = []
    for r, index in enumerate(bootstrap.resample_indices(len(train_set), resamples, seed)):
        ds = resample(train_set, index)
        corr = data.feature_label_correlation(ds).cpu()
        fitted = {key: model for key, (model, _) in fit_four(recipe, ds, seed).items()}
        frame = measures_frame(recipe, fitted, ds, test_set, corr)
        rows.append(frame.assign(resample=r))
    return pd.concat(rows, ignore_index=True)


def pick(frame: pd.DataFrame, trained: str, model: str) -> pd.DataFrame:
    """The rows of ``frame`` for one recipe and model."""
    return frame[(frame["training"] == trained) & (frame["model"] == model)]


def estimates(full: pd.DataFrame, boot: pd.DataFrame, *, n_train: int, n_test: int) -> dict:
    """Every measure with its SE: (recipe, model) -> column of :data:`MEASURES` -> Estimate.

    The value is the model fitted on all training images (``full``, from
    :func:`measures_frame`), accuracies as fractions. The SE is the bootstrap SE over
    ``boot`` (:func:`bootstrap_fits`; :func:`lib.bootstrap.bootstrap_se`); a test
    accuracy adds, in quadrature, its binomial SE on the ``n_test`` test images, which
    the resamples share. A training accuracy's resamples are scored on themselves, so
    their spread already holds the sampling of the images it is measured on: its SE is
    that spread, floored at the binomial SE on ``n_train`` images (so that 0 or 1 on
    every resample still has an error of order 1 / n, as :func:`lib.verdicts.noise.binomial_se`).
    """
    out = {}
    for trained in TRAININGS:
        for name in MODELS:
            (value,) = pick(full, trained, name).to_dict("records")
            spread = pick(boot, trained, name)
            est = {}
            for column in MEASURES:
                scale = 100 if column in ACCURACIES else 1
                v = value[column] / scale
                se = bootstrap.bootstrap_se(spread[column] / scale)
                if column.endswith("test"):
                    se = V.combined_se(se, V.binomial_se(v, n_test))
                elif column.endswith("train"):
                    se = max(se, V.binomial_se(v, n_train))
                est[column] = V.Estimate(v, se)
            out[trained, name] = est
    return out


def measures_table(est: dict) -> pd.DataFrame:
    """:data:`MEASURES` per (recipe, model) as "value ± SE" strings, accuracies in %."""
    return pd.DataFrame(
        {
            key: {
                c: fmt(e, 100 if c in ACCURACIES else 1, 2 if c in ACCURACIES else 3)
                for c, e in est[key].items()
            }
            for key in est
        }
    ).T.rename_axis(["training", "model"])


def sparsity_glue(est: dict) -> dict:
    """L2's glued values: Hoyer's sparsity and the top-10% share per model and recipe."""
    values = {}
    for trained, key in zip(TRAININGS, ("gd", "converged"), strict=True):
        for name in MODELS:
            values[f"L2_hoyer_{name}_{key}"] = est[trained, name]["Hoyer"].value
            values[f"L2_top_{name}_{key}"] = est[trained, name]["top 10% share"].value
    return values
