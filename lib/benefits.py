"""The measurements of the unexpected-benefits chapter (B1-B4, S4), as functions.

B1: per-image gradient scores (:func:`gradient_scores`), a random-init network
of the same architecture (:func:`random_init`) and the positive control
(:func:`edge_control`). B2 / B3: Figure 3's large eps (:func:`large_eps`, beyond
the training eps on MNIST l_inf), its untargeted PGD (:func:`large_eps_attack`,
checked by :func:`untargeted`) and the path predictions
(:func:`path_predictions`); their judges are :mod:`lib.benefits_proxy`. B4: the
masking audit's tasks (:func:`audit_attack`, with a transfer attack from the
standard model). The verdict rules are :mod:`lib.verdicts.benefits`, re-exported
here. eps are in [0, 1] pixel space.
"""

from __future__ import annotations

import dataclasses
import time

import torch

from lib import models, saliency
from lib.attacks import PGD, check_norm, step_factor
from lib.data import load_split
from lib.experiments import grids, profiles, run_checks
from lib.experiments import runs as runs_lib
from lib.experiments.store import Store
from lib.verdicts.benefits import TRANSFER

#: The judge of a panel (attacked model, attack norm): the robust model trained
#: with the other norm, so it is neither the attacked model nor its twin.
JUDGE = {"inf": "l2", 2: "linf"}

NORM = {"l2": 2, "linf": "inf"}

#: The large eps of Figure 3 where it differs from Table 3: the paper's MNIST
#: l_inf eps 0.3 is the training eps itself, against its own footnote 2 ("much
#: larger values of eps than those used during training"). We take 0.4, a third
#: beyond it (0.5 lets any image become flat grey).
LARGE_EPS = {("mnist", "inf"): 0.4}


def large_eps(dataset: str, norm) -> float:
    """The large eps of Figure 3's examples: Table 3's, or :data:`LARGE_EPS` where it differs."""
    key = (dataset, check_norm(norm))
    return LARGE_EPS.get(key, profiles.TABLE3_EPS[key])


#: B4's "accuracy falls toward 0 as eps grows" is checked at Figure 3's large eps,
#: except where that eps still lets a classifier be robust: on MNIST l_inf, 0.5, at
#: which every image can reach the same flat grey image, so no classifier keeps its
#: accuracy against an attack that finds it.
FALL_EPS = {("mnist", "inf"): 0.5}


def fall_eps(dataset: str, norm) -> float:
    """The eps of B4's fall check: :data:`FALL_EPS`, else :func:`large_eps`."""
    key = (dataset, check_norm(norm))
    return FALL_EPS.get(key, large_eps(dataset, norm))


def fall_attack(dataset: str, norm, *, steps: int) -> PGD:
    """B4's fall check: Figure 3's untargeted PGD (``steps`` steps of 2.5 eps / steps,
    no random start) at :func:`fall_eps`."""
    norm = check_norm(norm)
    eps = fall_eps(dataset, norm)
    return PGD.relative(eps, norm, steps, step_factor(steps), random_start=False)


def large_eps_attack(dataset: str, norm, *, steps: int) -> PGD:
    """Untargeted PGD for Figure 3 at :func:`large_eps`: ``steps`` steps of 2.5 eps / steps
    from x itself (no random start), as :func:`lib.experiments.profiles.large_eps_attack` but for
    the eps. Untargeted: it ascends the loss at the label it is given."""
    norm = check_norm(norm)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    eps = large_eps(dataset, norm)
    return PGD.relative(eps, norm, steps, step_factor(steps), random_start=False)


def untargeted(attack) -> bool:
    """Whether ``attack`` is untargeted, read from what it does: on a fixed linear probe
    (three 2x2 images at 0.5, labels 0, 1, 2) it must raise the cross-entropy at the
    label it is given on every image. A targeted attack lowers it."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, -1, 0.5, 0], [-1, 1, 0, 0.5], [0, 0, -1, 1]]))
        net[1].bias.zero_()
    x, y = torch.full((3, 1, 2, 2), 0.5), torch.tensor([0, 1, 2])
    x_adv = attack(net, x, y, precision="fp32", generator=torch.Generator().manual_seed(0))
    ce = torch.nn.functional.cross_entropy
    with torch.no_grad():
        return bool((ce(net(x_adv), y, reduction="none") > ce(net(x), y, reduction="none")).all())


def train_eps(dataset: str, norm, profile: str) -> float:
    """The robust models' training eps: of the price chapter's Table 4 runs at
    ``profile``, the one closest to Table 2's (no new training)."""
    norm = check_norm(norm)
    table2 = profiles.table2_eps(dataset, norm)
    return min(grids.price_grid(profile).table4_eps[(dataset, norm)], key=lambda e: abs(e - table2))


def run_config(dataset: str, model: str, profile: str, seed: int) -> runs_lib.RunConfig:
    """The price chapter's run of ``model`` (standard, l2 or linf) on ``dataset``."""
    if model == "standard":
        return runs_lib.RunConfig(dataset, profile, seed=seed)
    norm = NORM[model]
    eps = train_eps(dataset, norm, profile)
    return runs_lib.RunConfig(
        dataset, profile, mix="adversarial", norm=norm, eps_train=eps, seed=seed
    )


def random_init(dataset: str, profile: str, seed: int, device="cpu") -> torch.nn.Module:
    """An untrained network of the architecture of ``dataset``'s runs at ``profile``
    (B1's null model), initialised from ``seed`` without touching the global RNG."""
    s = profiles.settings(dataset, profile)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = models.build(s.arch, **s.model_kwargs)
    return net.to(device).eval()


def audit_attacks() -> tuple[str, ...]:
    """Every attack of B4's audit: :data:`lib.attacks.audit.ATTACKS` and :data:`TRANSFER`."""
    from lib.attacks import audit

    return (*audit.ATTACKS, TRANSFER)


def audit_tasks(targets) -> list[tuple[str, str, str]]:
    """B4's audit as ``(dataset, model, attack)`` tasks, one per attack of
    :func:`audit_attacks` on each robust model of ``targets``."""
    return [(d, m, name) for d, m in targets for name in audit_attacks()]


def audit_task_cost(task: tuple[str, str, str]) -> float:
    """The relative cost of one audit task (:data:`lib.attacks.audit.COSTS`; the
    transfer attack: the strong PGD with one of its starts)."""
    from lib.attacks import audit

    if task[2] == TRANSFER:
        return audit.COSTS["strong PGD"] / 5
    return audit.COSTS[task[2]]


#: B4's audit code version, in its store keys (beside the model's run key):
#: bump it when a change can change an attack's per-image results.
AUDIT_VERSION = 1


def audit_key_settings(
    task: tuple[str, str, str], *, profile: str, seed: int, n_audit: int, budget, device="cpu"
) -> dict:
    """The store's key settings of one audit task (:func:`audit_attack`)."""
    dataset, model, name = task
    settings = {
        "audit_of": runs_lib.run_key(run_config(dataset, model, profile, seed), device),
        "attack": name,
        "budget": dataclasses.asdict(budget),
        "n_audit": n_audit,
        "seed": seed,
        "audit_version": AUDIT_VERSION,
    }
    if name == TRANSFER:  # its examples come from the standard model
        settings["source"] = runs_lib.run_key(
            run_config(dataset, "standard", profile, seed), device
        )
    return settings


def transfer_attack(source, *, norm, eps: float, budget, seed: int):
    """B4's transfer attack as ``(x, y) -> x_adv``: the strong PGD's steps with one random
    start on ``source`` (the standard model), at the robust model's eps and norm."""
    from lib.attacks.strong import restarted_pgd

    return restarted_pgd(
        source,
        eps=eps,
        norm=norm,
        steps=budget.strong_steps,
        restarts=1,
        precision="fp32",
        seed=seed,
    )


def audit_attack(
    task: tuple[str, str, str],
    *,
    profile: str,
    seed: int,
    n_audit: int,
    budget,
    device="cpu",
    store=None,
) -> dict:
    """One attack of B4's audit, ``task = (dataset, model, attack)`` (model l2 or
    linf), on the first ``n_audit`` test images: ``{"survived": per-image bool}``,
    with the input gradients' zero fraction for the training PGD (the cheapest
    task). A module-level function, so workers can run it
    (:func:`lib.experiments.execute.parallel.in_workers`); the model comes from the store, and so
    does the result once computed (a rebuild does not attack again: the audit
    is about a tenth of a cold `cpu` build). Each attack seeds its own
    randomness, so the tasks may run in any order and process."""
    from lib.attacks import audit

    store = store or Store()
    dataset, model, name = task
    settings = audit_key_settings(
        task, profile=profile, seed=seed, n_audit=n_audit, budget=budget, device=device
    )

    def compute() -> dict:
        config = run_config(dataset, model, profile, seed)
        net, run = runs_lib.train_run(config, store=store, device=device, progress=False)
        ds = load_split(dataset, "test", None, seed=0, device=device)
        x, y = ds.inputs(slice(0, n_audit)), ds.y[:n_audit]
        norm = NORM[model]
        eps = train_eps(dataset, norm, profile)
        training = profiles.settings(dataset, profile).attack(eps, norm)
        start = time.perf_counter()
        if name == TRANSFER:
            source_config = run_config(dataset, "standard", profile, seed)
            source, _ = runs_lib.train_run(
                source_config, store=store, device=device, progress=False
            )
            attack = transfer_attack(source, norm=norm, eps=eps, budget=budget, seed=seed)
        else:
            attack = audit.suite(
                net, norm=norm, eps=eps, training_attack=training, budget=budget, seed=seed
            )[name]
        metrics = {"survived": audit.survives(net, attack, x, y).tolist()}
        if name == audit.ATTACKS[0]:
            metrics["zero fraction"] = audit.zero_gradient_fraction(net, x, y)
        return {
            "metrics": {**metrics, "seconds": time.perf_counter() - start},
            "provenance": run_checks.measured_on(run),  # the checkpoint it attacked
        }

    plan = runs_lib.plan_of(run_config(dataset, model, profile, seed), device)
    bound = run_checks.bound_to_run(store, plan)

    def valid(stored) -> bool:
        survived = stored.metrics.get("survived")
        return (
            isinstance(survived, list)
            and all(isinstance(v, bool) for v in survived)
            and bound(stored)
        )

    stored = store.get_or_run(settings, compute, valid).metrics
    out = {"survived": torch.tensor(stored["survived"], dtype=torch.bool)}
    if "zero fraction" in stored:
        out["zero fraction"] = stored["zero fraction"]
    return out


def audit_results(tasks, outputs) -> dict[tuple[str, str], tuple[dict, dict, dict]]:
    """Per robust model ``(dataset, model)``: its audit's accuracies (each attack of
    :func:`audit_attacks` and ``"all"``, every attack together), masking flags, and
    each attack's per-image survival, from :func:`audit_attack`'s outputs."""
    from lib.attacks import audit

    survived, zero = {}, {}
    for (d, m, name), out in zip(tasks, outputs, strict=True):
        survived.setdefault((d, m), {})[name] = out["survived"]
        if "zero fraction" in out:
            zero[d, m] = out["zero fraction"]
    result = {}
    for target, by_attack in survived.items():
        by_attack = {name: by_attack[name] for name in audit_attacks() if name in by_attack}
        accs = audit.accuracies(by_attack)
        result[target] = accs, audit.flags_of(zero[target], accs), by_attack
    return result


def gradient_scores(net, x, y, *, batch: int = 250) -> dict[str, torch.Tensor]:
    """Per image: the input gradient's sparsity and edge alignment (lib.saliency)."""
    g = torch.cat(
        [
            saliency.input_gradient(net, xb, yb)
            for xb, yb in zip(x.split(batch), y.split(batch), strict=True)
        ]
    )
    return {
        "sparsity": saliency.sparsity(g).double().cpu(),
        "edge alignment": saliency.edge_alignment(g, x).double().cpu(),
        "zero gradients": torch.tensor(saliency.zero_gradient_fraction(g)),
    }


def edge_control(x, *, batch: int = 250) -> torch.Tensor:
    """B1's positive control on the same images: the edge alignment of a gradient known
    to follow the edges (:class:`lib.saliency.EdgeEnergyModel`), per image."""
    y = torch.zeros(len(x), dtype=torch.long, device=x.device)
    return gradient_scores(saliency.EdgeEnergyModel(), x, y, batch=batch)["edge alignment"]


def path_predictions(net, x, x_adv, frames, *, batch: int = 2000) -> torch.Tensor:
    """[N, T]: the class ``net`` predicts at each frame x + t (x_adv - x), t in ``frames``."""
    t = torch.as_tensor(frames, dtype=x.dtype, device=x.device)
    t = t.view(1, -1, *([1] * (x.dim() - 1)))
    path = (x[:, None] + t * (x_adv - x)[:, None]).flatten(0, 1)
    with torch.no_grad():
        pred = torch.cat([net(p).argmax(1) for p in path.split(batch)])
    return pred.view(len(x), len(frames)).cpu()
