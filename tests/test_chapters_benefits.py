"""lib.chapters.benefits: the benefits chapter's tables, glued values and rows on tiny fakes."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from lib import benefits, saliency, verdicts
from lib.benefits_proxy import NearestNeighbour
from lib.chapters import benefits as bf
from lib.chapters import benefits_audit as b4_audit
from lib.chapters import benefits_judges as bj
from lib.verdicts import benefits as VB

SHAPE = {"mnist": (1, 8, 8), "cifar10": (3, 8, 8)}


class FakeTest:
    """The part of a test split the chapter uses: inputs(slice), y, classes, len."""

    def __init__(self, dataset: str, n: int = 12):
        g = torch.Generator().manual_seed(len(dataset))
        # a vertical edge under a little noise, so that edge alignment has edges to see
        self.x = 0.2 + 0.1 * torch.rand(n, *SHAPE[dataset], generator=g)
        self.x[..., 4:] += 0.6
        self.y = torch.arange(n) % 10
        self.classes = [f"c{i}" for i in range(10)]

    def inputs(self, s):
        return self.x[s]

    def __len__(self):
        return len(self.y)


def _net(dataset: str, seed: int):
    torch.manual_seed(seed)
    c, h, w = SHAPE[dataset]
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c * h * w, 10)).eval()


@pytest.fixture(scope="module")
def fakes():
    nets = {
        (d, m): _net(d, i)
        for i, (d, m) in enumerate((d, m) for d in bf.DATASETS for m in bf.MODELS)
    }
    tests = {d: FakeTest(d) for d in bf.DATASETS}
    return nets, tests


def _run(eps=0.0, complete=True):
    return SimpleNamespace(
        settings={"run": {"eps_train": eps}},
        metrics={
            "std_acc": 0.9,
            "adv_acc": 0.1,
            "eval_attack": "PGD",
            "n_train": 100,
            "train_complete": complete,
            "test_complete": True,
        },
    )


def test_models_table_and_subset_note():
    runs = {("mnist", "standard"): _run(), ("mnist", "l2"): _run(1.5)}
    table = bf.models_table(runs)
    assert list(table.index) == [("mnist", "standard"), ("mnist", "l2")]
    assert table.loc[("mnist", "l2"), "eps_train"] == 1.5
    assert bf.subset_note(runs, {"mnist": FakeTest("mnist")}) is None
    runs["cifar10", "l2"] = _run(complete=False)
    note = bf.subset_note(runs, {"cifar10": FakeTest("cifar10")})
    assert note.startswith(":::{warning}\ncifar10:") and "12 test images" in note


def test_steps_text_says_each_data_sets_steps():
    runs = {("mnist", m): _run() for m in bf.MODELS} | {("cifar10", m): _run() for m in bf.MODELS}
    for (d, m), run in runs.items():
        run.metrics["steps"] = 1407 if d == "mnist" else (1173 if m != "linf" else 1200)
    assert bf.steps_text(runs) == "1,407 (mnist) and 1,173 to 1,200 (cifar10)"
    assert bf.paper_steps_text() == "100,000 (mnist) and 80,000 (cifar10)"


def test_panel_names():
    names = [bf.panel_name(m, n) for m, n in bf.PANELS]
    assert names == ["standard_linf", "linf", "standard_l2", "l2"]


def _randoms():
    return {d: [_net(d, 100 + s) for s in range(4)] for d in bf.DATASETS}


def test_b1_section_glues_each_model_the_null_and_the_control(fakes):
    nets, tests = fakes
    randoms = _randoms()
    b1 = bf.b1_section(nets, tests, 6, randoms)
    for d in bf.DATASETS:
        x, y = bf.first(tests[d], 6)
        for m in bf.MODELS:
            g = saliency.input_gradient(nets[d, m], x, y)
            assert b1.glued[f"B1_{d}_{m}_sparsity"] == pytest.approx(
                saliency.sparsity(g).double().mean().item()
            )
        g = saliency.input_gradient(randoms[d][0], x, y)
        assert b1.glued[f"B1_{d}_random_sparsity"] == pytest.approx(
            saliency.sparsity(g).double().mean().item()
        )
        assert 0 < b1.glued[f"B1_{d}_control_edge_alignment"] <= 1
        assert math.isnan(b1.table.loc[(d, bf.CONTROL), "sparsity"])  # the control has none
        # the floor: at least the constant, and at least the untrained networks' spread
        means = [
            benefits.gradient_scores(net, x, y)["edge alignment"].mean().item()
            for net in randoms[d]
        ]
        floor = b1.glued[f"B1_{d}_align_floor"]
        assert floor >= VB.ALIGN_FLOOR and floor >= max(means) - min(means) - 1e-9
        # 6 images: below the rule's power, whatever the scores
        assert b1.rows[d].verdict == verdicts.INCONCLUSIVE and "6 images" in b1.rows[d].reason
    assert b1.glued["B1_tests"] == 10 and b1.glued["B1_z"] > 2.5
    assert "random-init" in bf.b1_summary(b1.table, 6)


def test_null_floors_take_the_untrained_networks_spread():
    def sc(al, sp):
        return {"edge alignment": torch.full((4,), al), "sparsity": torch.full((4,), sp)}

    floors = VB.null_floors([sc(0.1, 0.3), sc(0.3, 0.31), sc(0.15, 0.3)])
    assert floors["edge alignment"] == pytest.approx(0.2)
    assert floors["sparsity"] == VB.SPARSITY_FLOOR  # a spread of 0.01 is below it


def test_large_eps_batches_agree_with_one_batch(fakes):
    nets, tests = fakes
    x, y = bf.first(tests["mnist"], 6)
    one = bf.large_eps("mnist", nets["mnist", "linf"], x, y, "inf", steps=3)
    assert torch.allclose(
        one, bf.large_eps("mnist", nets["mnist", "linf"], x, y, "inf", steps=3, batch=4)
    )
    assert (one - x).abs().max() > 0 and 0 <= one.min() and one.max() <= 1


def _pixel():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(40, *SHAPE["mnist"], generator=g)
    return {"mnist": NearestNeighbour(x, torch.arange(40) % 10)}


def test_b2_b3_sections(fakes):
    nets, tests = fakes
    b2 = bj.b2_section(nets, tests, 8, steps=3, pixel=_pixel())
    assert set(b2.rows) == {"mnist l_inf", "mnist l2", "cifar10 l_inf", "cifar10 l2"}
    # two judges on MNIST (the other norm's model, 1-NN), one on CIFAR-10
    assert len(b2.data["items"]) == 6 and b2.glued["B2_tests"] == 6
    for (d, norm, judge), s in b2.data["items"].items():
        a, b = b2.data["hits"][d, norm, judge]
        assert len(a) == len(b) == int(s.sum())  # both arms on the same images
        c = b2.data["controls"][d, norm, judge]
        assert c.noise.n == c.standard.n == len(a)
    # 8 images: no row has the power for a verdict
    assert all(r.verdict == verdicts.INCONCLUSIVE for r in b2.rows.values())
    assert set(b2.data["large_correct"]) == {(d, m) for d in bf.DATASETS for m in ("l2", "linf")}
    b3 = bj.b3_section(nets, tests, b2, pixel=_pixel())
    assert set(b3.rows) == set(b2.rows) and len(b3.table) == 6
    for (d, norm, judge), s in b2.data["items"].items():
        label = f"{d} {'l_inf' if norm == 'inf' else 'l2'}"
        assert b3.table.loc[(label, judge), "paths"] == int(s.sum())


def test_figure_rows(fakes):
    nets, tests = fakes
    x, grads = bf.figure2_gradients(nets, tests["cifar10"], "cifar10", 4)
    assert set(grads) == set(bf.MODELS) and grads["l2"].shape == x.shape
    rows, labels, examples = bf.figure3_rows(nets, tests["mnist"], "mnist", 4, steps=2)
    assert len(rows) == len(labels) == 1 + len(bf.PANELS) and labels[0] == ""
    assert set(examples) == set(bf.PANELS)
    rows, labels = bf.figure4_rows(nets, examples, "mnist")
    # two images per robust model, 20 frames each in two rows of ten
    assert len(rows) == 2 * 2 * 2 and all(len(x) == len(p) == 10 for x, p in rows)
    assert labels[:2] == ["linf #1", ""]
    first_path = torch.cat([rows[0][0], rows[1][0]])
    x, x_adv = examples["linf", "inf"]
    assert torch.allclose(first_path[0], x[0]) and torch.allclose(first_path[-1], x_adv[0])


def _audited(all_acc=0.3, square=0.45, zero=0.0):
    accs = {
        "training PGD": 0.5,
        "strong PGD": 0.45,
        "APGD-CE": 0.44,
        "APGD-T": 0.4,
        "FAB-T": 0.46,
        "Square": square,
        "all": all_acc,
    }
    flags = {
        "zero-gradient fraction": zero,
        "Square beats strong PGD by": accs["strong PGD"] - square,
    }
    # per image, 600 images: the gradient attacks break the same ones, Square and the
    # transfer attack nothing more
    n = 600
    ok = torch.arange(n) < int(all_acc * n)
    survived = {a: ok.clone() for a in (*VB.GRADIENT_ATTACKS, "Square", VB.TRANSFER)}
    return accs, flags, survived


def test_b4_section_gaps_and_flags():
    audited = {
        ("mnist", "l2"): _audited(),
        ("mnist", "linf"): _audited(all_acc=0.1),
        ("cifar10", "l2"): _audited(zero=0.01),  # a zero gradient: flagged
        ("cifar10", "linf"): _audited(),
    }
    large = {k: torch.zeros(200, dtype=torch.bool) for k in audited}
    b4 = b4_audit.b4_section(audited, profile="smoke", n_audit=600, large_correct=large)
    assert b4.glued["B4_max_gap"] == pytest.approx(0.4)
    assert b4.glued["B4_max_gap_model"] == "mnist linf"
    assert b4.glued["B4_masking_flags"] == 1
    assert b4.glued["B4_mnist_l2_apgd_t_acc"] == 0.4 and b4.glued["B4_mnist_l2_gap"] == 0.2
    assert b4.rows["cifar10 l2"].verdict == verdicts.INCONCLUSIVE  # the zero-gradient flag
    assert b4.rows["mnist l2"].verdict == verdicts.REPRODUCED
    assert b4.rows["mnist linf"].verdict == verdicts.INCONCLUSIVE  # 10%: not above chance
    assert b4.table.loc[("mnist", "l2"), "eps"] > 0
    assert b4.glued["B4_tests"] == 12
    # accuracy that does not fall at the large eps: not reproduced
    large["mnist", "l2"] = torch.ones(200, dtype=torch.bool)
    b4 = b4_audit.b4_section(audited, profile="smoke", n_audit=600, large_correct=large)
    assert b4.rows["mnist l2"].verdict == verdicts.NOT_REPRODUCED


def test_reproduction_rows_and_s4():
    s4, attack = bf.s4_judgement(large_steps=5)
    assert s4.verdict == verdicts.CHECKED and not attack.random_start
    assert bf.s4_judgement(5, frames=bf.FRAMES[:10])[0].verdict != verdicts.CHECKED

    def section(rows, table=None, **data):
        return bf.Section(pd.DataFrame() if table is None else table, rows, {}, data)

    ok = verdicts.Judgement(verdicts.REPRODUCED)
    table = pd.DataFrame(
        {
            (d, m): {"sparsity": 0.5, "edge alignment": 0.2}
            for d in bf.DATASETS
            for m in (*bf.MODELS, bf.RANDOM, bf.CONTROL)
        }
    ).T
    judged = pd.DataFrame(
        {
            ("mnist l2", bj.MODEL_JUDGE): {
                "robust: x": "3 of 4 (75%)",
                "standard: x": "1 of 4 (25%)",
                "judge validated": False,
            }
        }
    ).T
    b4 = b4_audit.b4_section(
        {k: _audited() for k in b4_audit.AUDITED}, profile="smoke", n_audit=600
    )
    rows = bf.reproduction_rows(
        bf.Section(table, {"mnist": ok}, {}),
        section({"mnist l2": ok}, judged),
        section({"mnist l2": ok}, judged),
        b4,
        n_metrics=10,
        n_audit=600,
        aa={"queries": 5},
        large_steps=5,
    )
    assert [r["claim"] for r in rows] == ["B1", "B2", "B3", "B4", "S4"]
    assert "3 of 4 (75%) (robust) vs 1 of 4 (25%) (standard)" in rows[1]["ours"]
    assert "not validated" in rows[2]["ours"]
    assert "masking flagged for 0 of 4" in rows[3]["ours"]
