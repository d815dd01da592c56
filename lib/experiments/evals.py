"""Evaluations of a stored run at other eps and norms, stored too.

:func:`robust_eval`: the profile's evaluation PGD at another eps or norm;
:func:`strong_eval`: the strong evaluation (the profile's PGD, then the
cascade of :mod:`lib.attacks.strong` on the images it leaves robust). Both
are keyed by the run's key (recipe version and data fingerprint included)
and the attack's exact fields, and bound to the exact checkpoint they
measured: each records its SHA-256 and is served only while the run's stored
checkpoint is that one (a run retrained under the same key, with other
weights, has its evaluations recomputed).
"""

from __future__ import annotations

import dataclasses
import time

import torch

from lib.attacks import check_eps, check_norm, strong
from lib.experiments import profiles
from lib.experiments.plan_data import plan_split, robust_images
from lib.experiments.run_checks import bound_to_run, measured_on
from lib.experiments.runs import Plan, RunConfig, plan_of, train_run
from lib.experiments.store import Store, key_of
from lib.train import balanced_accuracy, outcomes


def _robust_eval_settings(plan: Plan, attack) -> dict:
    return {
        "robust_eval_of": plan.key,  # the run's key, as planned
        # the attack's exact fields: its description rounds eps to 4 digits
        "attack": {"kind": type(attack).__name__, **dataclasses.asdict(attack)},
        "n_test": plan.settings.n_test,
        "n_test_robust": plan.settings.n_test_robust,
        "seed": plan.config.seed,
    }


def _robust_eval_plan(config: RunConfig | Plan, eps: float, norm, device):
    """(the run's plan, the evaluation attack, the evaluation's key settings)."""
    plan = plan_of(config, device)
    norm = check_norm(norm) if norm is not None else plan.config.norm
    attack = plan.settings.attack(check_eps(eps), norm, kind="eval")
    return plan, attack, _robust_eval_settings(plan, attack)


def robust_eval_key(config: RunConfig | Plan, eps: float, *, norm=None, device=None) -> str:
    """The store key of :func:`robust_eval` of ``config`` at ``eps``, without running it."""
    return key_of(_robust_eval_plan(config, eps, norm, device)[-1])


def robust_eval(
    config: RunConfig | Plan,
    eps: float,
    *,
    norm=None,
    store: Store | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> float:
    """Robust test accuracy of ``config``'s model at another ``eps`` (and ``norm``), stored too.

    ``norm`` defaults to the config's own; a standard model (``mix="clean"``)
    has no threat model of its own, so pass the one to evaluate. The
    evaluation attack is the profile's (as in :func:`train_run`); the model
    is trained first if it is not in the store.
    """
    store = store or Store()
    plan, attack, key = _robust_eval_plan(config, eps, norm, device)

    def compute() -> dict:
        model, run = train_run(plan, store=store, progress=progress)
        test_set = robust_images(plan_split(plan, "test"), plan.settings.n_test_robust)
        g = torch.Generator().manual_seed(plan.config.seed)
        ok, y = outcomes(
            model,
            test_set,
            attack,
            precision=plan.precision,
            generator=g,
            batch_size=plan.settings.eval_batch_size,
        )
        metrics = {
            "adv_acc": int(ok.sum()) / len(ok),
            "adv_acc_balanced": balanced_accuracy(ok, y),
            "eps": eps,
            "attack": attack.describe(),
        }
        return {"metrics": metrics, "provenance": measured_on(run)}

    valid = bound_to_run(store, plan, ("adv_acc",))
    return store.get_or_run(key, compute, valid).metrics["adv_acc"]


#: The strong evaluation's code version, in its store keys (beside the run's
#: recipe version): bump it when a change can change its results.
#: 2: its torchattacks components run on the fast eval view (``fast.eval_view``).
#: 3: the cascade after the profile's PGD runs in fp32 (:data:`STRONG_PRECISION`).
STRONG_VERSION = 3

#: The precision of the strong evaluation's cascade (strong PGD, APGD-CE,
#: APGD-T), whatever the run's precision; the profile's PGD before it keeps the
#: run's. bf16 autocast made the cascade slightly weaker: on the `cpu` build's
#: four largest-eps Table 4 robust models (1,000 images each,
#: ``lab/trials/eval_view_trial.py``, lab/results/eval-view-cpu.json),
#: 522 vs 515-516 images left robust on MNIST l2 2.5 (0.7 point), 0.2-0.3
#: point on CIFAR-10, equal on MNIST l_inf 0.3. In the cold cpu build of 8fa083f
#: a strong evaluation (PGD-10 included) took 1.35x its bf16 time (18.4 s vs
#: 13.4 s on average). The B4 audit runs in fp32 too.
STRONG_PRECISION = "fp32"


def _strong_eval_settings(plan: Plan, eps, norm):
    """(eps, norm, the profile's evaluation PGD, the strong budget, the store's key settings)."""
    eps = plan.eps_eval if eps is None else check_eps(eps)
    norm = check_norm(norm) if norm is not None else plan.config.norm
    attack = plan.settings.attack(eps, norm, kind="eval")
    budget = profiles.strong_budget(plan.config.profile)
    key = {
        **_robust_eval_settings(plan, attack),
        "strong": budget.to_dict(),
        "strong_version": STRONG_VERSION,
    }
    return eps, norm, attack, budget, key


def strong_eval_key(config: RunConfig | Plan, eps=None, *, norm=None, device=None) -> str:
    """The store key of :func:`strong_eval` of ``config``, without running it."""
    return key_of(_strong_eval_settings(plan_of(config, device), eps, norm)[-1])


def strong_eval(config: RunConfig, eps=None, *, norm=None, store=None, device=None, progress=True):
    """Robust accuracy of ``config``'s model under the strong evaluation, computed once and stored.

    On the first ``n_test_robust`` test images of the profile: the profile's
    evaluation PGD (as in :func:`lib.experiments.runs.train_run`, same seed), then the
    cascade of :func:`lib.attacks.strong.evaluate` with the profile's
    budget on the images it leaves robust, in fp32 (``STRONG_PRECISION``;
    the profile's PGD in the run's precision). The model is trained first if
    the store does not hold it.

    Distance measure:
        the run's norm (l_inf or l2) in [0, 1] pixel space, unless ``norm`` says otherwise.

    Args:
        config (RunConfig | Plan): the run whose model is attacked (a plan:
            as planned, its key included). Required.
        eps (float | None): radius in [0, 1] pixel space. (Default: None: the
            run's ``eps_eval``)
        norm (str | int | None): ``"Linf"`` or ``"L2"`` (any spelling of
            ``lib.attacks.check_norm``). (Default: None: the run's norm)
        store (Store | None): where runs and evaluations are kept. (Default:
            None: ``Store()``, at ``$ODDS_STORE``)
        device (torch.device | str | None): (Default: None: CUDA when there is one)
        progress (bool): show training's progress bar. (Default: True)

    Returns:
        dict: the metrics of :func:`lib.attacks.strong.evaluate`
        (``adv_acc``, ``pgd_acc``, ``after``...).

    Example:
        >>> from lib.experiments.evals import strong_eval
        >>> from lib.experiments.runs import RunConfig
        >>> cfg = RunConfig("mnist", "smoke", "adversarial", norm="Linf", eps_train=0.3)
        >>> strong_eval(cfg)["adv_acc"]
    """
    store, plan = store or Store(), plan_of(config, device)
    eps, norm, attack, budget, key = _strong_eval_settings(plan, eps, norm)

    def compute() -> dict:
        model, run = train_run(plan, store=store, progress=progress)
        test_set = robust_images(plan_split(plan, "test"), plan.settings.n_test_robust)
        m = strong_metrics(
            model,
            test_set,
            attack,
            eps=eps,
            norm=norm,
            budget=budget,
            seed=plan.config.seed,
            precision=plan.precision,
            batch_size=plan.settings.eval_batch_size,
        )
        return {"metrics": m, "provenance": measured_on(run)}

    return store.get_or_run(key, compute, bound_to_run(store, plan, ("adv_acc",))).metrics


def strong_metrics(
    model, test_set, attack, *, eps, norm, budget, seed: int, precision: str, batch_size: int
) -> dict:
    """The strong evaluation of a model in hand on ``test_set`` (what :func:`strong_eval` stores).

    The profile's evaluation PGD ``attack`` in ``precision`` (the run's),
    seeded with ``seed``; then :func:`lib.attacks.strong.evaluate` with
    ``budget`` in :data:`STRONG_PRECISION` on the images it leaves robust.
    """
    start = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    pgd_ok, y = outcomes(
        model, test_set, attack, generator=g, precision=precision, batch_size=batch_size
    )
    m = strong.evaluate(
        model,
        test_set.inputs(),
        y,
        pgd_ok,
        eps=eps,
        norm=norm,
        budget=budget,
        seed=seed,
        precision=STRONG_PRECISION,
        batch_size=batch_size,
    )
    m.update(
        attack=attack.describe(),
        precision={"pgd": precision, "cascade": STRONG_PRECISION},
        seconds=time.perf_counter() - start,
    )
    return m
