"""lib.benefits: B1-B4's measurements and verdicts on small, known inputs."""

from __future__ import annotations

import dataclasses

import torch

from lib import benefits, verdicts
from lib.attacks import pgd
from lib.experiments import profiles
from lib.verdicts import benefits as VB


def test_judge_is_the_other_norm():
    assert benefits.JUDGE == {"inf": "l2", 2: "linf"}


def test_paired_estimate():
    a, b = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0.0, 1.0, 2.0, 3.0])
    e = VB.paired(a, b)
    assert e.value == 1.0 and e.se == 0.0  # a constant difference has no paired noise


def _scores(al, sp, n=60, seed=0):
    """Per-image scores around the means ``al``, ``sp`` with a little noise."""
    g = torch.Generator().manual_seed(seed)
    noise = lambda: 0.01 * torch.randn(n, generator=g, dtype=torch.float64)  # noqa: E731
    return {"edge alignment": al + noise(), "sparsity": sp + noise()}


def test_b1_needs_every_effect_beyond_its_floor():
    std, rnd = _scores(0.1, 0.3, seed=1), _scores(0.1, 0.3, seed=2)
    l2, linf = _scores(0.5, 0.33, seed=3), _scores(0.5, 0.5, seed=4)
    ok = VB.b1_judgement({"standard": std, "l2": l2, "linf": linf, "random": rnd})
    assert ok.verdict == verdicts.REPRODUCED and "Bonferroni over 5 tests" in ok.reason
    same = VB.b1_judgement({"standard": std, "l2": l2, "linf": l2, "random": rnd})
    assert same.verdict == verdicts.INCONCLUSIVE and "sparsity" in same.reason
    # a robust model no better aligned than an untrained network: not counted
    rnd_high = _scores(0.5, 0.3, seed=5)
    j = VB.b1_judgement({"standard": std, "l2": l2, "linf": linf, "random": rnd_high})
    assert j.verdict == verdicts.INCONCLUSIVE and "random" in j.reason
    # under 50 images: no verdict
    few = {m: {k: v[:20] for k, v in s.items()} for m, s in {"standard": std, "l2": l2}.items()}
    few["linf"] = {k: v[:20] for k, v in linf.items()}
    assert VB.b1_judgement(few).verdict == verdicts.INCONCLUSIVE


def test_b1_floor_does_not_count_a_tiny_significant_difference():
    # the committed cpu CIFAR-10 "l_inf sparser": 0.0063 with paired SE 0.00073
    tiny = VB.beyond_floor(
        verdicts.Estimate(0.0063, 0.00073), VB.SPARSITY_FLOOR, name="sparsity", z=2.64
    )
    assert tiny.verdict == verdicts.INCONCLUSIVE
    big = VB.beyond_floor(verdicts.Estimate(0.41, 0.0022), 0.05, name="s", z=2.64)
    assert big.verdict == verdicts.REPRODUCED
    against = VB.beyond_floor(verdicts.Estimate(-0.2, 0.01), 0.05, name="s", z=2.64)
    assert against.verdict == verdicts.NOT_REPRODUCED


def test_path_predictions_shape_and_ends():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
    x = torch.ones(3, 1, 2, 2)
    pred = benefits.path_predictions(net, x, -x, [0.0, 0.25, 0.75, 1.0])
    assert pred.shape == (3, 4)
    assert (pred[:, 0] == 0).all() and (pred[:, -1] == 1).all()


def test_untargeted_reads_what_the_attack_does():
    assert benefits.untargeted(benefits.large_eps_attack("mnist", "inf", steps=10))

    class Targeted:
        random_start = False

        def __call__(self, model, x, y, **kwargs):
            return pgd(model, x, y, eps=0.3, norm="inf", steps=10, targeted=True, precision="fp32")

    assert not benefits.untargeted(Targeted())


def test_large_eps_goes_beyond_the_training_eps_on_mnist_linf():
    # Table 3's MNIST l_inf eps is the training eps (0.3); the footnote asks for more
    assert benefits.large_eps("mnist", "inf") == 0.4 > profiles.TABLE3_EPS["mnist", "inf"]
    assert benefits.large_eps("cifar10", 2) == profiles.TABLE3_EPS["cifar10", 2]
    attack = benefits.large_eps_attack("mnist", "inf", steps=100)
    assert attack.eps == 0.4 and not attack.random_start and attack.steps == 100


def test_fall_check_takes_a_radius_no_classifier_survives_on_mnist_linf():
    # at l_inf 0.5 every MNIST image can reach the same flat grey image
    assert benefits.fall_eps("mnist", "inf") == 0.5
    assert benefits.fall_eps("cifar10", "inf") == benefits.large_eps("cifar10", "inf")
    attack = benefits.fall_attack("mnist", "inf", steps=100)
    assert attack.eps == 0.5 and not attack.random_start
    x = torch.rand(4, 1, 6, 6)
    grey = torch.full_like(x, 0.5)
    assert (grey - x).abs().amax() <= benefits.fall_eps("mnist", "inf")


class Quantised(torch.nn.Module):
    """A linear model on its input rounded to 0 or 1: every input gradient is exactly 0,
    so gradient attacks see nothing, yet the model is not robust (masked gradients)."""

    def __init__(self, linear, quantise=True):
        super().__init__()
        self.linear, self.quantise = linear, quantise

    def forward(self, x):
        x = x.flatten(1)
        return self.linear(torch.round(x) + 0 * x if self.quantise else x)


def _b4(net, source, *, eps, large_eps, n=500):
    """B4 on ``net`` with the real audit: its attacks, a transfer from ``source``, and the
    large-eps PGD; ``n`` random 6x6 images labelled by the model itself."""
    from lib.attacks import PGD, audit

    x = torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = net(x).argmax(1)
    budget = audit.AuditBudget(strong_steps=10, strong_restarts=1, steps=10, targets=2, queries=300)
    training = PGD(eps=eps, norm="inf", steps=5)
    suite = audit.suite(net, norm="inf", eps=eps, training_attack=training, budget=budget)
    survived = {name: audit.survives(net, attack, x, y) for name, attack in suite.items()}
    transfer = benefits.transfer_attack(source, norm="inf", eps=eps, budget=budget, seed=0)
    survived[VB.TRANSFER] = audit.survives(net, transfer, x, y)
    large = audit.survives(net, lambda a, b: PGD.madry(large_eps, "inf", 20)(net, a, b), x, y)
    return VB.b4_judgement(
        survived,
        zero_fraction=audit.zero_gradient_fraction(net, x, y),
        large=large[:200],
        at_train=survived["training PGD"][:200],
    )


def test_b4_is_not_reproduced_on_a_model_with_masked_gradients():
    torch.manual_seed(0)
    linear = torch.nn.Linear(36, 10)
    masked, plain = Quantised(linear).eval(), Quantised(linear, quantise=False).eval()
    j = _b4(masked, plain, eps=0.3, large_eps=0.45)
    assert j.verdict == verdicts.NOT_REPRODUCED
    assert "Square beats" in j.reason and "transfer from standard beats" in j.reason
    assert "does not fall" in j.reason
    # the same linear model without the rounding: its gradients work, nothing beats them
    j = _b4(plain, plain, eps=0.02, large_eps=0.45)
    assert j.verdict == verdicts.REPRODUCED, j.reason


def test_b4_needs_500_images_and_robustness_above_chance():
    ok = torch.arange(600) < 300
    survived = {a: ok for a in (*VB.GRADIENT_ATTACKS, VB.GRADIENT_FREE)}
    survived[VB.TRANSFER] = ok
    j = VB.b4_judgement(survived, zero_fraction=0.0)
    assert j.verdict == verdicts.INCONCLUSIVE and "no large-eps accuracy" in j.reason
    falls = torch.zeros(200, dtype=torch.bool)
    j = VB.b4_judgement(survived, zero_fraction=0.0, large=falls, at_train=ok[:200])
    assert j.verdict == verdicts.REPRODUCED
    few = {k: v[:100] for k, v in survived.items()}
    j = VB.b4_judgement(few, zero_fraction=0.0, large=falls, at_train=ok[:200])
    assert j.verdict == verdicts.INCONCLUSIVE and "100 images audited" in j.reason
    chance = {k: torch.arange(600) < 60 for k in survived}
    j = VB.b4_judgement(chance, zero_fraction=0.0, large=falls, at_train=ok[:200])
    assert j.verdict == verdicts.INCONCLUSIVE and "not above chance" in j.reason


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
    # the transfer attack's key names its source, the standard model's run
    transfer = key(("mnist", "linf", VB.TRANSFER), **kw)
    assert "source" in transfer and "source" not in base
    assert transfer["source"] != transfer["audit_of"]
