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
# # Is the trade-off inherent?
#
# The paper shows a distribution on which no classifier is both accurate and
# robust, and measures a price of robustness on real images. Within two years
# the field qualified the second half. Yang et al. (NeurIPS 2020) measured
# that real image data sets are separated in $\ell_\infty$ by more than twice
# the usual $\epsilon$, so on them an accurate *and* robust classifier
# exists; TRADES (Zhang et al., ICML 2019) made the trade-off an explicit
# knob $\beta$; robust self-training (Raghunathan et al., ICML 2020) showed
# that the price shrinks with more data. This chapter measures the first two
# on the book's own data and models, and quotes the third. The claims are
# X1-X4 of the project's second ledger, `CLAIMS_BEYOND.md`: they are not the
# paper's.


# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import display
from myst_nb import glue

from lib import chapter, data, evals, grids, parallel, separation, theory, verdicts
from lib import runs as runs_lib
from lib.store import Store

timer = chapter.start(quiet_subsets=True)

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # seeds the query samples, the training runs and the attacks' starts
betas = None  # TRADES' weights of the KL term; None: the profile's (official: 1 MNIST, 6 CIFAR)

# %%
profile, device = chapter.setup(profile)
store = Store()
# Two betas at cpu: one TRADES run of the cpu MNIST recipe costs about as much
# as its PGD-AT run (minutes on two cores); the official MNIST beta is 1.
betas = betas or {"smoke": [1.0, 6.0], "cpu": [1.0, 6.0], "paper": [0.1, 1.0, 6.0]}[profile]
# Queries searched per data set: test points (test-train and the nearest-class
# classifier) and training points (train-train), each against every training
# image (smoke: a subset of them). None: all. Exact l_inf search costs about
# 0.05-0.1 s per MNIST query and 0.25-0.3 s per CIFAR-10 query on two shared
# CPU cores (the l2 bound prunes almost nothing on these data).
SEARCH = {
    "smoke": {"refs": 2000, "mnist": (50, 50), "cifar10": (20, 20)},
    "cpu": {"refs": None, "mnist": (500, 300), "cifar10": (200, 100)},  # seeded samples
    "paper": {"refs": None, "mnist": (None, None), "cifar10": (None, None)},
}[profile]
PUBLISHED = {"mnist": (0.737, 0.812), "cifar10": (0.212, 0.220)}  # X1: train-train / test-train
EPS = {"mnist": [0.1, 0.2, 0.3], "cifar10": [2 / 255, 4 / 255, 8 / 255]}
PAPER_EPS = {"mnist": 0.3, "cifar10": 8 / 255}  # 2 eps marked on the histograms (X1)

# %% [markdown]
# ## X1: how far apart are the classes?
#
# For each test point, the $\ell_\infty$ distance to the nearest training
# image of another class; and the minimum over pairs of differently labelled
# training images. A data set is $r$-separated when that minimum is at
# least $2r$. The search is exact: $\lVert q - r \rVert_\infty \ge \lVert q -
# r \rVert_2 / \sqrt{d}$ bounds it from below with one matrix product, and
# the exact distance is computed where the bound cannot rule a candidate
# out (see `lib.separation`).

#
# The searches are stored, keyed by the data's fingerprints and the sizes
# searched, so a rebuild reads them back instead of searching again.


# %%
def searched(name: str) -> dict:
    """The separation searches of one data set, from the store or computed and stored."""
    n_test, n_train = SEARCH[name]
    key = {
        "separation_search": 1,
        "dataset": name,
        "data": data.fingerprints(name),
        "refs": SEARCH["refs"],
        "test_queries": n_test,
        "train_queries": n_train,
        "seed": seed,
    }

    def compute() -> dict:
        tr, te = data.load(name, "train"), data.load(name, "test")
        if SEARCH["refs"] is not None:
            tr = tr.subset(SEARCH["refs"], seed=seed)
        nc = separation.nearest_class(te.x, te.y, tr.x, tr.y, n_queries=n_test, seed=seed)
        tt = separation.separation_train_train(tr.x, tr.y, n_queries=n_train, seed=seed)
        metrics = {
            "d_same": nc.d_same.tolist(),
            "d_other": nc.d_other.tolist(),
            "tt_dists": tt.dists.tolist(),
            "tt_of": tt.of,
            "n_ref": len(tr),
            "n_test": len(te),
            "seconds": sum(s.seconds for s in (*nc.stats, tt.stats)),
            "pruned": [s.pruned for s in (*nc.stats, tt.stats)],
        }
        return {"metrics": metrics}

    m = store.get_or_run(key, compute).metrics
    stats = separation.SearchStats()
    nc = separation.NearestClass(
        torch.tensor(m["d_same"]), torch.tensor(m["d_other"]), (stats, stats)
    )
    dists = torch.tensor(m["tt_dists"])
    tt = separation.Separation(float(dists.min()), dists, len(dists), m["tt_of"], stats)
    return {"nc": nc, "tt": tt, "n_ref": m["n_ref"], "n_test": m["n_test"], **m}


results = {}
for name in ("mnist", "cifar10"):
    results[name] = r = searched(name)
    nc, tt = r["nc"], r["tt"]
    glue(f"X1_{name}_search_seconds", r["seconds"], display=False)
    glue(f"X1_{name}_test_train", float(nc.d_other.min()), display=False)
    glue(f"X1_{name}_train_train", tt.min_dist, display=False)
    glue(f"X1_{name}_test_queries", len(nc.d_other), display=False)
    glue(f"X1_{name}_train_queries", tt.queries, display=False)
    glue(f"X1_{name}_refs", r["n_ref"], display=False)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, name in zip(axes, results, strict=True):
    d = results[name]["nc"].d_other.numpy()
    ax.hist(d, bins=40, color="C0")
    ax.axvline(2 * PAPER_EPS[name], color="C3", ls="--", label=f"2 eps = {2 * PAPER_EPS[name]:.3f}")
    ax.axvline(PUBLISHED[name][1], color="k", ls=":", label=f"published min {PUBLISHED[name][1]}")
    ax.set_title(f"{name}: {len(d):,} test points")
    ax.set_xlabel("l_inf distance to the nearest training image of another class")
    ax.legend(fontsize=8)
plt.show()

table = pd.DataFrame(
    {
        name: {
            "test-train (ours)": float(r["nc"].d_other.min()),
            "test-train (published)": PUBLISHED[name][1],
            "train-train (ours)": r["tt"].min_dist,
            "train-train (published)": PUBLISHED[name][0],
            "2 eps": 2 * PAPER_EPS[name],
            "test queries": len(r["nc"].d_other),
            "train queries": r["tt"].queries,
            "training images searched": r["n_ref"],
        }
        for name, r in results.items()
    }
)
display(table)

# %% [markdown]
# A minimum over a sample of queries is an upper bound on the minimum over
# all of them. The published figures come from the first author's slides
# (the paper's table was not reachable here).
#
# ## X2: a classifier that is accurate and certifiably robust
#
# The nearest-class classifier predicts the class of the nearest training
# image. Its answer at $x$ is certified at radius $\epsilon$ when the
# nearest other-class image is more than $2\epsilon$ farther than the
# nearest same-class one: distances to a set are 1-Lipschitz, so no point of
# the ball can swap them.

# %%
rows_nc = []
for name, r in results.items():
    nc = r["nc"]
    rows_nc.append({"data set": name, "eps": 0.0, "accuracy": nc.std_acc})
    for e in EPS[name]:
        rows_nc.append({"data set": name, "eps": round(e, 4), "accuracy": nc.certified_acc(e)})
    glue(f"X2_{name}_std", nc.std_acc, display=False)
    glue(f"X2_{name}_cert_paper_eps", nc.certified_acc(PAPER_EPS[name]), display=False)
# eps = 0: standard accuracy; eps > 0: certified robust accuracy
display(pd.DataFrame(rows_nc).pivot(index="eps", columns="data set", values="accuracy"))

# %% [markdown]
# The distribution $\mathcal{D}$ of the theory chapter is another matter.

# %%
dist = theory.Distribution.scaled(0.95, 1000, 3.0)
dsep = separation.d_separation(dist, n=200 if profile == "smoke" else 2000, seed=seed)
glue("X2_D_eps", dsep.eps, display=False)
glue("X2_D_sample_sep", dsep.sample, display=False)
glue("X2_D_population_sep", dsep.population, display=False)

# %% [markdown]
# Against $\epsilon = 2\eta$ = {glue:text}`X2_D_eps:.3f`, $\mathcal{D}$ is
# not separated at all: both classes put mass on $x_1 = \pm 1$ and the weak
# features are Gaussian, so the class supports coincide (separation
# {glue:text}`X2_D_population_sep:.1f`). Theorem 2.1 is about this
# population. A finite sample of it looks separated (minimum distance
# {glue:text}`X2_D_sample_sep:.2f` in a sample): separation measured on a
# sample says little about the distribution when the dimension is high.
#
# ## X3: TRADES, the trade-off as a knob

# %%
# X3 on both data sets at the paper's l_inf eps: MNIST 0.3 and CIFAR-10 8/255.
TRADES_EPS = {"mnist": 0.3, "cifar10": 8 / 255}
trades_all = {}  # dataset -> beta -> metrics
trades_configs = [
    runs_lib.RunConfig(ds, profile, mix="trades", eps_train=e, beta=b, seed=seed)
    for ds, e in TRADES_EPS.items()
    for b in betas
]
# Trained and evaluated in worker processes on a CPU (lib.parallel); the loop loads them.
parallel.train_all(trades_configs, device=device)
parallel.strong_eval_all([(c, c.eps_train, "inf") for c in trades_configs], device=device)
for ds, eps_t in TRADES_EPS.items():
    trades_all[ds] = {}
    for beta in betas:
        config = runs_lib.RunConfig(
            ds, profile, mix="trades", eps_train=eps_t, beta=beta, seed=seed
        )
        _, run = runs_lib.train_run(config, device=device, progress=False)
        # Robust accuracy: the strong evaluation of Table 4 (PGD, APGD-CE, APGD-T; worst case).
        strong = evals.strong_eval(config, eps_t, norm="inf", device=device, progress=False)
        trades_all[ds][beta] = {
            **run.metrics,
            "strong_acc": strong["adv_acc"],
            "n_strong": strong["n"],
        }
        tag = f"X3_beta{beta:g}" if ds == "mnist" else f"X3_{ds}_beta{beta:g}"
        glue(f"{tag}_std", run.metrics["std_acc"], display=False)
        glue(f"{tag}_adv", strong["adv_acc"], display=False)
        glue(f"{tag}_pgd", run.metrics["adv_acc"], display=False)
        glue(f"{tag}_train_seconds", run.metrics["train_seconds"], display=False)
    display(
        pd.DataFrame(
            {
                f"{ds}, beta = {b:g}": {
                    "standard accuracy": m["std_acc"],
                    f"robust accuracy at {chapter.eps_label(ds, eps_t)} (strong)": m["strong_acc"],
                    "robust accuracy (profile's PGD)": m["adv_acc"],
                    "test images (standard / robust)": f"{m['n_test']:,} / {m['n_strong']:,}",
                    "training seconds": round(m["train_seconds"]),
                }
                for b, m in trades_all[ds].items()
            }
        )
    )


def judge_x3(trades):
    """X3 on one data set: with the largest beta against the smallest, standard accuracy
    falls and robust accuracy rises, each beyond 2 SE."""
    stds = [trades[b]["std_acc"] for b in betas]
    advs = [trades[b]["strong_acc"] for b in betas]
    n_std, n_adv = trades[betas[0]]["n_test"], trades[betas[0]]["n_strong"]
    drop = verdicts.Estimate(stds[0] - stds[-1], verdicts.diff_se(stds[0], n_std, stds[-1], n_std))
    gain = verdicts.Estimate(advs[-1] - advs[0], verdicts.diff_se(advs[-1], n_adv, advs[0], n_adv))
    judged = verdicts.all_hold(
        {
            "standard": verdicts.signed_effect(drop, name="std acc drop"),
            "robust": verdicts.signed_effect(gain, name="robust acc gain"),
        }
    )
    return judged, stds, advs


x3_by_ds = {ds: judge_x3(t) for ds, t in trades_all.items()}
trades = trades_all["mnist"]  # the frontier below is MNIST's
x3 = verdicts.combine({ds: j for ds, (j, _, _) in x3_by_ds.items()})
glue("X3_verdict", x3.verdict, display=False)

# %% [markdown]
# The TRADES runs are trained here, on MNIST and on CIFAR-10 (at the
# profile's scale: at `cpu` CIFAR-10 is the small-compute regime of the price
# chapter, a ResNet-8 trained for a few epochs). The training adversary is the profile's training PGD turned to
# the KL objective (`lib.trades.TradesAttack.like`); the robust accuracy is
# the strong evaluation of Table 4 (the profile's PGD, then APGD-CE and
# APGD-T; the worst case per image), with the profile's PGD alone beside it.
#
# ## The frontier
#
# Every MNIST $\ell_\infty$ model the book has trained (standard, half-half,
# PGD-AT at each eps of the price chapter, TRADES at each beta) as a point
# (standard accuracy, robust accuracy at $\epsilon = 0.3$ under the strong
# evaluation), with 2 standard errors. The other chapters' models are read
# from the store, not trained here (their strong evaluation at 0.3 is
# computed once and stored): a model the price chapter has not trained yet
# is left out.


# %%
def stored_point(config) -> dict | None:
    run = store.load(runs_lib.run_key(config, device))
    if run is None:
        return None
    # Every point under the same strong evaluation at eps 0.3 (stored; computed once).
    s = evals.strong_eval(config, 0.3, norm="inf", device=device, progress=False)
    m = run.metrics
    return {"std": m["std_acc"], "n_std": m["n_test"], "adv": s["adv_acc"], "n_adv": s["n"]}


points = {}
price = grids.price_configs(profile)
frontier_configs = [
    c
    for c in price["table4"] + price["fig"]
    if c.dataset == "mnist"
    and c.seed == seed
    and c.n_train is None
    and (c.mix == "clean" or c.norm == "inf")
]
# The stored models' evaluations at 0.3, in worker processes on a CPU (lib.parallel).
parallel.strong_eval_all(
    [(c, 0.3, "inf") for c in frontier_configs if store.load(runs_lib.run_key(c, device))],
    device=device,
)
for config in frontier_configs:
    label = {"clean": "standard", "adversarial": "PGD-AT", "half": "half-half"}[config.mix]
    if config.mix != "clean":
        label += f" {config.eps_train:g}"
    p = stored_point(config)
    if p is not None:
        points[label] = p
for b, m in trades.items():
    points[f"TRADES {b:g}"] = {
        "std": m["std_acc"],
        "n_std": m["n_test"],
        "adv": m["strong_acc"],
        "n_adv": m["n_strong"],
    }
frontier = pd.DataFrame(points).T
frontier["std_se"] = [verdicts.binomial_se(a, int(n)) for a, n in frontier[["std", "n_std"]].values]
frontier["adv_se"] = [verdicts.binomial_se(a, int(n)) for a, n in frontier[["adv", "n_adv"]].values]
glue("frontier_n_models", len(frontier), display=False)

pareto = [
    i
    for i, row in frontier.iterrows()
    if not (
        (frontier["std"] >= row["std"])
        & (frontier["adv"] >= row["adv"])
        & ((frontier["std"] > row["std"]) | (frontier["adv"] > row["adv"]))
    ).any()
]
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.errorbar(
    frontier["std"],
    frontier["adv"],
    xerr=2 * frontier["std_se"],
    yerr=2 * frontier["adv_se"],
    fmt="o",
    ms=4,
    label="the book's models (2 SE)",
)
for label, row in frontier.iterrows():
    ax.annotate(
        label, (row["std"], row["adv"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
    )
pf = frontier.loc[pareto].sort_values("std")
ax.plot(pf["std"], pf["adv"], "k--", lw=1, label="Pareto frontier")
ax.scatter([0.9948], [0.9607], marker="*", s=80, color="C3")
ax.annotate("TRADES released (X3, full scale)", (0.9948, 0.9607), fontsize=7, color="C3")
ax.set_xlabel("standard accuracy")
ax.set_ylabel("robust accuracy at eps = 0.3 (strong evaluation)")
ax.set_title("MNIST, l_inf")
ax.legend(fontsize=8, loc="lower left")
plt.show()
display(frontier[["std", "std_se", "adv", "adv_se"]].round(4))
glue(
    "frontier_points",
    "; ".join(f"{k} {r['std']:.3f} / {r['adv']:.3f}" for k, r in frontier.iterrows()),
    display=False,
)

# %% [markdown]
# ## X4: more data shrinks the price
#
# Raghunathan et al. (ICML 2020) report that robust self-training on
# unlabelled data lifts both accuracies of CIFAR-10 models (PGD-AT 45.8 /
# 87.3 robust / standard, RST + TRADES 63.1 / 89.7; a CIFAR-10 point, not
# drawn on the MNIST plane above), and that the standard accuracy cost of
# adversarial training falls as labelled data grow. The price chapter's
# Fig 1/6 runs test the latter on our models without new training: the
# price (standard minus PGD-AT standard accuracy) at each training-set size.

# %%
price_rows = []
for config in price["fig"]:
    if config.mix != "adversarial" or config.seed != seed:
        continue
    base = runs_lib.RunConfig(config.dataset, profile, n_train=config.n_train, seed=seed)
    a, b = store.load(runs_lib.run_key(base, device)), store.load(runs_lib.run_key(config, device))
    if a is None or b is None:
        continue
    n = a.metrics["n_test"]
    price_rows.append(
        {
            "data set": config.dataset,
            "norm": chapter.norm_label(config.norm),
            "eps": config.eps_train,
            "n": a.metrics["n_train"],
            "price": a.metrics["std_acc"] - b.metrics["std_acc"],
            "se": verdicts.diff_se(a.metrics["std_acc"], n, b.metrics["std_acc"], n),
        }
    )
x4_parts = {}
if price_rows:
    price_table = pd.DataFrame(price_rows)
    display(price_table.pivot_table(index=["data set", "norm", "eps"], columns="n", values="price"))
    # "Falls as labelled data grow": from its peak over the smaller sizes to the
    # largest one. The smallest sizes are not the comparison: there adversarial
    # training can *help* standard accuracy (P1), a negative price, so a price
    # that rises from n = 100 says nothing against a later fall.
    for (ds, nm, e), g in price_table.groupby(["data set", "norm", "eps"]):
        g = g.sort_values("n")
        if len(g) >= 2:
            peak, last = g.iloc[:-1].loc[g.iloc[:-1]["price"].idxmax()], g.iloc[-1]
            shrink = verdicts.Estimate(
                peak["price"] - last["price"], verdicts.combined_se(peak["se"], last["se"])
            )
            x4_parts[f"{ds} {nm} {e:g}"] = verdicts.signed_effect(
                shrink, name=f"price at n={int(peak['n']):,} - at n={int(last['n']):,}"
            )
glue("X4_n_series", len(x4_parts), display=False)

# %% [markdown]
# (trade_off_inherent-reproduction)=
# ## Reproduction table

# %%
m, c = results["mnist"], results["cifar10"]
mn = (float(m["nc"].d_other.min()), m["tt"].min_dist)
cf = (float(c["nc"].d_other.min()), c["tt"].min_dist)
# X1: each separation within 0.02 of the published one (exact search: no SE)
# and above 2 eps. A minimum over a sample is an upper bound on the full one:
# a sampled minimum above the published one says nothing against it.


def x1_part(ours, pub, sampled, name):
    judged = verdicts.matches(ours, pub, tol=0.02, name=name)
    if sampled and ours > pub + 0.02:
        why = "a sampled search's minimum only bounds the full minimum from above"
        return verdicts.Judgement(verdicts.INCONCLUSIVE, judged.numbers, why)
    return judged


def sampled(res, kind):
    if kind == "train-train":
        return res["tt"].queries < res["tt"].of
    return len(res["nc"].d_other) < res["n_test"]


x1 = verdicts.all_hold(
    {
        **{
            f"{ds} {kind}": x1_part(ours, pub, sampled(res, kind), f"{ds} {kind}")
            for ds, res, kind, ours, pub in [
                ("MNIST", m, "train-train", mn[1], PUBLISHED["mnist"][0]),
                ("MNIST", m, "test-train", mn[0], PUBLISHED["mnist"][1]),
                ("CIFAR-10", c, "train-train", cf[1], PUBLISHED["cifar10"][0]),
                ("CIFAR-10", c, "test-train", cf[0], PUBLISHED["cifar10"][1]),
            ]
        },
        "MNIST > 2 eps": verdicts.exceeds(min(mn), 2 * PAPER_EPS["mnist"], name="MNIST sep"),
        "CIFAR-10 > 2 eps": verdicts.exceeds(min(cf), 2 * PAPER_EPS["cifar10"], name="CIFAR sep"),
    }
)
x2_ok = bool((m["tt"].dists > 0.6).all()) and dsep.population < 2 * dsep.eps
x4 = verdicts.combine(x4_parts) if x4_parts else None
rows = [
    {
        "claim": "X1",
        "paper": "train-train / test-train: MNIST 0.737 / 0.812, CIFAR-10 0.212 / 0.220 (slides)",
        "ours": f"MNIST {mn[1]:.3f} / {mn[0]:.3f}, CIFAR-10 {cf[1]:.3f} / {cf[0]:.3f} "
        f"({m['tt'].queries:,} / {len(m['nc'].d_other):,} and {c['tt'].queries:,} / "
        f"{len(c['nc'].d_other):,} queries)",
        "verdict": x1.verdict,
        "reason": x1.reason,
    },
    {
        "claim": "X2",
        "paper": "on separated data an accurate and robust classifier exists; D is not separated",
        # On its own training points the nearest-class classifier has d_same = 0, so each is
        # certified at every eps below half its distance to the other classes: all of them
        # at the paper's eps when the train-train separation exceeds 2 eps. Test points are
        # another matter: the certified test accuracy says how far that carries.
        "ours": f"training points searched certified at 0.3: "
        f"{float((m['tt'].dists > 0.6).float().mean()):.1%}; test: {m['nc'].std_acc:.1%} std, "
        f"{m['nc'].certified_acc(0.3):.1%} certified at 0.3 (MNIST); D separation "
        f"{dsep.population} < 2 eps",
        "verdict": verdicts.REPRODUCED if x2_ok else verdicts.NOT_REPRODUCED,
        "reason": "every searched training point is more than 2 x 0.3 from the other classes, "
        "and D's classes overlap (separation below 2 eps)"
        if x2_ok
        else "a searched training point lies within 2 x 0.3 of another class, or D is separated",
    },
    *(
        {
            "claim": "X3",
            "paper": "larger beta: more robust, less accurate",
            "ours": "; ".join(
                f"beta {b:g}: {sd:.1%} / {a:.1%}"
                for b, sd, a in zip(betas, stds, advs, strict=True)
            )
            + f" (std / strong robust at {chapter.eps_label(ds, TRADES_EPS[ds])}, {ds})",
            "verdict": judged.verdict,
            "reason": judged.reason,
        }
        for ds, (judged, stds, advs) in x3_by_ds.items()
    ),
    {
        "claim": "X4",
        "paper": "more data shrinks the standard-accuracy price (RST quoted, not run)",
        "ours": x4.ours() if x4 else "the price chapter's Fig 1/6 runs are not in the store",
        "verdict": x4.verdict if x4 else verdicts.NOT_RUN,
        "reason": x4.reason if x4 else "no Fig 1/6 runs in the store",
    },
]
record = chapter.finish(
    "trade_off_inherent", rows, profile=profile, seed=seed, device=device, timer=timer
)
