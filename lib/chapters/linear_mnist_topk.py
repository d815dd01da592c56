"""L4 of the linear-MNIST chapter (book/linear_mnist.py, paper Fig. 5(c)): standard
training on the k pixels most correlated with the label.

k is chosen on training images held out from the fits, never on the test set; the
chosen k is refitted on all training images and compared on the same test images with
the standard model (all 784 pixels) and the adversarially trained one, each difference
with a paired test-set SE plus both models' spread over bootstrap refits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lib import bootstrap, data, train
from lib import verdicts as V
from lib.chapters.linear_mnist import Recipe, resample
from lib.chapters.linear_mnist_spread import pick

TOP_K_MODELS = ("best k", "all pixels", "adversarial training")  # L4's three test-set arms


def keep_pixels(ds, keep: torch.Tensor):
    """``ds`` with every pixel outside the 784-long 0/1 mask ``keep`` set to 0."""
    x = ds.x.cpu()
    masked = (x.flatten(1) * keep.to(torch.uint8)).view_as(x).to(ds.device)
    return data.TensorData(ds.name, ds.split, masked, ds.y, ds.classes)


def split_off(ds, n_held: int, seed: int):
    """``ds`` split in two at random (seeded): the rest, and ``n_held`` held-out images."""
    if not 0 < n_held < len(ds):
        raise ValueError(f"hold out between 1 and {len(ds) - 1} images, not {n_held!r}")
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    rest, held = order[n_held:].sort().values, order[:n_held].sort().values
    return resample(ds, rest), resample(ds, held)


def top_k_fit(recipe: Recipe, train_set, corr, k: int, seed: int):
    """Standard training (the 100-epoch recipe) on the k pixels of highest |corr| (the
    others set to 0, so their weights stay 0). At k = 784 it is the standard model."""
    keep = torch.zeros(784)
    keep[corr.abs().argsort(descending=True)[: min(k, 784)]] = 1
    model, _ = recipe.fit(keep_pixels(train_set, keep), adversarial=False, seed=seed)
    return model


def top_k_curve(recipe: Recipe, train_set, evaluated: Mapping, top_k, seed: int) -> pd.DataFrame:
    """Paper Fig. 5(c): per k (capped at 784), :func:`top_k_fit` on ``train_set``, its
    pixels ranked by ``train_set``'s own correlations, and its accuracy clean ("std")
    and under the margin adversary ("adv") on each of ``evaluated`` (name -> data set):
    columns "std <name>", "adv <name>"."""
    corr = data.feature_label_correlation(train_set).cpu()
    rows = []
    for k in sorted({min(k, 784) for k in top_k}):
        model = top_k_fit(recipe, train_set, corr, k, seed)
        row = {"k": k}
        for name, ds in evaluated.items():
            row[f"std {name}"] = recipe.accuracy(model, ds)
            row[f"adv {name}"] = recipe.accuracy(model, ds, recipe.margin)
        rows.append(row)
    return pd.DataFrame(rows).set_index("k")


def choose_k(curve: pd.DataFrame) -> int:
    """The k of the highest adversarial accuracy on the held-out training images (column
    "adv val"), the smallest such k on a tie: the test set plays no part."""
    return int(curve["adv val"].idxmax())


def bootstrap_top_k(recipe: Recipe, train_set, test_set, *, k: int, resamples: int, seed: int):
    """:func:`top_k_fit` at a fixed ``k`` refitted on the bootstrap resamples of
    :func:`bootstrap_fits` (same ``resamples`` and ``seed``, so the same images), each
    ranking pixels by its resample's correlations: its test accuracies (in %), clean
    and under the margin adversary, one row per resample."""
    rows = []
    for r, index in enumerate(bootstrap.resample_indices(len(train_set), resamples, seed)):
        ds = resample(train_set, index)
        model = top_k_fit(recipe, ds, data.feature_label_correlation(ds).cpu(), k, seed)
        rows.append(
            {
                "resample": r,
                "std test": 100 * recipe.accuracy(model, test_set),
                "adv test": 100 * recipe.accuracy(model, test_set, recipe.margin),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class TopK:
    """L4's evidence, on the test set: the best k (chosen on ``n_val`` held-out training
    images) and the three arms of :data:`TOP_K_MODELS` fitted on all training images.

    ``correct``: arm -> "std test" / "adv test" -> per-test-image correctness (the
    same images, in the same order, for every arm). ``spread``: arm -> column -> the
    bootstrap SE of that test accuracy (a fraction) over refits on resampled training
    images.
    """

    best_k: int
    n_val: int
    correct: Mapping[str, Mapping[str, np.ndarray]]
    spread: Mapping[str, Mapping[str, float]]

    def accuracy(self, arm: str, column: str) -> V.Estimate:
        """One arm's test accuracy, binomial SE and training spread in quadrature."""
        c = np.asarray(self.correct[arm][column], dtype=np.float64)
        se = V.combined_se(V.binomial_se(c.mean(), len(c)), self.spread[arm][column])
        return V.Estimate(float(c.mean()), se)

    def effect(self, a: str, b: str, column: str) -> V.Estimate:
        """Arm a's test accuracy minus arm b's: paired on the test images, plus both
        arms' training spread (:func:`lib.bootstrap.paired_difference`)."""
        return bootstrap.paired_difference(
            self.correct[a][column],
            self.correct[b][column],
            spread_a=self.spread[a][column],
            spread_b=self.spread[b][column],
        )


def top_k_spread(boot: pd.DataFrame, boot_k: pd.DataFrame) -> dict:
    """:class:`TopK`'s ``spread``: each arm's bootstrap SE of its test accuracies (fractions),
    the best k's from :func:`bootstrap_top_k`, the other two arms' from
    :func:`bootstrap_fits` (all pixels: the standard model after 100 epochs; adversarial
    training: the converged adversarial model)."""
    arms = {
        "best k": boot_k,
        "all pixels": pick(boot, "100 epochs", "standard"),
        "adversarial training": pick(boot, "converged", "adversarial"),
    }
    return {
        arm: {c: bootstrap.bootstrap_se(f[c] / 100) for c in ("std test", "adv test")}
        for arm, f in arms.items()
    }


def top_k_evidence(
    recipe: Recipe, arms: Mapping, test_set, spread: Mapping, *, best_k: int, n_val: int
) -> TopK:
    """:class:`TopK` from the three fitted ``arms`` (:data:`TOP_K_MODELS` -> model),
    each scored per test image, clean and under the margin adversary."""

    def correct(model, attack=None) -> np.ndarray:
        ok, _ = train.outcomes(model, test_set, attack, precision=recipe.precision)
        return ok.cpu().numpy()

    return TopK(
        best_k,
        n_val,
        {
            arm: {"std test": correct(model), "adv test": correct(model, recipe.margin)}
            for arm, model in arms.items()
        },
        spread,
    )


def top_k_glue(curve: pd.DataFrame, topk: TopK) -> dict:
    """L4's glued values: the k chosen on held-out training images, the test
    accuracies of the model refitted on all training images at that k and of the one
    on all pixels, and the best k's gain over adversarial training, with its SE."""
    gain = topk.effect("best k", "adversarial training", "adv test")
    return {
        "L4_best_k": topk.best_k,
        "L4_n_val": topk.n_val,
        "L4_n_k": len(curve),
        "L4_best_topk_adv_acc": topk.accuracy("best k", "adv test").value,
        "L4_best_topk_std_acc": topk.accuracy("best k", "std test").value,
        "L4_all_pixels_adv_acc": topk.accuracy("all pixels", "adv test").value,
        "L4_gain_over_adversarial": gain.value,
        "L4_gain_over_adversarial_se": gain.se,
    }
