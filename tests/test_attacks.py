"""PGD invariants, the exact linear attack, and a cross-check against torchattacks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lib import attacks, models
from lib.attacks import PGD, linear_robust_margin, linear_worst_case, pgd
from lib.train import evaluate

NORM_EPS = [("inf", 0.1), (2, 1.0)]


def _batch(mnist_small, n=64):
    _, te = mnist_small
    return te.inputs(slice(0, n)), te.y[:n]


@pytest.mark.parametrize("norm,eps", NORM_EPS)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("random_start", [True, False])
def test_stays_in_ball_and_box(mnist_cnn, mnist_small, norm, eps, precision, random_start):
    x, y = _batch(mnist_small)
    x_adv = pgd(
        mnist_cnn,
        x,
        y,
        eps=eps,
        norm=norm,
        steps=5,
        step_size=eps / 2,
        random_start=random_start,
        precision=precision,
    )
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    delta = (x_adv - x).flatten(1)
    size = delta.abs().amax(1) if norm == "inf" else delta.norm(dim=1)
    assert (size <= eps * (1 + 1e-5) + 1e-6).all()
    assert size.max() > 0.5 * eps  # it did move


@pytest.mark.parametrize("norm,eps", NORM_EPS)
def test_attack_lowers_accuracy(mnist_cnn, mnist_small, norm, eps):
    x, y = _batch(mnist_small, 200)
    clean = evaluate(mnist_cnn, (x, y), precision="fp32")
    robust = evaluate(
        mnist_cnn,
        (x, y),
        PGD(eps=eps * 2, norm=norm, steps=10, step_size=eps / 2),
        precision="fp32",
    )
    assert clean > 0.9
    assert robust < clean - 0.2


def _key(model, x_adv, y):
    """(success, loss) per example, the order in which PGD ranks its iterates."""
    with torch.no_grad():
        logits = model(x_adv)
    return logits.argmax(1) != y, F.cross_entropy(logits, y, reduction="none")


def _threshold_model():
    """Logits (0, x - 0.8) of a scalar input: class 1 (the attack's success for y = 0)
    exactly where x > 0.8."""
    model = torch.nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0], [1.0]]))
        model.bias.copy_(torch.tensor([0.0, -0.8]))
    return model


def _walk(x0, loss, steps, *, eps, step_size):
    model, x = _threshold_model(), torch.tensor([[x0]])
    kw = dict(eps=eps, norm="inf", step_size=step_size, random_start=False, precision="fp32")
    return float(pgd(model, x, torch.tensor([0]), steps=steps, loss=loss, **kw))


def test_best_iterate_never_gets_worse_with_more_steps():
    # An objective that peaks at x = 0.45, walked from 0.2 in steps of 0.2: the path
    # 0.2, 0.4, 0.6, 0.4, ... overshoots, so the last point is not the best (catches
    # returning the last iterate instead of the best one). No point succeeds.
    def peak(logits, y):
        return -((logits[:, 1] + 0.35) ** 2)

    got = [_walk(0.2, peak, steps, eps=0.45, step_size=0.2) for steps in range(5)]
    assert got == pytest.approx([0.2, 0.4, 0.4, 0.4, 0.4], abs=1e-6)


def test_a_successful_iterate_beats_a_higher_loss():
    # From x = 0.9 (misclassified: success) the objective 0.8 - x rises as x falls to
    # 0.75 and 0.6, where the model is right: the start must be kept (catches ranking
    # iterates by the objective alone, and returning the last iterate).
    def fall(logits, y):
        return -logits[:, 1]

    assert _walk(0.9, fall, 3, eps=0.3, step_size=0.15) == pytest.approx(0.9, abs=1e-6)
    # the same walk from 0.7 never succeeds: the highest objective, at the ball's edge
    assert _walk(0.7, fall, 3, eps=0.3, step_size=0.15) == pytest.approx(0.4, abs=1e-6)


def test_loss_rises_along_the_path(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small)
    losses = []
    for steps in (0, 2, 6):
        x_adv = pgd(
            mnist_cnn,
            x,
            y,
            eps=0.2,
            norm="inf",
            steps=steps,
            step_size=0.05,
            random_start=False,
            precision="fp32",
        )
        losses.append(_key(mnist_cnn, x_adv, y)[1].mean().item())
    assert losses[0] < losses[1] < losses[2]


def test_restarts_never_weaker_than_one_run(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small, 200)
    kwargs = dict(eps=0.12, norm="inf", steps=3, step_size=0.04, precision="fp32")
    one = pgd(mnist_cnn, x, y, **kwargs, generator=torch.Generator().manual_seed(7))
    many = pgd(mnist_cnn, x, y, **kwargs, restarts=4, generator=torch.Generator().manual_seed(7))
    ok1, loss1 = _key(mnist_cnn, one, y)
    ok4, loss4 = _key(mnist_cnn, many, y)
    assert (ok4 >= ok1).all()
    assert (loss4[~ok1 & ~ok4] >= loss1[~ok1 & ~ok4] - 1e-5).all()


@pytest.mark.parametrize("training", [True, False])
def test_mode_restored_and_no_parameter_gradient(mnist_small, training):
    torch.manual_seed(0)
    model = models.CifarResNet(widths=(4, 4, 8, 8), units=1)  # has BatchNorm
    model.train(training)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(8, 3, 32, 32)
    y = torch.randint(0, 10, (8,))
    pgd(model, x, y, eps=0.03, norm="inf", steps=2, step_size=0.01, precision="fp32")
    assert model.training is training
    assert all(p.grad is None for p in model.parameters())
    # Eval mode during the attack: BatchNorm running statistics untouched.
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_existing_parameter_gradients_untouched(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small, 8)
    for p in mnist_cnn.parameters():
        p.grad = torch.ones_like(p)
    try:
        pgd(mnist_cnn, x, y, eps=0.1, norm=2, steps=2, step_size=0.05)
        assert all(torch.equal(p.grad, torch.ones_like(p)) for p in mnist_cnn.parameters())
    finally:
        for p in mnist_cnn.parameters():
            p.grad = None


def test_seeded_runs_reproduce(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small, 16)
    kwargs = dict(eps=0.1, norm=2, steps=3, step_size=0.05, precision="fp32")
    a = pgd(mnist_cnn, x, y, **kwargs, generator=torch.Generator().manual_seed(1))
    b = pgd(mnist_cnn, x, y, **kwargs, generator=torch.Generator().manual_seed(1))
    c = pgd(mnist_cnn, x, y, **kwargs, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_targeted_reaches_the_target(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small, 64)
    target = (y + 1) % 10
    x_adv = pgd(
        mnist_cnn,
        x,
        target,
        eps=0.4,
        norm="inf",
        steps=20,
        step_size=0.05,
        targeted=True,
        precision="fp32",
    )
    with torch.no_grad():
        hit = (mnist_cnn(x_adv).argmax(1) == target).float().mean()
    assert hit > 0.8


def test_zero_eps_and_zero_steps_return_clean_input(mnist_cnn, mnist_small):
    x, y = _batch(mnist_small, 8)
    assert torch.equal(pgd(mnist_cnn, x, y, eps=0.0, norm="inf", steps=3, step_size=0.1), x)
    x0 = pgd(mnist_cnn, x, y, eps=0.3, norm="inf", steps=0, step_size=0.1, random_start=False)
    assert torch.equal(x0, x)


def test_random_start_l2_is_uniform_in_the_ball():
    # Uniform in an n-ball: P(radius <= r * eps) = r^n. Check the median radius.
    x = torch.zeros(4000, 3)
    delta = attacks.random_perturb(x, eps=2.0, norm=2, generator=torch.Generator().manual_seed(0))
    r = delta.norm(dim=1) / 2.0
    assert r.max() <= 1 + 1e-6
    assert abs(r.median().item() - 0.5 ** (1 / 3)) < 0.02


# --------------------------------------------------------------------------
# Linear models


def test_linear_exact_attack_matches_pgd(binary_linear):
    model, tr = binary_linear
    x, y = tr.inputs(slice(0, 500)), tr.y[:500]
    exact = linear_worst_case(model, x, y, eps=0.2)
    by_pgd = pgd(
        model,
        x,
        y,
        eps=0.2,
        norm="inf",
        steps=20,
        step_size=0.05,
        random_start=True,
        precision="fp32",
    )
    # PGD may stop at any point of a pixel whose weight is 0; compare margins.
    assert torch.allclose(model.margin(exact), model.margin(by_pgd), atol=1e-4)
    used = model.weight.detach() != 0
    assert torch.allclose(
        exact[:, 0].flatten(1)[:, used], by_pgd[:, 0].flatten(1)[:, used], atol=1e-6
    )
    acc_exact = evaluate(model, (x, y), attacks.LinearWorstCase(0.2), precision="fp32")
    acc_pgd = evaluate(
        model, (x, y), PGD(eps=0.2, norm="inf", steps=20, step_size=0.05), precision="fp32"
    )
    assert acc_exact == acc_pgd


def test_linear_worst_case_is_the_formula_bit_for_bit(binary_linear):
    # The one-pass form (addcmul, clamp in place) must give the formula's bits,
    # so that stored linear-model numbers do not move.
    model, tr = binary_linear
    x, y = tr.inputs(slice(0, 300)), tr.y[:300]
    s = (2 * y - 1).float().view(-1, 1, 1, 1)
    w = model.weight.detach().view(x.shape[1:])
    for eps in (0.0, 0.1, 0.3, 1 / 3):
        formula = x - eps * s * w.sign()
        assert torch.equal(linear_worst_case(model, x, y, eps=eps, box=False), formula)
        assert torch.equal(linear_worst_case(model, x, y, eps=eps), formula.clamp(0, 1))
    x_before = x.clone()
    linear_worst_case(model, x, y, eps=0.3)
    assert torch.equal(x, x_before)  # the caller's images are not touched


def test_linear_margin_drops_by_eps_times_l1_norm(binary_linear):
    model, tr = binary_linear
    x, y = tr.inputs(slice(0, 100)), tr.y[:100]
    s = (2 * y - 1).float()
    eps = 0.2
    x_adv = linear_worst_case(model, x, y, eps=eps, box=False)
    drop = s * model.margin(x) - s * model.margin(x_adv)
    l1 = model.weight.abs().sum()
    assert torch.allclose(drop, l1.expand_as(drop) * eps, rtol=1e-4)
    assert torch.allclose(
        linear_robust_margin(model, x, y, eps=eps), s * model.margin(x_adv), atol=1e-4
    )


# --------------------------------------------------------------------------
# Cross-check against a peer library


# torchattacks' l2 random start puts the radius uniform in [0, eps] (most
# points deep inside the ball), ours is uniform in the ball's volume (almost
# all points near the sphere in 784 dimensions), a real difference of a point
# or two. The l2 comparison is therefore made without random start.
@pytest.mark.parametrize(
    "norm,eps,alpha,random_start",
    [("inf", 0.1, 0.01, True), ("inf", 0.1, 0.01, False), (2, 1.0, 0.1, False)],
)
def test_agrees_with_torchattacks(mnist_cnn, mnist_small, norm, eps, alpha, random_start):
    torchattacks = pytest.importorskip("torchattacks")
    _, te = mnist_small
    x, y = te.inputs(), te.y
    steps = 20
    peer_cls = torchattacks.PGD if norm == "inf" else torchattacks.PGDL2
    torch.manual_seed(0)
    peer = peer_cls(mnist_cnn, eps=eps, alpha=alpha, steps=steps, random_start=random_start)
    x_peer = peer(x, y)
    with torch.no_grad():
        theirs = (mnist_cnn(x_peer).argmax(1) == y).float().mean().item()
    ours = evaluate(
        mnist_cnn,
        (x, y),
        PGD(eps=eps, norm=norm, steps=steps, step_size=alpha, random_start=random_start),
        precision="fp32",
        generator=torch.Generator().manual_seed(0),
    )
    clean = evaluate(mnist_cnn, (x, y), precision="fp32")
    assert ours < clean - 0.1, "the attack must bite for the comparison to mean anything"
    assert abs(ours - theirs) <= 0.01 + 1e-9, (ours, theirs)


# --------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(eps=-0.1), "eps must be"),
        (dict(eps=float("inf")), "eps must be"),
        (dict(norm=1), 'norm must be "inf" or 2'),
        (dict(norm="l1"), 'norm must be "inf" or 2'),
        (dict(steps=-1), "steps must be"),
        (dict(steps=2.5), "steps must be"),
        (dict(step_size=-1.0), "step_size must be"),
        (dict(restarts=0), "restarts must be"),
        (dict(precision="fp16"), "precision must be one of"),
    ],
)
def test_bad_parameters_fail_at_once(kwargs, match):
    model = models.LinearModel(4)
    x, y = torch.rand(2, 4), torch.tensor([0, 1])
    args = dict(eps=0.1, norm="inf", steps=2, step_size=0.05) | kwargs
    with pytest.raises(ValueError, match=match):
        pgd(model, x, y, **args)


def test_norm_spellings():
    assert attacks.check_norm(float("inf")) == "inf"
    assert attacks.check_norm("2") == 2
    with pytest.raises(ValueError):
        PGD(eps=0.1, norm=3, steps=1, step_size=0.1)


class _Threshold(torch.nn.Module):
    """1-D: class 1 only above 0.59, a flat (zero-gradient) logit below it.

    From x = 0.5 with eps = 0.1, a PGD step cannot move (the gradient is 0), so
    an example is broken only by a random start above 0.59: 1 in 20 per start.
    One start breaks ~5% of a batch; 100 restarts ~99%.
    """

    def forward(self, x):
        above = 100 * torch.relu(x[:, :1] - 0.59)
        return torch.cat([torch.full_like(above, 0.5), above], dim=1)


def test_restarts_find_what_one_start_misses():
    """Fails when restarts are disabled or rerun the same start."""
    x, y = torch.full((500, 1), 0.5), torch.zeros(500, dtype=torch.long)
    kwargs = dict(eps=0.1, norm="inf", steps=3, step_size=0.03, precision="fp32")
    rates = {}
    for restarts in (1, 100):
        g = torch.Generator().manual_seed(3)
        x_adv = pgd(_Threshold(), x, y, **kwargs, restarts=restarts, generator=g)
        assert ((x_adv - x).abs() <= 0.1 + 1e-6).all()
        rates[restarts] = (_Threshold()(x_adv).argmax(1) != y).float().mean().item()
    assert 0.01 < rates[1] < 0.15, rates
    assert rates[100] > 0.95, rates


@pytest.mark.parametrize("x", [torch.rand(4, 4) * 2 - 1, torch.rand(4, 4) + 0.5])
def test_pgd_refuses_inputs_outside_pixel_space(x):
    model = models.LinearModel(4)
    with pytest.raises(ValueError, match=r"\[0, 1\] pixel space.*normalization belongs inside"):
        pgd(model, x, torch.tensor([0, 1, 0, 1]), eps=0.1, norm="inf", steps=2, step_size=0.05)


def test_pgd_refuses_integer_inputs():
    model = models.LinearModel(4)
    x = torch.randint(0, 255, (2, 4), dtype=torch.uint8)
    with pytest.raises(TypeError, match="floating-point inputs"):
        pgd(model, x, torch.tensor([0, 1]), eps=0.1, norm="inf", steps=2, step_size=0.05)


def test_pgd_range_check_is_once_per_call(monkeypatch):
    calls = []
    aminmax = torch.aminmax
    monkeypatch.setattr(torch, "aminmax", lambda *a, **k: calls.append(1) or aminmax(*a, **k))
    model = models.LinearModel(4)
    x, y = torch.rand(8, 4), torch.randint(0, 2, (8,))
    pgd(model, x, y, eps=0.1, norm="inf", steps=7, step_size=0.05, restarts=3)
    assert len(calls) == 1


@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("size", [float("inf"), float("nan")])
def test_pgd_refuses_non_finite_step_sizes(norm, size):
    model = models.LinearModel(4)
    x, y = torch.rand(2, 4), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="step_size must be a finite number"):
        pgd(model, x, y, eps=0.5, norm=norm, steps=2, step_size=size)
    with pytest.raises(ValueError, match="step_size must be a finite number"):
        PGD(eps=0.5, norm=norm, steps=2, step_size=size)


@pytest.mark.parametrize("steps", [0, -3, 2.0, True])
def test_relative_step_rule_refuses_a_step_count_below_one(steps):
    # The rule divides by the step count: 0 used to raise ZeroDivisionError.
    for call in (
        lambda: attacks.step_factor(steps),
        lambda: attacks.step_size(0.3, steps),
        lambda: PGD.madry(0.3, "inf", steps),
    ):
        with pytest.raises(ValueError, match="steps an int >= 1"):
            call()
    assert attacks.step_factor(10) == 0.25
    assert attacks.step_size(0.3, 10) == 2.5 * 0.3 / 10


# -- found by mutation testing (issue 41, lab/mutation/) ----------------------------------
def test_the_random_start_follows_the_generator():
    # the same seed, the same start; another seed, another (catches the generator
    # dropped for the global RNG)
    from lib.attacks import geometry

    x = torch.full((4, 1, 3, 3), 0.5)
    for norm in ("inf", 2):

        def start(seed, norm=norm):
            g = torch.Generator().manual_seed(seed)
            return geometry.start_delta(x, eps=0.1, norm=norm, random_start=True, generator=g)

        torch.manual_seed(0)
        a = start(1)
        torch.manual_seed(1)
        assert torch.equal(a, start(1)) and not torch.equal(a, start(2))
        assert torch.equal(
            geometry.start_delta(x, eps=0.1, norm=norm, random_start=False, generator=None),
            torch.zeros_like(x),
        )


class _Counting(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.calls = torch.nn.Linear(4, 3), 0

    def forward(self, x):
        self.calls += 1
        return self.linear(x)


def test_one_run_by_default_and_steps_plus_one_forward_passes():
    # steps gradient steps and the last point evaluated: steps + 1 forward passes, one
    # run unless restarts are asked for (catches a default of more restarts or steps)
    torch.manual_seed(0)
    model = _Counting()
    x, y = torch.rand(5, 4), torch.zeros(5, dtype=torch.long)
    with torch.no_grad():
        model.linear.weight.zero_()
        model.linear.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))  # never fooled at eps 0.1
    pgd(model, x, y, eps=0.1, norm="inf", steps=3, step_size=0.05, fold=False)
    assert model.calls == 4
    PGD(eps=0.1, norm="inf", steps=3, step_size=0.05)(model, x, y, fold=False)
    assert model.calls == 8


def test_without_a_generator_the_start_is_drawn_on_the_input_s_device():
    # "meta" stands in for a GPU: a part drawn on the CPU would not mix with it (catches
    # a device argument dropped)
    from lib.attacks import geometry

    for norm in ("inf", 2):
        x = torch.zeros(3, 1, 2, 2, device="meta")
        assert geometry.random_perturb(x, eps=0.1, norm=norm).device.type == "meta"


def test_the_linear_adversary_as_settings_keeps_its_box():
    # LinearWorstCase(box=False) leaves [0, 1] (catches box dropped on the way to the call)
    model = models.LinearModel(4)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([1.0, -1.0, 0.5, -0.5]))
    x, y = torch.tensor([[0.0, 1.0, 0.5, 0.5]]), torch.tensor([1])
    free = attacks.LinearWorstCase(eps=0.2, box=False)(model, x, y)
    assert torch.equal(free, linear_worst_case(model, x, y, eps=0.2, box=False))
    assert free.min() < 0 and free.max() > 1
    assert torch.equal(attacks.LinearWorstCase(eps=0.2)(model, x, y), free.clamp(0, 1))


def test_the_linear_adversary_describes_itself():
    # the text a run's metrics record as its attack (catches the box or eps left out)
    assert (
        attacks.LinearWorstCase(eps=0.2).describe()
        == "exact l_inf worst case of a linear model, eps=0.2, clipped to [0, 1]"
    )
    assert attacks.LinearWorstCase(eps=0.25, box=False).describe() == (
        "exact l_inf worst case of a linear model, eps=0.25"
    )
