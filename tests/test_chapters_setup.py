"""lib.chapters.setup: the setup chapter's tables, glued values and setup facts, on fake
data sets where loading would be slow, and on the library's own settings elsewhere."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from lib import verdicts
from lib.chapters import setup, setup_facts
from lib.experiments import profiles

matplotlib.use("Agg")


class FakeSplit:
    """A data set split as the chapter reads it: labels, classes, images in [0, 1]."""

    def __init__(self, n_classes: int, per_class: int = 3, complete: bool = True):
        self.y = torch.arange(n_classes).repeat(per_class)
        self.x = torch.zeros(len(self.y), 1, 4, 4, dtype=torch.uint8)
        self.x[:, 0, 0, 0] = self.y.to(torch.uint8)  # each image carries its label
        self.num_classes, self.complete = n_classes, complete
        self.classes = [f"c{i}" for i in range(n_classes)]

    def __len__(self):
        return len(self.y)

    def inputs(self, idx):
        return self.x[idx].float() / 255


LOADED = {
    "mnist": {"train": FakeSplit(10, 6), "test": FakeSplit(10)},
    "binary_mnist": {"train": FakeSplit(2, 5), "test": FakeSplit(2)},
    "cifar10": {"train": FakeSplit(10, 4, complete=False), "test": FakeSplit(10)},
}


@pytest.fixture(scope="module")
def model_table():
    return setup.model_table("smoke")


def test_sizes_table_and_glued():
    table = setup.sizes_table(LOADED)
    assert table.loc["mnist", "train"] == 60 and table.loc["binary_mnist", "classes"] == 2
    assert table.loc["mnist", "image"] == "1x4x4"
    assert not table.loc["cifar10", "complete"] and table.loc["mnist", "complete"]
    glued = setup.sizes_glued(LOADED)
    assert glued == {
        "setup_mnist_train_size": 60,
        "setup_binary_mnist_train_size": 10,
        "setup_cifar10_train_size": 40,
        "setup_cifar10_complete": False,
    }


def test_one_per_class_draws_each_class_once_and_repeatably():
    ds = LOADED["mnist"]["test"]
    images, titles = setup.one_per_class(ds, torch.Generator().manual_seed(0))
    assert titles == ds.classes and images.shape == (10, 1, 4, 4)
    assert [round(float(x[0, 0, 0]) * 255) for x in images] == list(range(10))
    again, _ = setup.one_per_class(ds, torch.Generator().manual_seed(0))
    assert torch.equal(images, again)


def test_samples_figure_has_one_row_per_data_set():
    fig = setup.samples_figure(LOADED, torch.Generator().manual_seed(0))
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 3 * 10 and len(shown) == 10 + 2 + 10


def test_model_table_counts_the_papers_models(model_table):
    glued = setup.model_glued(model_table)
    assert glued["S1_mnist_cnn_params"] == setup.LEDGER["mnist_cnn"]
    assert glued["S1_cifar_resnet_params"] == setup.LEDGER["cifar_resnet"]
    assert glued["S1_resnet50_params"] == setup.LEDGER["resnet50_9"]
    assert glued["S1_linear_params"] == 784 + 1
    # the smoke profile's narrower models are smaller
    assert (model_table["parameters (smoke)"] <= model_table["parameters (paper)"]).all()


def test_eps_tables():
    table = setup.eps_table({("a", "inf"): 0.12345, ("b", 2): 1.0, ("z", 2): 3.0}, ["a", "b"])
    assert table.loc["l_inf", "a"] == 0.1235 and table.loc["l2", "b"] == 1.0
    assert table.loc["l2", "a"] == "-" and "z" not in table.columns
    glued = setup.table2_glued()
    assert len(glued) == len(profiles.TABLE2_EPS) and glued["P4_eps_mnist_linf"] == 0.3


def test_pgd_table_has_both_profiles():
    table = setup.pgd_table("smoke")
    assert table.loc[("mnist", "paper", "l_inf", "train"), "steps"] == 40
    assert table.loc[("cifar10", "paper", "l_inf", "eval"), "steps"] == 20
    assert {"smoke", "paper"} == set(table.index.get_level_values("profile"))


def test_ri_tables():
    table = setup.ri_table()
    assert len(table) == 9 and table["robustness"].sum() == 203 and table["paper"].sum() == 96
    assert setup.ri_glued() == {
        "S2_ri_superclasses": 9,
        "S2_ri_classes_robustness": 203,
        "S2_ri_classes_paper": 96,
        "S2_ri_dogs_robustness": 118,  # robust-features-code keeps 11 of the 118 dog classes
        "S2_ri_dogs_paper": 11,
    }
    assert "training images (counted here)" not in setup.variant_table(None).columns
    glued = setup.variant_glued(None)
    assert glued["S2_ri_train_images_robustness"] == "counted when present"
    assert glued["S2_imagenet_present"] is False


def test_counted_imagenet_tables():
    counts = {"n01": 3, "n02": 4}
    counted = {v: {"train": counts, "test": {"n01": 1}} for v in ("paper", "robustness")}
    table = setup.variant_table(counted)
    assert (table["training images (counted here)"] == 7).all()
    assert setup.variant_glued(counted)["S2_ri_train_images_robustness"] == 7
    assert setup.per_class_table(counted).shape == (2, 4)


def test_the_ledgers_table2_and_the_authors_pgd():
    assert setup_facts.ledger_eps() == pytest.approx(profiles.TABLE2_EPS)
    ours = setup_facts.authors_pgd_ours()
    assert ours.keys() == setup.AUTHORS_PGD.keys()
    assert all(ours[k] == pytest.approx(v) for k, v in setup.AUTHORS_PGD.items())


def test_claim_rows_check_and_catch_a_wrong_reference(model_table, monkeypatch):
    rows = setup_facts.claim_rows(model_table, "smoke", None)
    assert [r["claim"] for r in rows] == ["S1", "S2", "P4", "S3"]
    assert all(r["verdict"] == verdicts.CHECKED for r in rows)
    assert "no ImageNet here" in rows[1]["ours"]
    monkeypatch.setitem(setup.LEDGER, "mnist_cnn", 3_274_635)
    assert (
        setup_facts.claim_rows(model_table, "smoke", None)[0]["verdict"] == verdicts.NOT_REPRODUCED
    )


def test_run_facts_differ_by_design_at_smoke_and_are_not_run_without_imagenet(model_table):
    s1, _, p4, s3 = setup_facts.claim_rows(model_table, "smoke", None)
    # computed from the smoke settings: the tiny CNN's count, PGD-2 of 1.25 eps
    count = int(model_table.loc["mnist", "parameters (smoke)"])
    assert f"mnist parameters at smoke {count:,}, paper 3,274,634" in s1["reason"]
    assert "mnist train steps at smoke 2, paper 40" in s3["reason"]
    assert "differs by design" in p4["reason"] and "not run: restricted_imagenet" in s3["reason"]


def test_profile_pgd_text_reads_the_settings():
    text = setup.profile_pgd_text("cpu")
    mnist, cifar = (profiles.settings(n, "cpu") for n in ("mnist", "cifar10"))
    assert f"mnist trains with {mnist.train_attack['inf'].steps} steps of 0.5 eps" in text
    assert f"first {mnist.eps_ramp:.0%} of the steps" in text
    assert f"cifar10 trains with {cifar.train_attack['inf'].steps} step of 1.25 eps" in text
    assert setup.authors_pgd_glued()["S3_cifar_eval_div"] == 8


def test_judge_facts_by_design_undeclared_and_not_run():
    facts = {"a": (1, 1), "b": (2, 3), "c": (None, 4)}
    judged = setup_facts.judge_facts(facts, {"b": "why"})
    assert judged.verdict == verdicts.CHECKED
    assert judged.reason == "1 facts agree; differs by design: b 2, paper 3 (why); not run: c"
    assert setup_facts.judge_facts(facts, {}).verdict == verdicts.NOT_REPRODUCED
    assert setup_facts.judge_facts({"c": (None, 4)}, {}).verdict == verdicts.NOT_RUN


def test_trained_eps_reads_the_grids():
    # CIFAR-10 l2: Table 2 prints 0.314 for the runs' 80/255
    eps = setup_facts.trained_eps("cpu")
    assert 0.3 in eps[("mnist", "inf")] and 8 / 255 in eps[("cifar10", "inf")]
    assert setup_facts._is_table2(
        profiles.TABLE2_EPS[("cifar10", 2)], eps[("cifar10", 2)]
    )  # 80/255
