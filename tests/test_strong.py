"""The strong evaluation (lib.attacks.strong, lib.experiments.evals.strong_eval)."""

from __future__ import annotations

import torch

from lib.attacks import PGD, strong
from lib.experiments import evals, runs
from lib.experiments.runs import RunConfig
from lib.experiments.store import Store
from lib.train import outcomes

SMALL = strong.StrongBudget(
    pgd_steps=5, pgd_restarts=2, apgd_steps=5, apgdt_targets=2, apgdt_steps=5
)


def test_never_weaker_than_the_profile_pgd_per_example(mnist_cnn, mnist_small):
    _, te = mnist_small
    te = te.head(200)
    eps = 0.15
    pgd_ok, y = outcomes(mnist_cnn, te, PGD.madry(eps, "inf", 10), precision="fp32")
    m = strong.evaluate(mnist_cnn, te.inputs(), y, pgd_ok, eps=eps, norm="inf", budget=SMALL)
    robust = torch.tensor([c == "1" for c in m["robust"]])
    assert not (robust & ~pgd_ok).any()  # robust to all => robust to the profile's PGD
    assert m["adv_acc"] <= m["pgd_acc"] == int(pgd_ok.sum()) / 200
    after = list(m["after"].values())
    assert after == sorted(after, reverse=True) and after[-1] == m["adv_acc"]
    assert list(m["after"]) == list(strong.COMPONENTS) and m["n"] == 200


class _Saturated(torch.nn.Module):
    """A linear 10-class model with its logits scaled by 1e4: the softmax saturates.

    Cross-entropy's gradient underflows to exactly zero in fp32, so PGD and
    APGD-CE on it never move (gradient masking); APGD-T's DLR loss is scale
    invariant and finds the adversarial examples that exist.
    """

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(10, 16, generator=g))

    def forward(self, x):
        return 1e4 * (x.flatten(1) @ self.w.T)


def test_a_component_that_succeeds_where_pgd_fails():
    model = _Saturated().eval()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(200, 1, 4, 4, generator=g)  # torchattacks wants images
    with torch.no_grad():
        y = model(x).argmax(1)  # every image correct
    ok = torch.ones(200, dtype=torch.bool)
    eps = 0.05
    one_start = strong.StrongBudget(20, 1, 0, 0, 0)
    pgd_only = strong.StrongBudget(20, 2, 0, 0, 0)
    all_ = strong.StrongBudget(20, 2, 10, 3, 20)
    m_one, m_pgd, m_all = (
        strong.evaluate(model, x, y, ok, eps=eps, norm="inf", budget=b)
        for b in (one_start, pgd_only, all_)
    )
    assert list(m_pgd["after"]) == ["strong PGD"]
    # PGD is stuck where its random start left it, so a second start finds more
    assert 0.85 <= m_pgd["adv_acc"] < m_one["adv_acc"]
    assert m_all["after"]["APGD-CE"] > m_pgd["adv_acc"] - 0.05  # APGD-CE is stuck too
    assert m_all["after"]["APGD-T"] < m_pgd["adv_acc"] - 0.2  # APGD-T breaks what they cannot


def test_the_budget_reaches_the_attacks(monkeypatch):
    seen = {}

    def fake_pgd(model, x, y, **kwargs):
        seen.update(kwargs)
        return x

    monkeypatch.setattr(strong, "pgd", fake_pgd)
    model = _Saturated().eval()
    fns = strong.components(model, eps=0.1, norm=2, budget=SMALL)
    assert list(fns) == list(strong.COMPONENTS)
    x = torch.rand(4, 1, 4, 4)
    fns["strong PGD"](x, model(x).argmax(1))
    assert seen["restarts"] == 2 and seen["steps"] == 5 and seen["random_start"]
    assert fns["APGD-T"].n_target_classes == 2 and fns["APGD-CE"].steps == 5


def test_strong_eval_is_stored_and_matches_the_run(tmp_path):
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", mix="adversarial", eps_train=0.3)
    _, run = runs.train_run(config, store=store, progress=False)
    m = evals.strong_eval(config, store=store, progress=False)
    assert m["pgd_acc"] == run.metrics["adv_acc"]  # the profile's PGD, same images and seed
    assert m["adv_acc"] <= m["pgd_acc"] and m["n"] == run.metrics["n_test_robust"]
    assert evals.strong_eval(config, store=store, progress=False) == m  # from the store
    assert len(store.runs()) == 2
    clean = RunConfig("mnist", "smoke")
    other = evals.strong_eval(clean, 0.1, norm=2, store=store, progress=False)
    assert other["norm"] == "2" and other["eps"] == 0.1


def test_the_cascade_runs_in_fp32_whatever_the_run_precision(tmp_path, monkeypatch):
    # bf16 autocast left 0.7 point more images "robust" on MNIST l2 2.5
    # (lab/trials/eval_view_trial.py): the strong evaluation's cascade is fp32.
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", mix="adversarial", eps_train=0.3)
    runs.train_run(config, store=store, progress=False)
    seen = {}
    real = strong.evaluate

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(strong, "evaluate", spy)
    m = evals.strong_eval(config, store=store, progress=False)
    assert seen["precision"] == evals.STRONG_PRECISION == "fp32"
    run_precision = runs.plan_of(config).precision  # bf16 where the CPU has it
    assert m["precision"] == {"pgd": run_precision, "cascade": "fp32"}


def test_store_costs_reads_runs_and_evaluations(tmp_path):
    # scripts/store_costs.py: where a build's time went, from its store alone
    import importlib.util

    from lib.runtime import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "store_costs", PROJECT_ROOT / "scripts" / "store_costs.py"
    )
    costs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(costs)
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", mix="adversarial", eps_train=0.3)
    _, run = runs.train_run(config, store=store, progress=False)
    m = evals.strong_eval(config, store=store, progress=False)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "record.json").write_text("{")  # skipped, not an error
    train_rows, eval_rows = costs.rows_of(tmp_path)
    assert [r["mix"] for r in train_rows] == ["adversarial"]
    assert train_rows[0]["seconds"] == run.metrics["train_seconds"]
    assert train_rows[0]["steps"] == run.metrics["steps"] > 0
    assert [e["kind"] for e in eval_rows] == ["strong"]
    assert eval_rows[0]["seconds"] == m["seconds"]
    s = costs.summary(train_rows, eval_rows)
    assert s["runs"][0]["runs"] == 1 and s["evals"][0]["evals"] == 1
    assert s["total_seconds"]["evaluations"] == m["seconds"]
    assert s["span_seconds"] >= 0
