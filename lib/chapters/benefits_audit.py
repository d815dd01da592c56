"""The unexpected-benefits chapter's B4: the audit for gradient masking of the robust models.

Each robust model is attacked by the audit's attacks (:mod:`lib.attacks.audit`) in worker
processes; :func:`b4_section` turns their accuracies (fractions of the audited images) and
masking flags into the chapter's table, glued values and one judged row per model. eps are
in [0, 1] pixel space.
"""

from __future__ import annotations

import functools

import pandas as pd

from lib import benefits, verdicts
from lib.attacks import audit
from lib.chapters.benefits import DATASETS, Section
from lib.experiments.execute import parallel
from lib.verdicts import benefits as VB

#: B4's attacked models: the robust ones.
AUDITED = tuple((d, m) for d in DATASETS for m in ("l2", "linf"))


def audit_budget(sizes) -> audit.AuditBudget:
    """B4's attack budget from the profile's :class:`lib.experiments.grids.BenefitsSizes`."""
    aa = sizes.autoattack
    return audit.AuditBudget(
        sizes.strong_steps, sizes.strong_restarts, aa["steps"], aa["targets"], aa["queries"]
    )


def run_audit(*, profile: str, seed: int, n_audit: int, budget, device) -> dict:
    """B4's attacks, one task per robust model and attack in worker processes on a CPU
    (:func:`lib.experiments.execute.parallel.in_workers`), the costliest first; each attack
    seeds its own randomness. Per model: :func:`lib.benefits.audit_results`' (accuracies, flags)."""
    tasks = benefits.audit_tasks(AUDITED)
    attack = functools.partial(
        benefits.audit_attack,
        profile=profile,
        seed=seed,
        n_audit=n_audit,
        budget=budget,
        device=str(device),
    )
    costs = [benefits.audit_task_cost(t) for t in tasks]
    outputs = parallel.in_workers(
        attack, tasks, device=device, desc="B4 audit attacks", costs=costs
    )
    return benefits.audit_results(tasks, outputs)


def b4_section(
    audited: dict, *, profile: str, n_audit: int, large_correct: dict | None = None
) -> Section:
    """B4 from :func:`run_audit`'s results: robust accuracy (fraction) under each attack and
    all of them, per model, with its eps; the masking flags (``data["flags"]``); the drop
    from the training PGD to all attacks (``data["gaps"]``, a fact); a verdict per model
    (:func:`lib.verdicts.benefits.b4_judgement`, z over the claim's tests on every model).
    ``large_correct[(dataset, model)]``: per image, the model right under its large-eps
    attack (B2's first images), compared with the training PGD on the same images."""
    large_correct = large_correct or {}
    table, flags, glued, rows = {}, {}, {}, {}
    tests = VB.B4_TESTS * len(audited)
    for (dataset, model), (accs, model_flags, survived) in audited.items():
        flags[dataset, model] = model_flags
        eps = benefits.train_eps(dataset, benefits.NORM[model], profile)
        table[dataset, model] = {**accs, "eps": eps}
        for name, acc in accs.items():
            key = name.lower().replace(" ", "_").replace("-", "_")
            glued[f"B4_{dataset}_{model}_{key}_acc"] = acc
        glued[f"B4_{dataset}_{model}_gap"] = accs["training PGD"] - accs["all"]
        glued[f"B4_{dataset}_{model}_zero_grad"] = model_flags["zero-gradient fraction"]
        large = large_correct.get((dataset, model))
        at_train = None
        if large is not None:
            m = min(len(large), len(survived["training PGD"]))
            large, at_train = large[:m], survived["training PGD"][:m].cpu()
            table[dataset, model]["large eps"] = float(large.float().mean())
        rows[f"{dataset} {model}"] = VB.b4_judgement(
            survived,
            zero_fraction=model_flags["zero-gradient fraction"],
            large=large,
            at_train=at_train,
            tests=tests,
        )
    table = pd.DataFrame(table).T
    table.index.names = ["data set", "model"]
    flags = pd.DataFrame(flags).T
    flags["masking flagged"] = [audit.masked(f) for f in flags.to_dict("records")]
    gaps = table["training PGD"] - table["all"]
    glued["B4_masking_flags"] = int(flags["masking flagged"].sum())
    glued["B4_max_gap"] = float(gaps.max())
    glued["B4_max_gap_model"] = " ".join(gaps.idxmax())
    glued["B4_tests"] = tests
    glued["B4_models"] = len(audited)
    glued["B4_z"] = verdicts.z_for(tests)
    glued["B4_fall_share"] = VB.FALL_SHARE
    return Section(table, rows, glued, {"flags": flags, "gaps": gaps})


def budget_note(profile: str, aa: dict) -> str:
    """The AutoAttack budget at ``profile``, in a sentence."""
    return (
        f"AutoAttack budget at profile `{profile}`: APGD-CE, APGD-T and FAB-T {aa['steps']} steps "
        f"(the targeted ones {aa['targets']} target classes each), Square {aa['queries']} queries "
        "(AutoAttack's own budget is 5,000); the transfer attack: the strong PGD's steps, one "
        "start, on the standard model."
    )
