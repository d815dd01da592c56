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
# # The price of adversarial robustness
#
# The paper's headline experiment trains models adversarially (PGD,
# {cite:t}`madry2018towards`) and measures their *standard* accuracy, on clean test images.
# It does so against the size of the training set (Fig 1 for $\ell_2$, Fig 6
# for $\ell_\infty$), against the training eps (Fig 7), and with batches that
# are half clean and half adversarial (Table 4). The paper's finding: with
# few training images adversarial training can *help* standard accuracy,
# acting as a regularizer (robust generalization needs more data,
# {cite:p}`schmidt2018adversarially`). With many images the robust models fall below the
# standard one, and they fall further as eps grows.
#
# Every run below is a configuration of [Anatomy of one run](one_run.py),
# taken from the run store, or trained now if it is missing. `make sweep
# GRID=price` trains the same grid ahead of time, one papermill execution
# per run.

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %%

import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue
from tqdm.auto import tqdm

from lib import chapter, grids, parallel, price, profiles, runs, runtime, sweep, verdicts
from lib.data import imagenet
from lib.results import Results
from lib.store import Store

# Runs from a subset of a data set are flagged on this page, from their records.
timer = chapter.start(quiet_subsets=True)

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # the first seed of every run (the paper profile adds more for error bars)

# %%
profile, device = chapter.setup(profile)
grid = grids.price_grid(profile)
parts = grids.price_configs(profile)
if seed:  # shift every run's seed; the grid's structure stays
    parts = {k: [replace(c, seed=c.seed + seed) for c in v] for k, v in parts.items()}
configs = sweep.unique(c for part in parts.values() for c in part)
store = Store()
missing = [c for c in configs if store.load(runs.run_key(c, device)) is None]
display(
    Markdown(
        f"Profile `{profile}`: {len(configs)} runs, of which {len(missing)} are not in the store yet and "
        "are trained now."
    )
)
# The missing runs train in parallel worker processes on a CPU (lib.parallel); the
# loops below load them from the store.
parallel.train_all(configs, device=device)
# The second-seed runs stay out of `results`, whose means are over the grid's seeds.
results = Results.of(
    [c for c in configs if c not in parts["seeds"]],
    device=device,
    progress=lambda c: tqdm(c, desc="runs", unit="run"),
)
seed_results = Results.of(parts["seeds"], device=device)
cost = sum(m["train_seconds"] for r in (results, seed_results) for m in r.runs.values())
glue("price_runs", len(configs), display=False)
glue("price_train_minutes", cost / 60, display=False)
# The text below describes the `cpu` recipes whatever profile this page runs at.
for _ds in ("mnist", "cifar10"):
    glue(f"price_cpu_{_ds}_epochs", profiles.settings(_ds, "cpu").epochs, display=False)


# %%
sizes, metrics = results.sizes, results.metrics


def std_acc(*args, **kwargs):
    return results.mean_spread("std_acc", *args, **kwargs)


for dataset in grid.datasets:
    n_max, n_test, subset = sizes(dataset)
    if subset:
        display(
            Markdown(
                f":::{{warning}}\n{dataset}: the runs use at most {n_max:,} training and {n_test:,} test "
                "images from a subset of the official data set. The numbers are reduced-scale, not the "
                "paper's.\n:::"
            )
        )

# %% [markdown]
# ## P1: standard accuracy against the number of training images (Fig 1, Fig 6)
#
# Each line is one training eps; eps = 0 is standard training. Every run
# takes the same number of optimizer steps, whatever the size of its
# training set (a small set is seen for many epochs). Training-set subsets
# are class-balanced and seeded.


# %% mystnb={"figure": {"caption": "Reproduces the paper's Figure 1 (l2-trained models) and Figure 6 (l_inf-trained models): standard test accuracy against the number of training images, one line per training eps, at reduced scale."}}
def plot_vs_n(norm, axes):
    for ax, dataset in zip(axes, grid.datasets, strict=True):
        eps_lines = (0.0, *grid.fig_eps[(dataset, norm)])
        for i, eps in enumerate(eps_lines):
            ns = grid.n_values[dataset]
            xs = [metrics(dataset, norm, eps, n=n)[0]["n_train"] for n in ns]
            ys = [std_acc(dataset, norm, eps, n=n) for n in ns]
            ax.errorbar(
                xs,
                [y[0] for y in ys],
                yerr=[y[1] for y in ys],
                marker="o",
                capsize=3,
                color=f"C{i}",
                label=f"eps_train = {chapter.eps_label(dataset, eps)}",
            )
            for n, (mean, _) in zip(ns, ys, strict=True):
                key = f"P1_{dataset}_{chapter.norm_key(norm)}_n{n or 'all'}_eps{chapter.eps_key(dataset, eps)}_std"
                glue(key, mean, display=False)
        n_max, n_test, subset = sizes(dataset)
        ax.set(
            xscale="log",
            xlabel="training images",
            ylabel="standard test accuracy",
            title=f"{dataset}{' (subset)' if subset else ''}, {n_test:,} test images",
        )
        ax.legend(fontsize=8)


for norm, figure in ((2, "Figure 1"), ("inf", "Figure 6")):
    fig, axes = plt.subplots(1, len(grid.datasets), figsize=(11, 3.6), squeeze=False)
    plot_vs_n(norm, axes[0])
    fig.suptitle(f"{figure}: {'l2' if norm == 2 else 'l_inf'}-trained models, profile {profile}")
    fig.tight_layout()
    plt.show()

# %%
p1 = []
for dataset in grid.datasets:
    for norm in ("inf", 2):
        ns = grid.n_values[dataset]
        eps = grid.fig_eps[(dataset, norm)][-1]
        small = std_acc(dataset, norm, eps, n=ns[0])[0] - std_acc(dataset, n=ns[0])[0]
        large = std_acc(dataset, norm, eps, n=ns[-1])[0] - std_acc(dataset, n=ns[-1])[0]
        glue(f"P1_{dataset}_{chapter.norm_key(norm)}_gain_small_n", small, display=False)
        glue(f"P1_{dataset}_{chapter.norm_key(norm)}_gain_large_n", large, display=False)
        p1.append(
            {
                "data set": dataset,
                "norm": chapter.norm_key(norm),
                "eps_train": chapter.eps_label(dataset, eps),
                "robust - standard, fewest images": small,
                "robust - standard, most images": large,
            }
        )
p1 = pd.DataFrame(p1).set_index(["data set", "norm"])
p1.style.format({c: "{:+.2%}" for c in p1.columns if c.startswith("robust")})

# %% [markdown]
# The table gives the difference in standard accuracy between the model
# trained at the largest eps of the figure and the standard model, at the
# smallest and at the largest training set. The paper's claims: positive on
# the left for MNIST (adversarial training helps with few images), negative
# on the right for both data sets.
#
# ### Restricted ImageNet (Fig 1c, Fig 6c)
#
# The paper's third data set: nine super-classes of ImageNet (Table 1), a
# ResNet-50, the eps of Table 2 and the authors' PGD of 8 steps of eps/4
# (the setup chapter). Its runs are `make sweep GRID=ri`, and they need an
# ImageNet folder. Dogs outnumber the other classes, so each accuracy is
# also shown balanced over the nine classes (dashed).

# %%
ri_rows = []  # this section's rows of the reproduction table
ri_claim = "P1 (Restricted ImageNet)"
ri_paper = "many samples: robust ResNet-50s below the standard one (Fig 1c, 6c)"
if not imagenet.has_imagenet():
    display(Markdown(imagenet.missing_note("Figures 1c and 6c", profile)))
    ri_rows.append(
        {"claim": ri_claim, "paper": ri_paper, "ours": "no ImageNet here", "verdict": "not run"}
    )
else:
    ri_grid = grids.ri_grid(profile)
    ri_configs = [replace(c, seed=c.seed + seed) for c in grids.ri_configs(profile)["fig"]]
    ri = Results.of(
        ri_configs, device=device, progress=lambda c: tqdm(c, desc="RI runs", unit="run")
    )

    def ri_acc(norm, eps, n, key="std_acc"):
        """Mean over seeds of a metric of the RI runs at one (norm, eps, n); eps 0: standard."""
        return ri.mean_spread(key, "restricted_imagenet", norm, eps, n=n)[0]

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ri_gaps = {}
    for ax, (norm, figure) in zip(axes, ((2, "Figure 1c"), ("inf", "Figure 6c")), strict=True):
        ns = ri_grid.n_values
        xs = [ri.metrics("restricted_imagenet", n=n)[0]["n_train"] for n in ns]
        for i, eps in enumerate((0.0, ri_grid.eps[norm])):
            for key, style in (("std_acc", "o-"), ("std_acc_balanced", "o--")):
                ys = [ri_acc(norm, eps, n, key) for n in ns]
                label = f"eps_train = {eps:g}" + (", balanced" if key.endswith("balanced") else "")
                ax.plot(xs, ys, style, color=f"C{i}", label=label)
                for n, y in zip(ns, ys, strict=True):
                    kind = "bal" if key.endswith("balanced") else "std"
                    glue(
                        f"P1_restricted_imagenet_{chapter.norm_key(norm)}_n{n or 'all'}_eps{chapter.eps_key('restricted_imagenet', eps)}_{kind}",
                        y,
                        display=False,
                    )
        ri_gaps[chapter.norm_key(norm)] = [
            ri_acc(norm, ri_grid.eps[norm], n) - ri_acc(norm, 0.0, n) for n in (ns[0], ns[-1])
        ]
        ax.set(
            xscale="log",
            xlabel="training images",
            ylabel="standard test accuracy",
            title=f"{figure}: {'l2' if norm == 2 else 'l_inf'}-trained, {ri.sizes('restricted_imagenet')[1]:,} test images",
        )
        ax.legend(fontsize=7)
    fig.suptitle(f"Restricted ImageNet, profile {profile}")
    fig.tight_layout()
    plt.show()
    for name, (small, large) in ri_gaps.items():
        glue(f"P1_restricted_imagenet_{name}_gain_small_n", small, display=False)
        glue(f"P1_restricted_imagenet_{name}_gain_large_n", large, display=False)
    ri_rows.append(
        {
            "claim": ri_claim,
            "paper": ri_paper,
            "ours": "; ".join(
                f"{name}: {small:+.1%} at fewest, {large:+.1%} at most images"
                for name, (small, large) in ri_gaps.items()
            ),
            "verdict": chapter.verdict(all(large < 0 for _, large in ri_gaps.values())),
        }
    )

# %% [markdown]
# ## P2: standard accuracy against the training eps (Fig 7)
#
# All runs here use the largest training set of the profile.

# %% mystnb={"figure": {"caption": "Reproduces the paper's Figure 7: standard test accuracy against the training eps, at reduced scale."}}
fig, axes = plt.subplots(1, 2 * len(grid.datasets), figsize=(14, 3.3))
p2 = {}
for j, (dataset, norm) in enumerate((d, n) for d in grid.datasets for n in ("inf", 2)):
    eps_axis = (0.0, *grid.table4_eps[(dataset, norm)])
    accs = [std_acc(dataset, norm, eps) for eps in eps_axis]
    axes[j].errorbar(
        eps_axis, [a[0] for a in accs], yerr=[a[1] for a in accs], marker="o", capsize=3
    )
    axes[j].set(xlabel="eps_train", title=f"{dataset}, {chapter.norm_label(norm)}")
    axes[j].set_xticks(eps_axis, [chapter.eps_label(dataset, e) for e in eps_axis], fontsize=7)
    for eps, (mean, _) in zip(eps_axis, accs, strict=True):
        glue(
            f"P2_{dataset}_{chapter.norm_key(norm)}_eps{chapter.eps_key(dataset, eps)}_std",
            mean,
            display=False,
        )
    drops = [a[0] - b[0] for a, b in zip(accs, accs[1:], strict=False)]
    p2[(dataset, chapter.norm_key(norm))] = {
        "standard (eps 0)": accs[0][0],
        "largest eps": accs[-1][0],
        "total drop": accs[0][0] - accs[-1][0],
        "steps that drop": f"{sum(d > 0 for d in drops)} of {len(drops)}",
    }
    glue(f"P2_{dataset}_{chapter.norm_key(norm)}_drop", accs[0][0] - accs[-1][0], display=False)
axes[0].set_ylabel("standard test accuracy")
fig.suptitle(f"Figure 7: standard accuracy against eps_train, profile {profile}")
fig.tight_layout()
plt.show()
p2 = pd.DataFrame(p2).T
p2

# %% [markdown]
# ## P3: half clean, half adversarial batches (Table 4)
#
# Appendix B asks whether the drop comes only from training on adversarial
# examples alone. Each training batch is split: half clean, half
# adversarial. The paper finds that this raises standard accuracy slightly,
# and lowers robust accuracy by a roughly proportional amount. Robust
# accuracy is measured at the row's eps with the profile's evaluation
# attack. For the standard model, that means one evaluation per row.

# %%
# The strong evaluations of Table 4 and of the second seed (below), in worker
# processes on a CPU (lib.parallel); the table reads them from the store.
table4_rows = [
    (d, n, e) for d in grid.datasets for n in ("inf", 2) for e in grid.table4_eps[(d, n)]
]
parallel.strong_eval_all(
    price.strong_cells(parts["table4"], table4_rows)
    + price.strong_cells(parts["seeds"], [row[:3] for row in grid.seed_rows]),
    device=device,
)

# %%
PAPER_TABLE4 = verdicts.PAPER_TABLE4  # CLAIMS.md, Table 4, in %: (std: S, H, R), (rob: S, H, R)
rows, cells, gaps, mnist_dist = [], {}, [], []
for dataset in grid.datasets:
    n_std = sizes(dataset)[1]
    for norm in ("inf", 2):
        for eps in grid.table4_eps[(dataset, norm)]:
            paper = PAPER_TABLE4.get((dataset, norm, eps))
            std = {m: std_acc(dataset, norm, eps, mix=price.MIX[m])[0] for m in price.MODELS}
            std["standard"] = std_acc(dataset)[0]
            strong = {
                m: price.strong_cell(parts["table4"], dataset, norm, eps, m, device)
                for m in price.MODELS
            }
            rob = {m: strong[m][0] for m in price.MODELS}
            row = {
                "data set": dataset,
                "norm": chapter.norm_key(norm),
                "eps": chapter.eps_label(dataset, eps),
            }
            for kind, values, n_of in (("std", std, None), ("rob", rob, strong)):
                for i, model in enumerate(price.MODELS):
                    n = n_std if n_of is None else n_of[model][2]
                    est = verdicts.accuracy(values[model], n)
                    cells[(dataset, norm, eps, kind, model)] = est
                    key = f"P3_{dataset}_{chapter.norm_key(norm)}_{chapter.eps_key(dataset, eps)}_{kind}_{model}"
                    glue(key, values[model], display=False)
                    ref = paper[0 if kind == "std" else 1][i] if paper else None
                    row[(kind, model, "ours")] = est.format(100, 1)
                    row[(kind, model, "paper")] = f"{ref:.2f}" if ref is not None else "-"
                    if dataset == "mnist" and paper and (kind == "std" or model != "standard"):
                        mnist_dist.append(abs(100 * values[model] - ref))
            for model in ("half", "robust"):
                gap = strong[model][1] - strong[model][0]
                gaps.append((dataset, norm, eps, model, gap))
                row[("PGD - strong", model, "")] = f"{100 * gap:.1f}" + (
                    " (!)" if gap > 0.03 else ""
                )
            rows.append(row)
table4 = pd.DataFrame(rows).set_index(["data set", "norm", "eps"])
table4.columns = pd.MultiIndex.from_tuples(table4.columns, names=["accuracy", "training", ""])
n_rows = len(rows)
flagged = [g for g in gaps if g[-1] > 0.03]
glue("P3_rows", n_rows, display=False)
glue(
    "P3_mnist_mean_distance",
    float(np.mean(mnist_dist)) if mnist_dist else float("nan"),
    display=False,
)
glue("P3_mnist_cells", len(mnist_dist), display=False)
glue("P3_max_gap", max(g[-1] for g in gaps), display=False)
glue("P3_flagged", len(flagged), display=False)
table4

# %% [markdown]
# Accuracies are in % with their binomial standard errors (± one SE, from
# the number of test images). Robust accuracy ("rob") is the strong
# evaluation: per image, the worst case of the profile's PGD, a strong PGD
# with restarts, APGD-CE and APGD-T (torchattacks), each run on the images
# still robust. The last columns give how much the profile's PGD alone
# overstates it; (!) flags a gap over 3 points, a model whose training-time
# attack is too weak to measure it. Here the largest gap is
# {glue:text}`P3_max_gap:.1%` and {glue:text}`P3_flagged` models are flagged.
# Over the {glue:text}`P3_mnist_cells` MNIST cells the paper's Table 4 reports
# for the three models' standard accuracy and the half-half and robust models'
# robust accuracy, our numbers are {glue:text}`P3_mnist_mean_distance:.1f`
# points from the paper's on average.
#
# At the `cpu` profile MNIST is trained on all 60,000 images for
# {glue:text}`price_cpu_mnist_epochs` epochs (the mnist_challenge CNN narrowed
# to 256 hidden units, PGD-5 training with the eps ramped up over the first
# 30% of the steps), and CIFAR-10 on all 50,000 images for
# {glue:text}`price_cpu_cifar10_epochs` epoch(s) with one-step training from a
# random start (ResNet-8): the small-compute regime, where the standard model stays far
# below the paper's 92% (the setup chapter gives every setting). The paper's
# Table 4 itself does not show the half-half effects in every row: in 11 of
# its 12 rows each way (MNIST l2 0.5: 99.35 < 99.41 standard; MNIST l_inf
# 0.1: 95.29 > 95.05 robust).

# %% [markdown]
# Where the profile's PGD overstates robust accuracy: for every half-half and
# robust model of Table 4, the points each attack of the strong cascade takes
# from the images the profile's PGD left robust (mean over seeds where a row
# has two), largest gap first. A strong PGD uses the same fixed relative step
# as the profile's, only more steps; APGD-CE and APGD-T adapt theirs. A gap
# made mostly by APGD is a loss surface on which a fixed step misses what an
# adaptive one finds, not a PGD that lacked steps.

# %% tags=["hide-input"]
COMPONENTS = price.COMPONENTS  # the cascade's attacks after the profile's PGD, in order
breakdown_rows = []
for dataset, norm, eps, model, gap in sorted(gaps, key=lambda g: -g[-1]):
    b = price.strong_breakdown(parts["table4"], dataset, norm, eps, model, device)
    breakdown_rows.append(
        {
            "data set": dataset,
            "norm": chapter.norm_key(norm),
            "eps": chapter.eps_label(dataset, eps),
            "model": model,
            **{name: 100 * value for name, value in b.items()},
            "flagged": gap > 0.03,  # as in Table 4
            "residual": 100 * (b["profile PGD"] - sum(b[c] for c in COMPONENTS) - b["strong"]),
        }
    )
breakdown = pd.DataFrame(breakdown_rows)
flagged_rows = breakdown[breakdown["flagged"]]
apgd = ("APGD-CE", "APGD-T")
glue("P3_breakdown_rows", len(breakdown), display=False)
glue("P3_breakdown_max_residual", float(breakdown["residual"].abs().max()), display=False)
glue(
    "P3_flagged_apgd_share",
    float(
        flagged_rows[list(apgd)].to_numpy().sum()
        / (flagged_rows["profile PGD"] - flagged_rows["strong"]).sum()
    )
    if len(flagged_rows)
    else float("nan"),
    display=False,
)
display(
    breakdown.drop(columns=["residual", "flagged"])
    .style.format({c: "{:.1f}" for c in ("profile PGD", *COMPONENTS, "strong")})
    .hide()
)

# %% [markdown]
# Over the {glue:text}`P3_flagged` flagged models, APGD-CE and APGD-T together
# take {glue:text}`P3_flagged_apgd_share:.0%` of the points by which the
# profile's PGD overstates robust accuracy (nan: no model flagged).

# %% [markdown]
# **Would another recipe close MNIST l2 2.5's gap?** At `cpu` its robust model
# is the one MNIST model whose profile PGD overstates it by more than 5 points.
# `lab/trials/l2_gap_trial.py` trains it again with the paper's own training
# attack (PGD-40 of eps/16), also for twice the epochs, with the
# mnist_challenge CNN's 1,024 hidden units instead of 256, or with the
# recipe's PGD-5 taking larger steps (eps or 2 eps instead of eps/2: APGD,
# which takes most of the gap, starts with steps of 2 eps), and evaluates it
# as the table above does. Three trials leave the paper's method: training at
# a larger eps than the one evaluated (so that the worst case at the test
# eps lies inside the training ball), the TRADES loss of the trade-off
# chapter (its KL adversary with the recipe's PGD geometry, no eps ramp), and
# a PGD on the Carlini-Wagner margin (the best other logit minus the true
# one) instead of cross-entropy, a loss like APGD-T's.
# These are committed trials (`lab/results/l2-gap-cpu.json`, each
# with its commit, date and threads), read here, not run: the costliest took
# {glue:text}`P3_l2_trial_max_cost:.1f` times the recipe's training time.
# The paper's robust model reads {glue:text}`P3_l2_paper_rob:.2f`% in this
# cell under the paper's PGD.

# %% tags=["hide-input"]
l2_trial_path = runtime.PROJECT_ROOT / "lab" / "results" / "l2-gap-cpu.json"
l2_trial = json.loads(l2_trial_path.read_text()) if l2_trial_path.exists() else {"rows": []}
mnist_cpu = profiles.settings("mnist", "cpu")  # the recipe the trials change one thing of


def l2_changes(args: dict) -> tuple:
    """What a trial changed: (attack, PGD steps, step factor, epochs, hidden units,
    training eps, TRADES beta, PGD loss, seed); None = the recipe's (the loss
    "ce" and the seed 0 are the recipe's; options added later are absent from
    earlier rows, which kept the recipe's)."""
    keys = ("attack", "train_steps", "step_factor", "epochs", "hidden", "train_eps", "trades")
    loss, seed = args.get("loss"), args.get("seed")
    return (*(args.get(k) for k in keys), None if loss == "ce" else loss, seed or None)


def l2_adversary(args: dict) -> tuple[int, float, float]:
    """A trial's training PGD: (steps, eps, step / eps), the recipe's where it kept them."""
    steps = args["train_steps"] or mnist_cpu.train_attack[2].steps
    factor = args["step_factor"] or profiles.step_factor(steps)
    return steps, args["eps"] if args.get("train_eps") is None else args["train_eps"], factor


RECIPE = l2_changes({"attack": "pgd"})
l2_by_recipe = {}  # the first trial of each recipe
for r in l2_trial["rows"]:
    l2_by_recipe.setdefault(l2_changes(r["args"]), r)
l2_own = l2_by_recipe.get(RECIPE)
l2_pgd40 = l2_by_recipe.get(l2_changes({"attack": "pgd", "train_steps": 40}))
l2_rows = []
for r in l2_trial["rows"]:
    a = r["args"]
    k, train_eps, factor = l2_adversary(a)
    attack = f"PGD-{k}" if a["attack"] == "pgd" else f"APGD-CE-{a['steps']}"
    if a.get("trades") is not None:
        attack = f"TRADES (β = {a['trades']:g}), KL {attack}"
    if a.get("loss") == "margin":
        attack = f"{attack} on the CW margin"
    l2_rows.append(
        {
            "training attack": attack,
            "training eps": train_eps,
            "step / eps": factor if a["attack"] == "pgd" else float("nan"),
            "epochs": a["epochs"] or mnist_cpu.epochs,
            "hidden units": a["hidden"] or mnist_cpu.model_kwargs["hidden"],
            "seed": a["seed"],
            "standard": 100 * r["std_acc"],
            "profile PGD": 100 * r["pgd_acc"],
            "strong": 100 * r["strong_acc"],
            "gap": 100 * (r["pgd_acc"] - r["strong_acc"]),
            "time / the recipe's": r["train_seconds"] / l2_own["train_seconds"]
            if l2_own
            else float("nan"),
            "date": r["provenance"]["date"],
        }
    )
glue("P3_l2_trials", len(l2_rows), display=False)
glue("P3_l2_trial_min_gap", min((r["gap"] for r in l2_rows), default=float("nan")), display=False)
glue(
    "P3_l2_trial_max_cost",
    max((r["time / the recipe's"] for r in l2_rows), default=float("nan")),
    display=False,
)
glue("P3_l2_paper_rob", verdicts.PAPER_TABLE4[("mnist", 2, 2.5)][1][2], display=False)
for name in ("strong", "pgd"):
    glue(
        f"P3_l2_pgd40_{name}_delta",
        100 * (l2_pgd40[f"{name}_acc"] - l2_own[f"{name}_acc"])
        if l2_own and l2_pgd40
        else float("nan"),
        display=False,
    )
if l2_rows:
    display(
        pd.DataFrame(l2_rows)
        # one format call: a second would reset the columns it does not name
        .style.format(
            {
                **{c: "{:.1f}" for c in ("standard", "profile PGD", "strong", "gap")},
                "time / the recipe's": "{:.2f}",
                "training eps": "{:g}",
                "step / eps": "{:.3g}",
            }
        )
        .hide()
    )
# The recipe's own trial repeated (another session, the same seed): do its
# numbers come back, and how far did the machine's speed move between them?
l2_repeats = [r for r in l2_trial["rows"] if l2_changes(r["args"]) == RECIPE]
if len(l2_repeats) > 1:
    accs = {(r["std_acc"], r["pgd_acc"], r["strong_acc"]) for r in l2_repeats}
    secs = [r["train_seconds"] for r in l2_repeats]
    display(
        Markdown(
            f"The recipe's trial was run {len(l2_repeats)} times (seed 0): "
            + ("the same accuracies each time" if len(accs) == 1 else "different accuracies")
            + f"; its training took {min(secs):.0f}-{max(secs):.0f} s, "
            f"so time ratios under {max(secs) / min(secs):.2f} are within the machine's drift."
        )
    )
glue("P3_l2_recipe_repeats", len(l2_repeats), display=False)


def l2_stronger(args: dict) -> bool:
    """A PGD-trained trial whose adversary is stronger than the recipe's: more
    steps, larger steps or a larger training eps (TRADES, APGD and margin
    trials are other losses)."""
    if args["attack"] != "pgd" or args.get("trades") is not None:
        return False
    if args.get("loss", "ce") != "ce":
        return False
    steps, train_eps, factor = l2_adversary(args)
    recipe = mnist_cpu.train_attack[2]
    return steps > recipe.steps or train_eps > args["eps"] or factor > recipe.step_factor


l2_strong_band = [100 * r["strong_acc"] for r in l2_trial["rows"] if l2_stronger(r["args"])]
glue("P3_l2_stronger_trials", len(l2_strong_band), display=False)
glue("P3_l2_stronger_min", min(l2_strong_band, default=float("nan")), display=False)
glue("P3_l2_stronger_max", max(l2_strong_band, default=float("nan")), display=False)
glue("P3_l2_own_strong", 100 * l2_own["strong_acc"] if l2_own else float("nan"), display=False)

# %% [markdown]
# The smallest gap any of these {glue:text}`P3_l2_trials` trials leaves is
# {glue:text}`P3_l2_trial_min_gap:.1f` points (target: 5). Against the
# recipe's own row, the paper's training attack (PGD-40, the rest unchanged)
# moves the strong robust accuracy by {glue:text}`P3_l2_pgd40_strong_delta:+.1f`
# points and the profile's PGD reading by
# {glue:text}`P3_l2_pgd40_pgd_delta:+.1f` (nan: no such trial committed). A
# gap left by the paper's own attack says that the model the paper describes
# is, at this eps, one whose PGD reading overstates it; the breakdown above
# says which attacks find the difference. The
# {glue:text}`P3_l2_stronger_trials` trials whose training adversary is
# stronger than the recipe's (more PGD steps, larger steps, a larger
# training eps, or two of these) read {glue:text}`P3_l2_stronger_min:.1f` to
# {glue:text}`P3_l2_stronger_max:.1f`% under the strong evaluation, against
# the recipe's {glue:text}`P3_l2_own_strong:.1f`%: a stronger adversary buys
# a few strong points, and a larger training eps narrows the gap further by
# lowering the PGD reading and the standard accuracy (the table).

# %% [markdown]
# ### A second seed
#
# The ± above is the test set's sampling error only; training has its own
# noise. The robust model of {glue:text}`P3_seed_rows` of Table 4's rows, and
# the standard model, are trained again with another seed and evaluated on
# the same test images (every MNIST row at `cpu`; at `smoke` the l_inf 0.3
# row only). The l_inf 0.3 row's two models are also the one-run chapter's,
# with their training curves.


# %%
seed_rows, seed_z = [], []
for dataset, norm, eps, _ in grid.seed_rows:
    for model in ("standard", "robust"):
        other = price.table4_configs(parts["seeds"], dataset, norm, eps, model)[0].seed
        std_other = seed_results.mean_spread("std_acc", dataset, norm, eps, mix=price.MIX[model])
        rob_other = price.strong_cell(parts["seeds"], dataset, norm, eps, model, device)
        row = {
            "data set": dataset,
            "norm": chapter.norm_key(norm),
            "eps": chapter.eps_label(dataset, eps),
            "model": model,
        }
        for kind, value, n in (
            ("std", std_other[0], sizes(dataset)[1]),
            ("rob", rob_other[0], rob_other[2]),
        ):
            first = cells[(dataset, norm, eps, kind, model)]
            # Errors in quadrature: for two models on the same images an upper bound.
            diff = verdicts.accuracy(value, n) - first
            seed_z.append(abs(diff.z()) if diff.se else 0.0)
            key = f"P3_seed_{dataset}_{chapter.norm_key(norm)}_{chapter.eps_key(dataset, eps)}"
            glue(f"{key}_{kind}_{model}", value, display=False)
            row[(kind, f"seed {seed}")] = first.format(100, 1)
            row[(kind, "another seed")] = f"{100 * value:.1f} (seed {other})"
            row[(kind, "difference")] = diff.format(100, 1)
        seed_rows.append(row)
glue("P3_seed_rows", len(grid.seed_rows), display=False)
glue("P3_seed_max_z", max(seed_z, default=float("nan")), display=False)
glue("P3_seed_cells", len(seed_z), display=False)
if seed_rows:
    seed_table = pd.DataFrame(seed_rows).set_index(["data set", "norm", "eps", "model"])
    seed_table.columns = pd.MultiIndex.from_tuples(seed_table.columns, names=["accuracy", ""])
    display(seed_table)

# %% [markdown]
# Over these {glue:text}`P3_seed_cells` cells the largest seed-to-seed
# difference is {glue:text}`P3_seed_max_z:.1f` standard errors of the
# difference (both test-set errors in quadrature). Within 2, the training
# seed moves a cell no more than the test set's sampling error that the ±
# already shows.

# %% [markdown]
# **What BatchNorm's mode during the attack changes.** In PyTorch it is
# natural to build the training attack with the model in eval mode, so that
# BatchNorm uses its running statistics. TensorFlow code such as
# cifar10_challenge builds it inside the training graph, in train mode, where
# BatchNorm uses the batch's own statistics. The same robust run is trained
# again with `bn_mode="train"`:

# %%
bn_rows = []
for dataset, norm, eps in grid.bn_probe:
    for mode in ("eval", "train"):
        ms = metrics(dataset, norm, eps, bn_mode=mode)
        bn_rows.append(
            {
                "data set": dataset,
                "norm": chapter.norm_key(norm),
                "eps": chapter.eps_label(dataset, eps),
                "bn_mode during the attack": mode,
                "standard accuracy": float(np.mean([m["std_acc"] for m in ms])),
                "robust accuracy": float(np.mean([m["adv_acc"] for m in ms])),
            }
        )
        glue(
            f"P3_bn_{dataset}_{chapter.norm_key(norm)}_{chapter.eps_key(dataset, eps)}_{mode}_std",
            bn_rows[-1]["standard accuracy"],
            display=False,
        )
        glue(
            f"P3_bn_{dataset}_{chapter.norm_key(norm)}_{chapter.eps_key(dataset, eps)}_{mode}_rob",
            bn_rows[-1]["robust accuracy"],
            display=False,
        )
pd.DataFrame(bn_rows).set_index(
    ["data set", "norm", "eps", "bn_mode during the attack"]
).style.format("{:.2%}")

# %% [markdown]
# (price_of_robustness-reproduction)=
# ## Reproduction table
#
# Every verdict judges a difference against its noise (2 standard errors;
# rules in `lib/verdicts.py`), one row per data set where the claim spans
# data sets. At the `cpu` profile the models are smaller and trained for
# {glue:text}`price_cpu_mnist_epochs` (MNIST) and
# {glue:text}`price_cpu_cifar10_epochs` (CIFAR-10) epochs, so their
# accuracies are below the paper's: the verdicts compare directions, and
# Table 4's distance to the paper is shown above.


# %%
def std_est(dataset, norm="inf", eps=0.0, n=None, mix=None):
    """Standard accuracy (mean over seeds) with its binomial SE."""
    mean, _ = std_acc(dataset, norm, eps, n=n, mix=mix)
    return verdicts.accuracy(mean, sizes(dataset)[1])


p1_rows = price.judge_p1(grid, std_est)
p2_rows = price.judge_p2(grid, std_est)
labels = [f"{d} {chapter.norm_key(n)} {chapter.eps_label(d, e)}" for d, n, e in table4_rows]
p3, gains, losses = price.judge_p3(table4_rows, cells, labels)
p4, p4_facts = price.judge_p4(parts["table4"], results.runs)

rows_out = [
    *(
        j.row(
            f"P1 ({dataset})",
            "few samples: adversarial training helps standard accuracy (most on MNIST); "
            "many samples: robust models below the standard one",
        )
        for dataset, j in p1_rows.items()
    ),
    *(
        j.row(f"P2 ({dataset})", "standard accuracy falls steadily as eps_train grows")
        for dataset, j in p2_rows.items()
    ),
    p3.row(
        "P3",
        "half-half: standard accuracy slightly up, robust accuracy down by a roughly "
        "proportional amount (Table 4: 11 of 12 rows each way)",
        ours=f"{sum(g.z() > verdicts.Z for g in gains)} of {n_rows} rows up beyond 2 SE, "
        f"{sum(loss.z() > verdicts.Z for loss in losses)} of {n_rows} down beyond 2 SE",
    ),
    p4.row(
        "P4",
        "Table 2 eps; PGD with a random start; images in [0, 1]",
        ours=f"{len(p4_facts) // 2} adversarial runs: eps and random start read from each run's "
        "stored attack",
    ),
]
record = chapter.finish(
    "price_of_robustness",
    rows_out + ri_rows,
    profile=profile,
    seed=seed,
    device=device,
    timer=timer,
    extra=f"Training all {len(configs)} runs from an empty store takes "
    f"{cost / 60:.1f} minutes here (the sum of their training times, evaluation excluded).",
)
