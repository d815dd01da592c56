"""lib.benefits: B1-B4's measurements and verdicts on small, known inputs."""

from __future__ import annotations

import dataclasses

import torch

from lib import benefits, verdicts
from lib.judging import PathReport, Rate


def test_judge_is_the_other_norm():
    assert benefits.JUDGE == {"inf": "l2", 2: "linf"}


def test_paired_estimate():
    a, b = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0.0, 1.0, 2.0, 3.0])
    e = benefits.paired(a, b)
    assert e.value == 1.0 and e.se == 0.0  # a constant difference has no paired noise


def _scores(al, sp):
    return {"edge alignment": torch.tensor(al), "sparsity": torch.tensor(sp)}


def test_b1_needs_all_three_effects():
    std = _scores([0.1, 0.12, 0.11, 0.09], [0.3, 0.31, 0.29, 0.3])
    l2 = _scores([0.5, 0.52, 0.49, 0.51], [0.33, 0.34, 0.32, 0.33])
    linf = _scores([0.5, 0.51, 0.5, 0.52], [0.5, 0.52, 0.49, 0.51])
    ok = benefits.b1_judgement({"standard": std, "l2": l2, "linf": linf})
    assert ok.verdict == verdicts.REPRODUCED
    same = benefits.b1_judgement({"standard": std, "l2": l2, "linf": l2})
    assert same.verdict == verdicts.INCONCLUSIVE and "sparsity" in same.reason


def test_path_predictions_shape_and_ends():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
    x = torch.ones(3, 1, 2, 2)
    pred = benefits.path_predictions(net, x, -x, [0.0, 0.25, 0.75, 1.0])
    assert pred.shape == (3, 4)
    assert (pred[:, 0] == 0).all() and (pred[:, -1] == 1).all()


def test_b2_b3_are_capped_at_qualitatively():
    j = benefits.b2_judgement(Rate(190, 200), Rate(20, 200), name="gain")
    assert j.verdict == verdicts.QUALITATIVE and "proxy" in j.reason
    r = PathReport(200, Rate(190, 200), Rate(180, 200), 1.0, 1.0)
    s = PathReport(200, Rate(20, 200), Rate(10, 200), 3.0, 3.0)
    assert benefits.b3_judgement(r, s, name="x").verdict == verdicts.QUALITATIVE
    assert benefits.b3_judgement(s, r, name="x").verdict == verdicts.NOT_REPRODUCED


def test_b4_needs_500_images():
    accs = {"strong PGD": 0.5, "all": 0.49}
    assert benefits.b4_judgement(accs, flagged=False, n_images=100).verdict == (
        verdicts.INCONCLUSIVE
    )
    assert benefits.b4_judgement(accs, flagged=False, n_images=500).verdict == (verdicts.REPRODUCED)
    assert benefits.b4_judgement(accs, flagged=True, n_images=500).verdict == (
        verdicts.INCONCLUSIVE
    )


def test_edge_control_scores_each_image():
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, :, 4:] = 1.0  # a vertical edge
    al = benefits.edge_control(x)
    assert al.shape == (2,) and (al > 0.2).all()


def test_an_audit_attack_is_stored_and_read_back(monkeypatch):
    # B4's attacks are about a tenth of a cold cpu build: a rebuild reads them back
    from lib.attacks import audit

    budget = audit.AuditBudget(strong_steps=2, strong_restarts=1, steps=2, targets=2, queries=5)
    kw = dict(profile="smoke", seed=0, n_audit=16, budget=budget)
    task = ("mnist", "linf", "training PGD")
    first = benefits.audit_attack(task, **kw)
    assert first["survived"].dtype == torch.bool and first["survived"].shape == (16,)

    def no_attack(*args, **kwargs):
        raise AssertionError("the stored result should have been read")

    monkeypatch.setattr(audit, "survives", no_attack)
    again = benefits.audit_attack(task, **kw)
    assert torch.equal(again["survived"], first["survived"])
    assert again["zero fraction"] == first["zero fraction"]
    # another attack, budget or image count is another result
    key = benefits.audit_key_settings
    base = key(task, **kw)
    assert key(("mnist", "linf", "Square"), **kw) != base
    assert key(task, **{**kw, "budget": dataclasses.replace(budget, queries=6)}) != base
    assert key(task, **{**kw, "n_audit": 17}) != base
