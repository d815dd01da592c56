"""lib.chapters.linear_mnist and its figures, on a tiny synthetic binary data set."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
import torch

from lib import data, models
from lib import verdicts as V
from lib.chapters import linear_mnist as L
from lib.chapters import linear_mnist_plots as LP

matplotlib.use("Agg")

EPS = 0.2
RECIPE = L.Recipe(EPS, epochs=5, lr=0.1, converge_epochs=4)


def _binary(n: int, seed: int, split: str = "train") -> data.TensorData:
    """n 28x28 images: pixels 0-19 are 255 for class 1 ("7") and 0 for class 0 ("5"),
    with every tenth label flipped; the other pixels are uniform noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 256, (n, 784), generator=g, dtype=torch.uint8)
    x[:, :20] = (255 * y[:, None]).to(torch.uint8)
    y = torch.where(torch.arange(n) % 10 == 0, 1 - y, y)
    return data.TensorData("binary_mnist", split, x.view(n, 1, 28, 28), y, ("5", "7"))


TRAIN, TEST = _binary(64, 0), _binary(40, 1, "test")


def _model(weights) -> models.LinearModel:
    model = models.LinearModel(len(weights))
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(weights, dtype=torch.float32).view_as(model.weight))
    return model


def test_paper_table5_and_its_one_line_form():
    assert L.PAPER_TABLE5["standard"] == {
        "std train": 98.38,
        "std test": 92.10,
        "adv train": 13.69,
        "adv test": 14.95,
        "||w||_1": 41.08,
    }
    assert L._table5_text(L.PAPER_TABLE5) == (
        "standard: 98.38 / 92.10 std, 13.69 / 14.95 adv, ||w||_1 41.08; "
        "adversarial: 94.05 / 70.05 std, 76.05 / 74.65 adv, ||w||_1 13.69"
    )


def test_recipe_fits_deterministically_and_scores():
    assert not RECIPE.margin.box and RECIPE.box.box and RECIPE.margin.eps == EPS
    model, history = RECIPE.fit(TRAIN, adversarial=True, seed=3)
    again, _ = RECIPE.fit(TRAIN, adversarial=True, seed=3)
    assert len(history) == 5 and torch.equal(model.weight, again.weight)
    _, converged = RECIPE.fit(TRAIN, adversarial=False, converge=True)
    assert len(converged) == 4
    scores = RECIPE.scores(model, TRAIN, TEST)
    assert set(scores) == {*L.ACCURACIES, "||w||_1", "adv train (box)", "adv test (box)"}
    assert all(0 <= scores[c] <= 100 for c in L.ACCURACIES)
    # the margin adversary may push pixels out of [0, 1]: it is at least as strong as the box
    assert scores["adv test"] <= scores["adv test (box)"] <= scores["std test"]


def test_table5_and_its_glue():
    ours = {m: dict(L.PAPER_TABLE5[m], **{"adv test (box)": 50.0}) for m in L.PAPER_TABLE5}
    table = L.table5(ours, ours, "smoke")
    assert table.shape == (6, 6) and table.loc[("standard", "paper"), "std test"] == 92.10
    values = L.table5_glue(ours)
    assert values["L1_std_train_standard"] == pytest.approx(0.9838)
    assert values["L1_adv_test_box_adversarial"] == 0.5
    assert values["L1_max_train_test_gap"] == pytest.approx(0.24)  # 94.05 - 70.05
    assert values["L1_paper_adv_over_std"] == pytest.approx(0.046)


def test_pgd_finds_the_exact_worst_case():
    model, _ = RECIPE.fit(TRAIN, adversarial=False)
    check = L.pgd_check(RECIPE, {"standard": model}, TEST, seed=0)
    assert list(check.columns) == ["exact (box)", "PGD-50"]
    assert check.loc["standard", "PGD-50"] == pytest.approx(check.loc["standard", "exact (box)"])


def test_weight_below_and_keep_pixels():
    model = _model([1.0, -3.0, 0.0, 4.0])
    assert L.weight_below(model, torch.tensor([True, True, False, False])) == pytest.approx(0.5)
    keep = torch.zeros(784)
    keep[:3] = 1
    kept = L.keep_pixels(TRAIN, keep)
    assert torch.equal(kept.x.flatten(1)[:, :3], TRAIN.x.flatten(1)[:, :3])
    assert kept.x.flatten(1)[:, 3:].eq(0).all() and torch.equal(kept.y, TRAIN.y)


def test_sparsity_over_seeds_and_its_summaries():
    corr = data.feature_label_correlation(TRAIN)
    sparse = L.sparsity_over_seeds(RECIPE, TRAIN, corr, range(2))
    assert len(sparse) == 2 * 2 * 2 and set(L.SPARSITY) <= set(sparse.columns)
    assert sparse["seed"].tolist()[:4] == [0, 0, 1, 1]
    values = L.sparsity_glue(sparse)
    assert len(values) == 8 and all(0 <= v <= 1 for v in values.values())


def _sparse(adv_hoyer, std_hoyer=(0.2, 0.3, 0.25)):
    rows = [
        {
            "training": t,
            "model": m,
            "seed": s,
            "Hoyer": h,
            "top 10% share": h,
            "share below eps": 0.01 if m == "adversarial" else 0.4,
        }
        for t in L.TRAININGS
        for m, hs in (("standard", std_hoyer), ("adversarial", adv_hoyer))
        for s, h in enumerate(hs)
    ]
    return pd.DataFrame(rows)


def test_seed_mean_and_effect():
    sparse = _sparse((0.5, 0.7, 0.6))
    assert L.seed_mean(sparse, "converged", "adversarial", "Hoyer").value == pytest.approx(0.6)
    effect = L.seed_effect(sparse, "converged", "Hoyer")
    assert effect.value == pytest.approx(0.35) and effect.se > 0
    assert L.seed_effect(sparse, "converged", "Hoyer", sign=-1).value == pytest.approx(-0.35)


def test_top_k_curve_caps_k_and_its_glue():
    corr = data.feature_label_correlation(TRAIN)
    topk = L.top_k_curve(RECIPE, TRAIN, TEST, corr, [1000, 20, 20], seed=0)
    assert topk.index.tolist() == [20, 784] and topk.to_numpy().max() <= 1
    values = L.top_k_glue(
        pd.DataFrame(
            {"std test": [0.8, 0.9, 0.99], "adv test": [0.5, 0.7, 0.1]},
            index=pd.Index([1, 10, 784], name="k"),
        )
    )
    assert values == {
        "L4_best_k": 10,
        "L4_best_topk_adv_acc": 0.7,
        "L4_best_topk_std_acc": 0.9,
        "L4_all_pixels_adv_acc": 0.1,
        "L4_n_k": 3,
    }


def test_shuffle_labels_permutes_and_is_seeded():
    a, b = L.shuffle_labels(TRAIN, 0), L.shuffle_labels(TRAIN, 0)
    assert torch.equal(a.y, b.y) and not torch.equal(a.y, TRAIN.y)
    assert sorted(a.y.tolist()) == sorted(TRAIN.y.tolist()) and a.x is TRAIN.x


def _claims(ours, sparse, best_adv=0.78):
    topk = pd.DataFrame(
        {"std test": [0.60, 0.80, 0.99], "adv test": [0.55, best_adv, 0.01]},
        index=pd.Index([1, 10, 784], name="k"),
    )
    rows = L.claim_rows(
        ours=ours, converged=ours, sparse=sparse, topk=topk, n_train=12_000, n_test=2_000
    )
    return {r["claim"]: r for r in rows}


def test_claim_rows_reproduce_the_papers_own_numbers_and_fail_when_swapped():
    paper = {m: dict(L.PAPER_TABLE5[m]) for m in L.PAPER_TABLE5}
    rows = _claims(paper, _sparse((0.5, 0.7, 0.6)))
    assert list(rows) == [
        "L1 (100 epochs of GD)",
        "L1 (converged)",
        "L2 (100 epochs)",
        "L2 (converged)",
        "L3 (100 epochs)",
        "L3 (converged)",
        "L4",
    ]
    assert all(r["verdict"] == V.REPRODUCED for r in rows.values()), rows
    assert rows["L1 (converged)"]["ours"].endswith("(adv without the box; 12,000 / 2,000 images)")
    assert "(3 seeds)" in rows["L2 (converged)"]["ours"]
    swapped = _claims(
        {"standard": paper["adversarial"], "adversarial": paper["standard"]},
        _sparse((0.1, 0.15, 0.12)),
    )
    assert swapped["L1 (converged)"]["verdict"] == V.NOT_REPRODUCED
    assert swapped["L2 (converged)"]["verdict"] == V.NOT_REPRODUCED
    # k pixels at 70% adversarial accuracy do not beat adversarial training's 74.65%
    assert _claims(paper, _sparse((0.5, 0.7, 0.6)), 0.70)["L4"]["verdict"] == V.NOT_REPRODUCED


def test_figures_draw():
    model = _model(torch.linspace(-1, 1, 784))
    history = [{"epoch": e, "loss": 1 / e} for e in range(1, 5)]
    assert len(LP.learning_curves({"a": history}, 3).axes) == 1
    example = TEST.inputs(TEST.y == 1)[0, 0]
    assert len(LP.weights({"one": model, "two": model}, example, EPS).axes) == 7  # + colour bar
    corr = data.feature_label_correlation(TRAIN)
    assert len(LP.weight_vs_correlation(corr, {"one": model}, EPS, "t").axes) == 1
    topk = pd.DataFrame({"std test": [0.6, 0.9], "adv test": [0.5, 0.1]}, index=[1, 784])
    assert len(LP.top_k(topk, {"std test": 70.0, "adv test": 60.0}).axes) == 1
    matplotlib.pyplot.close("all")
