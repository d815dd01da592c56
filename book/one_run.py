# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Anatomy of one run
#
# Every model in this book comes from one configuration: a data set, a
# threat model, a training eps, a training-set size, and a way of mixing
# clean and adversarial examples. This page trains one such configuration,
# or loads it from the run store if it was trained before, and shows what
# the run records. `make sweep` executes this page once per point of a grid,
# with papermill, and keeps each executed notebook as that run's log. Its
# defaults, seed 1 included, are the MNIST l_inf 0.3 robust model and its
# standard twin that the price chapter uses as the second seed of Table 4's
# row (seed 0 makes the table itself).

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %%

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import chapter, convergence, parallel, profiles, runs, verdicts
from lib.store import Store

timer = chapter.start()

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 1  # seeds initialization, batch order, augmentation, attack starts (1: the price
# chapter's second seed of Table 4's l_inf 0.3 row, whose seed-0 models are the table's)
dataset = "mnist"  # mnist | cifar10 | restricted_imagenet
norm = "inf"  # threat model: "inf" or 2
eps_train = 0.3  # training eps in [0, 1] pixel space (0 with mix "clean")
eps_eval = None  # evaluation eps; None takes eps_train, or Table 2's when that is 0
n_train = None  # training images; None takes the profile's
mix = "adversarial"  # clean | adversarial | half (half of each batch adversarial) | trades
bn_mode = "eval"  # the model's mode while the training attack runs: eval | train
max_steps = None  # optimizer steps; None takes the profile's
precision = "auto"  # auto | bf16 | fp32
variant = (
    None  # restricted_imagenet only: "paper" (96 classes) | "robustness" (203); None: the profile's
)
beta = None  # TRADES' weight of the KL term, with mix "trades" only (e.g. 6.0)
eval_every = 50  # record standard test accuracy every this many steps; None: no curve
device = None  # e.g. "cuda:1"; None picks CUDA when present, else the CPU

# %%
profile, device = chapter.setup(profile, device)
config = runs.RunConfig(
    dataset=dataset,
    profile=profile,
    mix=mix,
    norm=norm,
    eps_train=eps_train,
    eps_eval=eps_eval,
    n_train=n_train,
    max_steps=max_steps,
    bn_mode=bn_mode,
    seed=seed,
    precision=precision,
    variant=variant,
    beta=beta,
    eval_every=eval_every,
)
settings = profiles.settings(dataset, profile)
key = runs.run_key(config, device)
cached = Store().load(key) is not None
# A run with a curve is compared with its standard twin (below). lib.parallel trains
# the two in worker processes on a CPU where that pays; at `cpu` the robust run costs
# four times its twin, so both train here, one after the other, with every thread.
compare = eval_every is not None and mix != "clean"
twin = config.standard_twin()
if compare:
    parallel.train_all([config, twin], device=device)
model, run = runs.train_run(config, device=device)
m = run.metrics

# %% [markdown]
# ## The configuration and its results
#
# The run is keyed by a hash of its settings. Those are this page's
# parameters, resolved against the profile, plus the profile's own training
# settings. The same key always gives the same stored run.

# %%
summary = pd.Series(
    {
        "store key": key,
        "reused from the store": cached,
        "data set": f"{dataset}"
        + (f", {variant or settings.data['variant']} variant" if "variant" in settings.data else "")
        + f" ({m['n_train']:,} training, {m['n_test']:,} test images"
        + ("" if m["train_complete"] else "; from a subset of the official training set")
        + ")",
        "model": f"{settings.arch} {settings.model_kwargs or ''}",
        "training": f"{mix}, {m['steps']} steps of {settings.batch_size} images, {settings.optimizer} lr {settings.lr}",
        "training attack": m["train_attack"] or "none",
        "attack BatchNorm mode": bn_mode,
        "evaluation attack": m["eval_attack"],
        "standard test accuracy": f"{m['std_acc']:.2%}",
        f"robust test accuracy (eps {m['eps_eval']:.4g})": f"{m['adv_acc']:.2%}",
        # Runs stored before class-balanced accuracy was recorded lack it.
        "class-balanced standard / robust accuracy": (
            f"{m['std_acc_balanced']:.2%} / {m['adv_acc_balanced']:.2%}"
            if "std_acc_balanced" in m
            else "not recorded"
        ),
        "precision": run.record["provenance"]["precision"],
        "device": run.record["provenance"]["device"],
        "training time": f"{m['train_seconds']:.0f} s",
    }
)
glue("run_key", key, display=False)
glue("run_std_acc", m["std_acc"], display=False)
glue("run_adv_acc", m["adv_acc"], display=False)
glue("run_n_train", m["n_train"], display=False)
glue("run_steps", m["steps"], display=False)
summary.to_frame("value")

# %% [markdown]
# The evaluation attack is stronger than the training attack: it takes more
# steps and random restarts, and each example keeps the worst case found. An
# example counts as robust only if it is classified correctly both clean and
# after the attack. The class-balanced accuracy is the mean of the
# per-class accuracies; it differs from the plain one on Restricted
# ImageNet, whose classes are far from balanced.
#
# ## Learning curves
#
# Loss and accuracy on the training batches as they were trained. For an
# adversarial run those are the adversarial examples, so its training
# accuracy is a robust accuracy.

# %% mystnb={"figure": {"caption": "Training loss and accuracy of this one run (not a figure of the paper)."}}
hist = pd.DataFrame(run.history)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(hist["steps"], hist["loss"], "o-", ms=3)
axes[0].set(xlabel="optimizer step", ylabel="training loss", title="loss")
axes[1].plot(hist["steps"], hist["acc"], "o-", ms=3)
axes[1].set(xlabel="optimizer step", ylabel="training accuracy", title="accuracy", ylim=(0, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Converged, or still moving? The standard model beside this one
#
# The price of robustness is the standard-accuracy gap between a standard
# and an adversarially trained model of the same recipe. Adversarial
# training converges more slowly, so a gap read while the robust model is
# still catching up would count slow convergence as a price. When this page
# records a curve (`eval_every`), it trains the standard model of the same
# recipe too, with the same curve, and asks whether their gap still moved
# over the last fifth of training: the drift from the first to the last
# point of that fifth, against its noise (the binomial errors of the four
# accuracies it combines; a drift counts beyond 2 SE).

# %%
if compare:
    _, twin_run = runs.train_run(twin, device=device)
    curves = {
        "standard": convergence.curve_of(twin_run.history),
        f"this run ({mix}, eps {eps_train:g})": convergence.curve_of(run.history),
    }
    drift = convergence.gap_drift(*curves.values(), m["n_test"])
    judged = verdicts.signed_effect(drift.drift, name="drift")
    moved = judged.verdict != verdicts.INCONCLUSIVE
    status = "unmeasured" if len(drift.steps) < 2 else ("still moving" if moved else "settled")
    glue("run_gap_points", len(drift.steps), display=False)
    glue("run_gap_drift", drift.drift.value, display=False)
    glue("run_gap_drift_se", drift.drift.se, display=False)
    glue("run_gap_spread", drift.spread, display=False)
    glue("run_gap_end", drift.gaps[-1], display=False)
    glue("run_gap_status", status, display=False)
    display(
        Markdown(
            f"Standard-accuracy gap at the end: **{drift.gaps[-1]:.2%}**. Over the last fifth "
            f"({len(drift.steps)} points, steps {drift.steps[0]}-{drift.steps[-1]}) it moved by "
            f"{drift.drift.format(100, 2)} points (spread {drift.spread:.2%}): "
            + {
                "still moving": "**still moving** beyond the noise, so part of this gap is "
                "unequal convergence.",
                "settled": "within the noise, so the gap had **settled**; it is not an "
                "artefact of unequal convergence at this recipe.",
                "unmeasured": "one point only in the last fifth (set a smaller `eval_every`): "
                "the drift **cannot be measured**.",
            }[status]
        )
    )
else:
    display(Markdown("No curve recorded (`eval_every` is None) or a standard run: no comparison."))

# %% mystnb={"figure": {"caption": "Standard test accuracy along training of this run and of the standard model of the same recipe (left), and their gap with the last fifth of training shaded (right); not a figure of the paper."}}
if compare:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, curve in curves.items():
        axes[0].plot(*zip(*curve, strict=True), "o-", ms=3, label=name)
    axes[0].set(xlabel="optimizer step", ylabel="standard test accuracy", title="test accuracy")
    axes[0].legend()
    steps, gaps = zip(*convergence.gap_curve(*curves.values()), strict=True)
    axes[1].plot(steps, [100 * g for g in gaps], "o-", ms=3)
    last = (1 - convergence.LAST_SHARE) * steps[-1]
    axes[1].axvspan(last, steps[-1], alpha=0.15, label="last fifth")
    axes[1].set(xlabel="optimizer step", ylabel="gap (points)", title="standard minus this run")
    axes[1].legend()
    fig.tight_layout()
    plt.show()

# %%
glue(
    "build_note",
    Markdown(chapter.build_note(profile, seed, device, timer.seconds)),
    display=False,
)
