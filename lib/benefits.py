"""The measurements and verdicts of the unexpected-benefits chapter (B1-B4), as functions.

B1: per-image gradient scores (:func:`gradient_scores`) and their verdict
with paired standard errors (:func:`b1_judgement`). B2 / B3: the judge of
another kind (:data:`JUDGE`: the robust model of the *other* norm), the
predictions along the straight path to a large-eps example
(:func:`path_predictions`) and the two verdicts (:func:`b2_judgement`,
:func:`b3_judgement`), capped at qualitatively reproduced because a model
judge is only a proxy for how an image looks. B4: :func:`b4_judgement`.
"""

from __future__ import annotations

import dataclasses
import time

import torch

from lib import saliency, verdicts
from lib.attacks import check_norm
from lib.data import load_split
from lib.experiments import grids, profiles, run_checks
from lib.experiments import runs as runs_lib
from lib.experiments.store import Store
from lib.judging import PathReport, Rate

#: The judge of a panel (attacked model, attack norm): the robust model trained
#: with the other norm, so it is neither the attacked model nor its twin.
JUDGE = {"inf": "l2", 2: "linf"}

NORM = {"l2": 2, "linf": "inf"}


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


def audit_tasks(targets) -> list[tuple[str, str, str]]:
    """B4's audit as ``(dataset, model, attack)`` tasks, one per attack of
    :data:`lib.attacks.audit.ATTACKS` on each robust model of ``targets``."""
    from lib.attacks import audit

    return [(d, m, name) for d, m in targets for name in audit.ATTACKS]


def audit_task_cost(task: tuple[str, str, str]) -> float:
    """The relative cost of one audit task (:data:`lib.attacks.audit.COSTS`)."""
    from lib.attacks import audit

    return audit.COSTS[task[2]]


#: B4's audit code version, in its store keys (beside the model's run key):
#: bump it when a change can change an attack's per-image results.
AUDIT_VERSION = 1


def audit_key_settings(
    task: tuple[str, str, str], *, profile: str, seed: int, n_audit: int, budget, device="cpu"
) -> dict:
    """The store's key settings of one audit task (:func:`audit_attack`)."""
    dataset, model, name = task
    return {
        "audit_of": runs_lib.run_key(run_config(dataset, model, profile, seed), device),
        "attack": name,
        "budget": dataclasses.asdict(budget),
        "n_audit": n_audit,
        "seed": seed,
        "audit_version": AUDIT_VERSION,
    }


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
        suite = audit.suite(
            net, norm=norm, eps=eps, training_attack=training, budget=budget, seed=seed
        )
        start = time.perf_counter()
        metrics = {"survived": audit.survives(net, suite[name], x, y).tolist()}
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


def audit_results(tasks, outputs) -> dict[tuple[str, str], tuple[dict, dict]]:
    """Per robust model ``(dataset, model)``: its audit's accuracies (each attack
    and ``"all"``) and masking flags, from :func:`audit_attack`'s outputs."""
    from lib.attacks import audit

    survived, zero = {}, {}
    for (d, m, name), out in zip(tasks, outputs, strict=True):
        survived.setdefault((d, m), {})[name] = out["survived"]
        if "zero fraction" in out:
            zero[d, m] = out["zero fraction"]
    result = {}
    for target, by_attack in survived.items():
        accs = audit.accuracies({name: by_attack[name] for name in audit.ATTACKS})
        result[target] = accs, audit.flags_of(zero[target], accs)
    return result


PROXY = "a model judge is a proxy for how the images look; see the figures"


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


def paired(a: torch.Tensor, b: torch.Tensor) -> verdicts.Estimate:
    """mean(a - b) over the same images, with the paired standard error."""
    return verdicts.Estimate(float((a - b).mean()), verdicts.paired_diff_se(a, b))


def b1_judgement(scores: dict[str, dict[str, torch.Tensor]]) -> verdicts.Judgement:
    """B1 on one data set: both robust models' gradients align with edges more than the
    standard model's, and the l_inf model's are sparser than the l2 model's; all three
    beyond 2 paired SEs. ``scores[model]`` is :func:`gradient_scores` of that model."""
    al = {m: s["edge alignment"] for m, s in scores.items()}
    sp = {m: s["sparsity"] for m, s in scores.items()}
    return verdicts.all_hold(
        {
            "l2 aligns": verdicts.signed_effect(
                paired(al["l2"], al["standard"]), name="alignment l2 - standard"
            ),
            "linf aligns": verdicts.signed_effect(
                paired(al["linf"], al["standard"]), name="alignment linf - standard"
            ),
            "linf sparser": verdicts.signed_effect(
                paired(sp["linf"], sp["l2"]), name="sparsity linf - l2"
            ),
        }
    )


def path_predictions(net, x, x_adv, frames, *, batch: int = 2000) -> torch.Tensor:
    """[N, T]: the class ``net`` predicts at each frame x + t (x_adv - x), t in ``frames``."""
    t = torch.as_tensor(frames, dtype=x.dtype, device=x.device)
    t = t.view(1, -1, *([1] * (x.dim() - 1)))
    path = (x[:, None] + t * (x_adv - x)[:, None]).flatten(0, 1)
    with torch.no_grad():
        pred = torch.cat([net(p).argmax(1) for p in path.split(batch)])
    return pred.view(len(x), len(frames)).cpu()


def b2_judgement(robust: Rate, standard: Rate, *, name: str) -> verdicts.Judgement:
    """B2 for one data set and norm: the judge sees the new class of the robust model's
    examples more often than of the standard model's (binomial SEs), at most
    qualitatively reproduced (a proxy)."""
    j = verdicts.signed_effect(robust.estimate - standard.estimate, name=name)
    return verdicts.at_most(j, verdicts.QUALITATIVE, PROXY)


def b3_judgement(robust: PathReport, standard: PathReport, *, name: str) -> verdicts.Judgement:
    """B3 for one data set and norm: along the paths that change class, the judge goes
    from the true class to the new one in one change more often for the robust model's
    paths than for the standard model's; at most qualitatively reproduced."""
    effect = robust.judge_one_step.estimate - standard.judge_one_step.estimate
    j = verdicts.signed_effect(effect, name=name)
    return verdicts.at_most(j, verdicts.QUALITATIVE, "smoothness of the look: " + PROXY)


def b4_judgement(accs: dict, *, flagged: bool, n_images: int) -> verdicts.Judgement:
    """B4 for one robust model (lib.verdicts.no_masking): no masking flag, strong PGD
    within PGD_GAP of all attacks, enough images, and residual robustness above 0."""
    return verdicts.no_masking(
        flagged=flagged,
        strong_pgd=verdicts.accuracy(accs["strong PGD"], n_images),
        worst=verdicts.accuracy(accs["all"], n_images),
        n_images=n_images,
    )
