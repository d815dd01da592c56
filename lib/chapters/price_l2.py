"""The price chapter's committed MNIST l2 2.5 trials (``lab/results/l2-gap-cpu.json``):
what each changed of the ``cpu`` recipe, its table and its glued values.

A trial is a row of that file: ``args`` (what it trained with; None keeps the recipe's),
accuracies as fractions in [0, 1] (``std_acc``, ``pgd_acc`` under the profile's PGD,
``strong_acc`` under the strong cascade), ``train_seconds`` and ``provenance``. Tables
and glued values give accuracies in % and gaps in points.
"""

from __future__ import annotations

from lib import verdicts
from lib.experiments import profiles

_CHANGED = ("attack", "train_steps", "step_factor", "epochs", "hidden", "train_eps", "trades")


def l2_changes(args: dict) -> tuple:
    """What a trial changed: (attack, PGD steps, step factor, epochs, hidden units,
    training eps, TRADES beta, PGD loss, seed); None = the recipe's (the loss "ce" and the
    seed 0 are the recipe's; options added later are absent from earlier rows, which kept
    the recipe's)."""
    loss, seed = args.get("loss"), args.get("seed")
    return (*(args.get(k) for k in _CHANGED), None if loss == "ce" else loss, seed or None)


L2_RECIPE = l2_changes({"attack": "pgd"})  # the cpu recipe itself, changed in nothing


#: How :func:`l2_rows`' numeric columns read (one Styler.format call: a second resets
#: the columns it does not name).
L2_FORMAT = {
    **{c: "{:.1f}" for c in ("standard", "profile PGD", "strong", "gap")},
    "time / the recipe's": "{:.2f}",
    "training eps": "{:g}",
    "step / eps": "{:.3g}",
}


def l2_recipe():
    """The recipe the trials change one thing of: MNIST's ``cpu`` settings."""
    return profiles.settings("mnist", "cpu")


def l2_adversary(args: dict, recipe) -> tuple[int, float, float]:
    """A trial's training PGD: (steps, eps, step / eps), the recipe's where it kept them."""
    steps = args["train_steps"] or recipe.train_attack[2].steps
    factor = args["step_factor"] or profiles.step_factor(steps)
    return steps, args["eps"] if args.get("train_eps") is None else args["train_eps"], factor


def l2_stronger(args: dict, recipe) -> bool:
    """A PGD-trained trial whose adversary is stronger than the recipe's: more steps,
    larger steps or a larger training eps (TRADES, APGD and margin trials are other
    losses)."""
    if args["attack"] != "pgd" or args.get("trades") is not None:
        return False
    if args.get("loss", "ce") != "ce":
        return False
    steps, train_eps, factor = l2_adversary(args, recipe)
    pgd = recipe.train_attack[2]
    return steps > pgd.steps or train_eps > args["eps"] or factor > pgd.step_factor


def _first_of(trials: list[dict], changes: tuple) -> dict | None:
    """The first trial of one recipe (``changes`` as :func:`l2_changes` gives them)."""
    return next((r for r in trials if l2_changes(r["args"]) == changes), None)


def l2_rows(trials: list[dict], recipe) -> list[dict]:
    """One row per trial: what it trained with, its accuracies in %, its gap (profile PGD
    minus strong, points) and its training time over the recipe's own first trial's."""
    own = _first_of(trials, L2_RECIPE)
    rows = []
    for r in trials:
        a = r["args"]
        steps, train_eps, factor = l2_adversary(a, recipe)
        attack = f"PGD-{steps}" if a["attack"] == "pgd" else f"APGD-CE-{a['steps']}"
        if a.get("trades") is not None:
            attack = f"TRADES (β = {a['trades']:g}), KL {attack}"
        if a.get("loss") == "margin":
            attack = f"{attack} on the CW margin"
        rows.append(
            {
                "training attack": attack,
                "training eps": train_eps,
                "step / eps": factor if a["attack"] == "pgd" else float("nan"),
                "epochs": a["epochs"] or recipe.epochs,
                "hidden units": a["hidden"] or recipe.model_kwargs["hidden"],
                "seed": a["seed"],
                "standard": 100 * r["std_acc"],
                "profile PGD": 100 * r["pgd_acc"],
                "strong": 100 * r["strong_acc"],
                "gap": 100 * (r["pgd_acc"] - r["strong_acc"]),
                "time / the recipe's": (
                    r["train_seconds"] / own["train_seconds"] if own else float("nan")
                ),
                "date": r["provenance"]["date"],
            }
        )
    return rows


def l2_glued(trials: list[dict], recipe) -> dict:
    """The trials' glued values: how many, the smallest gap and largest cost (of
    :func:`l2_rows`), the paper's robust accuracy of the cell (%), PGD-40's change of the
    strong and PGD readings against the recipe (points; NaN without both trials), the
    recipe's repeats, and the strong accuracy range (%) of the stronger adversaries."""
    rows = l2_rows(trials, recipe)
    own = _first_of(trials, L2_RECIPE)
    pgd40 = _first_of(trials, l2_changes({"attack": "pgd", "train_steps": 40}))
    band = [100 * r["strong_acc"] for r in trials if l2_stronger(r["args"], recipe)]
    out = {
        "P3_l2_trials": len(rows),
        "P3_l2_trial_min_gap": min((r["gap"] for r in rows), default=float("nan")),
        "P3_l2_trial_max_cost": max((r["time / the recipe's"] for r in rows), default=float("nan")),
        "P3_l2_paper_rob": verdicts.PAPER_TABLE4[("mnist", 2, 2.5)][1][2],
    }
    for name in ("strong", "pgd"):
        delta = 100 * (pgd40[f"{name}_acc"] - own[f"{name}_acc"]) if own and pgd40 else None
        out[f"P3_l2_pgd40_{name}_delta"] = float("nan") if delta is None else delta
    return out | {
        "P3_l2_recipe_repeats": len(l2_repeats(trials)),
        "P3_l2_stronger_trials": len(band),
        "P3_l2_stronger_min": min(band, default=float("nan")),
        "P3_l2_stronger_max": max(band, default=float("nan")),
        "P3_l2_own_strong": 100 * own["strong_acc"] if own else float("nan"),
    }


def l2_repeats(trials: list[dict]) -> list[dict]:
    """The recipe's own trial, each time it was run (another session, the same seed)."""
    return [r for r in trials if l2_changes(r["args"]) == L2_RECIPE]


def l2_repeats_note(trials: list[dict]) -> str | None:
    """Whether the recipe's repeats gave the same numbers, and the machine's speed drift
    between them; None with fewer than two repeats."""
    repeats = l2_repeats(trials)
    if len(repeats) < 2:
        return None
    accs = {(r["std_acc"], r["pgd_acc"], r["strong_acc"]) for r in repeats}
    secs = [r["train_seconds"] for r in repeats]
    return (
        f"The recipe's trial was run {len(repeats)} times (seed 0): "
        + ("the same accuracies each time" if len(accs) == 1 else "different accuracies")
        + f"; its training took {min(secs):.0f}-{max(secs):.0f} s, "
        f"so time ratios under {max(secs) / min(secs):.2f} are within the machine's drift."
    )
