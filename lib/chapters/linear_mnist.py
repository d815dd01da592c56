"""The linear-MNIST chapter (book/linear_mnist.py, paper Appendix E): its models, tables,
glued values and claim rows.

A linear model f(x) = sign(w^T x + b) on binary MNIST (5 is y = -1, 7 is y = +1).
Its exact l_inf worst case is known in closed form (:mod:`lib.attacks.linear`), so
training and evaluation need no attack. Pixels are in [0, 1] and eps is the l_inf
radius in that space. Accuracies are in percent in the score tables (as the paper's
Table 5) and fractions everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from lib import attacks, data, models, sparsity, train
from lib import verdicts as V
from lib.paper import tables as paper_tables

ACCURACIES = paper_tables.TABLE5_COLUMNS[:4]  # Table 5's accuracy columns
PAPER_TABLE5 = paper_tables.TABLE5  # Table 5 of the paper: accuracies in %, then ||w||_1
TRAININGS = ("100 epochs", "converged")  # the two recipes each model is trained with
SPARSITY = ("Hoyer", "top 10% share", "share below eps")  # the measures of L2 and L3


@dataclass(frozen=True)
class Recipe:
    """How the chapter trains and evaluates a linear model on 784 pixels.

    The paper's recipe is ``epochs`` steps of full-batch gradient descent with
    step ``lr`` on the cross-entropy (Appendix A.2); "converged" is Adam at 1e-3
    for ``converge_epochs``, decayed x0.1 at half and three quarters of training.
    Adversarial training minimizes the exact robust loss, margin - eps ||w||_1.
    Everything runs in fp32, so every number is exact.
    """

    eps: float  # l_inf radius in [0, 1] pixel space
    epochs: int  # full-batch gradient descent steps (the paper's recipe)
    lr: float  # gradient descent step size
    converge_epochs: int  # Adam epochs of the converged recipe
    device: torch.device | str = "cpu"
    precision: str = "fp32"

    @property
    def margin(self) -> attacks.LinearWorstCase:
        """The paper's adversary: the margin drops by eps ||w||_1 (pixels may leave [0, 1])."""
        return attacks.LinearWorstCase(self.eps, box=False)

    @property
    def box(self) -> attacks.LinearWorstCase:
        """The exact worst valid image: every perturbed pixel clipped to [0, 1]."""
        return attacks.LinearWorstCase(self.eps, box=True)

    def fit(self, ds, *, adversarial: bool, converge: bool = False, seed: int = 0):
        """A linear model trained on ``ds`` (standard or adversarial), and its history.
        ``seed`` seeds the initialization and the training loop."""
        recipe = dict(epochs=self.epochs, lr=self.lr, optimizer="sgd")
        if converge:
            recipe = dict(
                epochs=self.converge_epochs, lr=1e-3, optimizer="adam", lr_milestones=(0.5, 0.75)
            )
        torch.manual_seed(seed)
        model = models.LinearModel(784).to(self.device)
        history = train.train(
            model,
            ds,
            batch_size=None,
            momentum=0.0,
            **recipe,
            mix="adversarial" if adversarial else "clean",
            attack=self.margin if adversarial else None,
            seed=seed,
            precision=self.precision,
            progress=False,
        )
        return model, history

    def accuracy(self, model, ds, attack=None) -> float:
        """The accuracy of ``model`` on ``ds`` (a fraction), clean or under ``attack``."""
        return train.evaluate(model, ds, attack, precision=self.precision)

    def scores(self, model, train_set, test_set) -> dict:
        """Table 5's columns for one model (accuracies in %), and the box versions."""
        acc = lambda ds, attack=None: 100 * self.accuracy(model, ds, attack)  # noqa: E731
        return {
            "std train": acc(train_set),
            "std test": acc(test_set),
            "adv train": acc(train_set, self.margin),
            "adv test": acc(test_set, self.margin),
            "||w||_1": model.weight.abs().sum().item(),
            "adv train (box)": acc(train_set, self.box),
            "adv test (box)": acc(test_set, self.box),
        }


def table5(ours: dict, converged: dict, profile: str) -> pd.DataFrame:
    """Table 5: the paper's rows beside ours, after 100 epochs and converged."""
    rows = []
    for name in ("standard", "adversarial"):
        rows.append({"training": name, "source": "paper", **PAPER_TABLE5[name]})
        rows.append({"training": name, "source": f"ours, 100 epochs ({profile})", **ours[name]})
        rows.append({"training": name, "source": f"ours, converged ({profile})", **converged[name]})
    return pd.DataFrame(rows).set_index(["training", "source"])


def table5_glue(ours: dict) -> dict:
    """L1's glued values: our accuracies as fractions, ||w||_1, the box's adversarial test
    accuracy, the largest train-test gap, and the paper's own Table 5 against itself
    (under an exact worst case adversarial accuracy cannot exceed standard accuracy)."""
    values = {}
    for name in ("standard", "adversarial"):
        for column in ACCURACIES:
            values[f"L1_{column.replace(' ', '_')}_{name}"] = ours[name][column] / 100
        values[f"L1_w_l1_{name}"] = ours[name]["||w||_1"]
        values[f"L1_adv_test_box_{name}"] = ours[name]["adv test (box)"] / 100
    gap = max(abs(ours[m]["std train"] - ours[m]["std test"]) for m in ours) / 100
    pa = PAPER_TABLE5["adversarial"]
    return values | {
        "L1_max_train_test_gap": gap,
        "L1_paper_adv_test": pa["adv test"] / 100,
        "L1_paper_std_test": pa["std test"] / 100,
        "L1_paper_adv_over_std": (pa["adv test"] - pa["std test"]) / 100,
    }


def pgd_check(recipe: Recipe, named_models: dict, test_set, seed: int) -> pd.DataFrame:
    """Per model, the exact worst case in the box against what PGD-50 (steps of 0.01,
    random start seeded by ``seed``) finds: on a linear model they must agree."""
    strong_pgd = attacks.PGD(eps=recipe.eps, norm="inf", steps=50, step_size=0.01)
    check = {}
    for name, model in named_models.items():
        by_pgd = train.evaluate(
            model,
            test_set,
            strong_pgd,
            precision=recipe.precision,
            generator=torch.Generator().manual_seed(seed),
        )
        check[name] = (recipe.accuracy(model, test_set, recipe.box), by_pgd)
    return pd.DataFrame(check, index=["exact (box)", "PGD-50"]).T


def weight_below(model, below: torch.Tensor) -> float:
    """The share of the model's ||w||_1 on the pixels where ``below`` is True."""
    w = model.weight.detach().abs().cpu()
    return (w[below].sum() / w.sum()).item()


def sparsity_over_seeds(recipe: Recipe, train_set, corr, seeds) -> pd.DataFrame:
    """L2 and L3 measured per seed: a standard and an adversarial model per seed and
    recipe of :data:`TRAININGS`, with their :data:`SPARSITY` measures."""
    sparse = []
    for trained in TRAININGS:
        for seed in seeds:
            for name, adversarial in (("standard", False), ("adversarial", True)):
                w = (
                    recipe.fit(
                        train_set,
                        adversarial=adversarial,
                        converge=trained == "converged",
                        seed=seed,
                    )[0]
                    .weight.detach()
                    .cpu()
                )
                sparse.append(
                    {
                        "training": trained,
                        "model": name,
                        "seed": seed,
                        "Hoyer": sparsity.hoyer(w),
                        "top 10% share": sparsity.top_share(w, 0.1),
                        "share below eps": sparsity.share_below(w, corr, recipe.eps),
                    }
                )
    return pd.DataFrame(sparse)


def seed_mean(sparse: pd.DataFrame, trained: str, model: str, column: str) -> V.Estimate:
    """One model's measure as mean ± its spread over seeds."""
    t = sparse[(sparse["training"] == trained) & (sparse["model"] == model)]
    return V.seed_spread(t[column])


def seed_effect(sparse: pd.DataFrame, trained: str, column: str, sign: int = 1) -> V.Estimate:
    """(adversarial - standard) x sign per seed, as mean ± its spread over seeds."""
    t = sparse[sparse["training"] == trained]
    adv = t[t["model"] == "adversarial"][column].to_numpy()
    std = t[t["model"] == "standard"][column].to_numpy()
    return V.seed_spread(sign * (adv - std))


def sparsity_glue(sparse: pd.DataFrame) -> dict:
    """L2's glued values: the mean Hoyer sparsity and top-10% share per model and recipe."""
    values = {}
    for trained, key in zip(TRAININGS, ("gd", "converged"), strict=True):
        for model in ("standard", "adversarial"):
            values[f"L2_hoyer_{model}_{key}"] = seed_mean(sparse, trained, model, "Hoyer").value
            top = seed_mean(sparse, trained, model, "top 10% share")
            values[f"L2_top_{model}_{key}"] = top.value
    return values


def keep_pixels(ds, keep: torch.Tensor):
    """``ds`` with every pixel outside the 784-long 0/1 mask ``keep`` set to 0."""
    x = ds.x.cpu()
    masked = (x.flatten(1) * keep.to(torch.uint8)).view_as(x).to(ds.device)
    return data.TensorData(ds.name, ds.split, masked, ds.y, ds.classes)


def top_k_curve(recipe: Recipe, train_set, test_set, corr, top_k, seed: int) -> pd.DataFrame:
    """Paper Fig. 5(c): standard training on the k pixels of highest |E[y x_i]| (the
    others set to 0, so their weights stay 0), test accuracy clean and under the margin
    adversary per k (k capped at 784). ``seed`` seeds each model."""
    order = corr.abs().argsort(descending=True)
    rows = []
    for k in sorted({min(k, 784) for k in top_k}):
        keep = torch.zeros(784)
        keep[order[:k]] = 1
        model, _ = recipe.fit(keep_pixels(train_set, keep), adversarial=False, seed=seed)
        rows.append(
            {
                "k": k,
                "std test": recipe.accuracy(model, test_set),
                "adv test": recipe.accuracy(model, test_set, recipe.margin),
            }
        )
    return pd.DataFrame(rows).set_index("k")


def top_k_glue(topk: pd.DataFrame) -> dict:
    """L4's glued values: the k of the best adversarial accuracy, its accuracies, and
    the adversarial accuracy with all pixels."""
    best_k = int(topk["adv test"].idxmax())
    return {
        "L4_best_k": best_k,
        "L4_best_topk_adv_acc": float(topk["adv test"].max()),
        "L4_best_topk_std_acc": float(topk.loc[best_k, "std test"]),
        "L4_all_pixels_adv_acc": float(topk["adv test"].iloc[-1]),
        "L4_n_k": len(topk),
    }


def shuffle_labels(ds, seed: int):
    """``ds`` with its labels permuted (seeded): every feature-label correlation is noise."""
    g = torch.Generator().manual_seed(seed)
    y = ds.y[torch.randperm(len(ds), generator=g).to(ds.device)]
    return data.TensorData(ds.name, ds.split, ds.x, y, ds.classes)


def _table5_rule(sc: dict, n_of: dict) -> V.Judgement:
    """L1: Table 5's numbers within 2 points (binomial SEs on each set), and its
    direction: adversarial training lowers standard accuracy and ||w||_1 and raises
    adversarial accuracy."""

    def acc(scores, column):
        return V.accuracy(scores[column] / 100, n_of[column.split()[1]])

    s_, a_ = sc["standard"], sc["adversarial"]
    numbers = V.all_hold(
        {
            f"{name} {col}": V.matches(
                acc(sc[name], col), PAPER_TABLE5[name][col] / 100, tol=0.02, name=f"{name} {col}"
            )
            for name in ("standard", "adversarial")
            for col in ACCURACIES
        }
    )
    direction = V.all_hold(
        {
            "std down": V.signed_effect(
                acc(s_, "std test") - acc(a_, "std test"), name="std test drop"
            ),
            "adv up": V.signed_effect(
                acc(a_, "adv test") - acc(s_, "adv test"), name="adv test gain"
            ),
            "||w|| down": V.signed_effect(s_["||w||_1"] - a_["||w||_1"], name="||w||_1 drop"),
        }
    )
    return V.numbers_and_direction(numbers, direction)


def _table5_text(sc: dict) -> str:
    """Table 5 in one line: train / test accuracy, clean and adversarial, and ||w||_1."""
    return "; ".join(
        f"{m}: {t['std train']:.2f} / {t['std test']:.2f} std, {t['adv train']:.2f} / "
        f"{t['adv test']:.2f} adv, ||w||_1 {t['||w||_1']:.2f}"
        for m, t in ((m, sc[m]) for m in ("standard", "adversarial"))
    )


def _sparsity_text(sparse: pd.DataFrame, trained: str, columns) -> str:
    n_seeds = sparse["seed"].nunique()
    return (
        "; ".join(
            f"{c}: {seed_mean(sparse, trained, 'standard', c).format()} (standard) vs "
            f"{seed_mean(sparse, trained, 'adversarial', c).format()} (adversarial)"
            for c in columns
        )
        + f" ({n_seeds} seeds)"
    )


def claim_rows(*, ours: dict, converged: dict, sparse: pd.DataFrame, topk, n_train, n_test):
    """The reproduction table's rows L1-L4, judged by the rules of :mod:`lib.verdicts`.

    Binomial SEs on the training and test sets (``n_train``, ``n_test`` images) for
    accuracies, the spread over seeds for sparsity; a difference counts beyond 2 SE.
    ``ours`` and ``converged`` are :meth:`Recipe.scores` per model, ``sparse``
    :func:`sparsity_over_seeds` and ``topk`` :func:`top_k_curve`.
    """
    n_of = {"train": n_train, "test": n_test}
    l2 = {
        trained: V.all_hold(
            {
                "Hoyer": V.signed_effect(seed_effect(sparse, trained, "Hoyer"), name="Hoyer gain"),
                "top 10%": V.signed_effect(
                    seed_effect(sparse, trained, "top 10% share"), name="top-10% share gain"
                ),
            }
        )
        for trained in TRAININGS
    }
    l3 = {
        trained: V.numbers_and_direction(
            V.matches(
                seed_mean(sparse, trained, "adversarial", "share below eps"),
                0.0,
                tol=V.NEGLIGIBLE_SHARE,
                name="robust share below eps",
            ),
            V.signed_effect(
                seed_effect(sparse, trained, "share below eps", sign=-1),
                name="share below eps drop",
            ),
        )
        for trained in TRAININGS
    }
    best_k = int(topk["adv test"].idxmax())
    best = V.accuracy(float(topk["adv test"].max()), n_test)
    robust = V.accuracy(converged["adversarial"]["adv test"] / 100, n_test)
    l4 = V.all_hold(
        {
            "std rises": V.signed_effect(
                V.accuracy(float(topk["std test"].iloc[-1]), n_test)
                - V.accuracy(float(topk.loc[best_k, "std test"]), n_test),
                name="std(784) - std(best k)",
            ),
            "adv falls": V.signed_effect(
                best - V.accuracy(float(topk["adv test"].iloc[-1]), n_test),
                name="adv(best k) - adv(784)",
            ),
            "beats adversarial training": V.signed_effect(
                best - robust, name="adv(best k) - adv(converged adversarial)"
            ),
        }
    )
    images = f" (adv without the box; {n_train:,} / {n_test:,} images)"
    return [
        *[
            _table5_rule(sc, n_of).row(
                f"L1 ({t})", _table5_text(PAPER_TABLE5), _table5_text(sc) + images
            )
            for t, sc in (("100 epochs of GD", ours), ("converged", converged))
        ],
        *[
            l2[t].row(
                f"L2 ({t})",
                "the robust model's weights are sparse",
                _sparsity_text(sparse, t, ("Hoyer", "top 10% share")),
            )
            for t in l2
        ],
        *[
            l3[t].row(
                f"L3 ({t})",
                "the robust model puts no weight below a correlation threshold set by eps",
                _sparsity_text(sparse, t, ("share below eps",)),
            )
            for t in l3
        ],
        l4.row(
            "L4",
            "few robust pixels: standard training is more robust than adversarial training; "
            "more pixels: standard accuracy up, robustness down",
            f"best k = {best_k}: adv {best.format()} vs adversarial training (converged) "
            f"{robust.format()}; all 784 pixels: adv "
            f"{topk['adv test'].iloc[-1]:.2%}, std {topk['std test'].iloc[-1]:.2%} vs "
            f"{topk.loc[best_k, 'std test']:.2%} at best k (adv without the box)",
        ),
    ]
