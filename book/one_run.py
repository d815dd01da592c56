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

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from myst_nb import glue

from lib import chapter
from lib.chapters import one_run
from lib.experiments import profiles, runs
from lib.experiments.execute import parallel
from lib.experiments.store import Store

timer = chapter.start()


def glue_all(values: dict) -> None:
    """Glue every ``{name: value}`` without showing it: the prose shows them."""
    for name, value in values.items():
        glue(name, value, display=False)


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
plan = runs.plan_of(config, device)  # resolved once: what trains, and its store key
key = plan.key
cached = Store().load(key) is not None

# %% tags=["hide-input"]
# A run with a curve is compared with its standard twin (below). lib.experiments.execute.parallel trains
# the two in worker processes on a CPU where that pays; at `cpu` the robust run costs
# four times its twin, so both train here, one after the other, with every thread.
compare = eval_every is not None and mix != "clean"
twin = config.standard_twin()
if compare:
    parallel.train_all([plan, twin], device=device)
model, run = runs.train_run(plan)

# %% [markdown]
# ## The configuration and its results
#
# The run is keyed by a hash of its settings. Those are this page's
# parameters, resolved against the profile, plus the profile's own training
# settings. The same key always gives the same stored run.

# %%
glue_all(one_run.run_glued(key, run.metrics))
one_run.summary(config, settings, key, cached, run).to_frame("value")

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

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training loss (left) and accuracy (right) on the training batches of this one run; not a figure of the paper."}}
one_run.history_figure(run.history)
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
    label = f"this run ({mix}, eps {eps_train:g})"
    curves = one_run.curves(run.history, twin_run.history, label)
    drift, status = one_run.gap_status(curves, run.metrics["n_test"])
    glue_all(one_run.gap_glued(drift, status))
    display(Markdown(one_run.gap_text(drift, status)))
else:
    display(Markdown("No curve recorded (`eval_every` is None) or a standard run: no comparison."))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Standard test accuracy along training of this run and of the standard model of the same recipe (left), and their gap with the last fifth of training shaded (right); not a figure of the paper."}}
if compare:
    one_run.gap_figure(curves)
    plt.show()

# %% tags=["hide-input"]
glue(
    "build_note",
    Markdown(chapter.build_note(profile, seed, device, timer.seconds)),
    display=False,
)
