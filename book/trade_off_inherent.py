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
# the usual $\epsilon$, and proved that on separated data some classifier is
# accurate *and* robust, so that the trade-off is not forced by the data
# themselves; TRADES (Zhang et al., ICML 2019) made the trade-off an explicit
# knob $\beta$; robust self-training (Raghunathan et al., ICML 2020) reported
# that the price shrinks with more data. This chapter measures the first two
# on the book's own data and models, and says what the third would need. The claims are
# X1-X4 of the project's second ledger, `CLAIMS_BEYOND.md`: they are not the
# paper's.


# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from myst_nb import glue

from lib import chapter
from lib.chapters import trade_off as to
from lib.chapters import trade_off_trades as x3
from lib.experiments.store import Store
from lib.paper import beyond

timer = chapter.start(quiet_subsets=True)


def glue_all(values: dict) -> None:
    """Glue each computed value under its name, for the prose (nothing shown here)."""
    for name, value in values.items():
        glue(name, value, display=False)


# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # seeds the query samples, the training runs and the attacks' starts
betas = None  # TRADES' weights of the KL term; None: the profile's (official: 1 MNIST, 6 CIFAR)

# %% tags=["hide-input"]
profile, device = chapter.setup(profile)
store = Store()
betas = betas or x3.BETAS[profile]  # two at cpu: a TRADES run costs about a PGD-AT run
sizes = to.SEARCH[profile]  # queries searched per data set (smoke: a subset of references)

# %% [markdown]
# ## X1: how far apart are the classes?
#
# For each test point, the $\ell_\infty$ distance to the nearest training
# image of another class; and the minimum over pairs of differently labelled
# training images. A data set is $r$-separated when that minimum is at
# least $2r$.
#
# Two searches. The *exact* one (MNIST) finds the minimum over every pair of
# differently labelled images: a prefilter proves most pairs far apart
# without computing their distance (if a $4 \times 4$ block of pixels holds a
# pixel at least as bright as the best distance found so far in one image and
# is blank in the other, the two are at least that far apart; counting such
# blocks for every pair is one matrix product of 0/1 features), and the exact
# distance is computed for the pairs it keeps (see
# `lib.exact_separation.exact_min_distance`). The *sampled* one (both data sets, a
# seeded sample of queries) gives each sampled test point's nearest
# other-class distance, for the histograms below and X2's classifier; its
# minimum only bounds a data set's minimum from above. CIFAR-10 has no exact
# search here: the prefilter needs blank $4 \times 4$ blocks, which natural
# images hardly have, and searching every training image the way the sample
# was searched would take about {glue:text}`X1_cifar10_brute_hours:.0f` hours
# on this machine (the sample's seconds per query, times
# {glue:text}`X1_cifar10_n_train:,` queries); and its
# test-train minimum needs all 10,000 test images, of which the data here
# hold {glue:text}`X1_cifar10_n_test:,`.
#
# The searches are stored, keyed by the data's fingerprints and the sizes
# searched, so a rebuild reads them back instead of searching again.

# %%
results = {name: to.searched(name, sizes, seed=seed, store=store) for name in to.DATASETS}
glue_all(to.x1_glued(results))
glue("X1_exact_text", Markdown(to.x1_text(results)), display=False)
to.separation_table(results)

# %% [markdown]
# ```{glue:md} X1_exact_text
# :format: myst
# ```

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Not a figure of the paper (X1): the l_inf distance from each sampled test point to the nearest training image of another class, with twice the paper's eps (dashed) and the published minimum (dotted)."}}
to.separation_figure(results)
plt.show()

# %% [markdown]
# The published figures come from the first author's slides (the paper's
# table was not reachable here).
#
# ## X2: a classifier that is accurate and certifiably robust
#
# X2 is a theorem: on $r$-separated data some classifier is accurate and
# robust at radius $r$. What the book can check is its premise, and what the
# classifier it builds does on test images. The nearest-class classifier
# predicts the class of the nearest training image. Its answer at $x$ is
# certified at radius $\epsilon$ when the nearest other-class image is more
# than $2\epsilon$ farther than the nearest same-class one: distances to a
# set are 1-Lipschitz, so no point of the ball can swap them. On a training
# image the nearest same-class image is itself, at distance 0, so the
# classifier is certified there at every $\epsilon$ below half the image's
# distance to the other classes: a train-train separation above $2 \times
# 0.3$ certifies it at 0.3 on every training image. The table gives its
# standard accuracy on the sampled test points at $\epsilon = 0$ and its
# certified robust accuracy above.

# %%
certified, x2_glued = to.certified_table(results)
glue_all(x2_glued)
glue("X2_text", Markdown(to.x2_text(results)), display=False)
certified

# %% [markdown]
# ```{glue:md} X2_text
# :format: myst
# ```

# %% [markdown]
# The distribution $\mathcal{D}$ of the theory chapter is another matter.

# %%
dsep, dsep_glued = to.d_separation(profile, seed)
glue_all(dsep_glued)

# %% [markdown]
# Against $\epsilon = 2\eta$ = {glue:text}`X2_D_eps:.3f`, $\mathcal{D}$ is
# not separated at all: both classes put mass on $x_1 = \pm 1$ and the weak
# features are Gaussian, so the class supports coincide (separation
# {glue:text}`X2_D_population_sep:.1f`). Theorem 2.1 is about this
# population. A finite sample of it can look separated (minimum distance
# {glue:text}`X2_D_sample_sep:.2f` between differently labelled points of a
# sample of {glue:text}`X2_D_n:,`): separation measured on a sample says little
# about the distribution when the dimension is high.
#
# ## X3: TRADES, the trade-off as a knob
#
# The TRADES runs are trained here, at each beta, on MNIST at eps 0.3 and
# on CIFAR-10 at 8/255 (at the profile's scale: at `cpu` CIFAR-10 is the
# small-compute regime of the price chapter, a ResNet-8 trained for
# {glue:text}`X3_cifar10_cpu_epochs` epochs). The training adversary is the
# profile's training PGD turned to the KL objective
# (`lib.trades.TradesAttack.like`); the robust accuracy is the strong
# evaluation of Table 4 (the profile's PGD, then APGD-CE and APGD-T; the
# worst case per image), with the profile's PGD alone beside it.
#
# One run per beta: a standard error from the test set alone leaves out how
# much another seed would move each model.
#
# ```{glue:md} X3_spread_text
# :format: myst
# ```

# %%
trades_all, x3_glued = x3.trades_runs(profile, seed, betas, device)
glue_all(x3_glued)
for ds in to.DATASETS:
    display(x3.trades_table(ds, trades_all[ds]))
spread = x3.seed_spread(profile, store=store, device=device)
mnist_seconds = sum(m["train_seconds"] for m in trades_all["mnist"].values())
glue("X3_spread_text", Markdown(x3.spread_text(spread, mnist_seconds)), display=False)
glue("X3_cifar10_cpu_epochs", x3.epochs("cifar10", "cpu"), display=False)
x3_by_ds = {
    ds: x3.x3_judgement(t, betas, spread if ds == "mnist" else None) for ds, t in trades_all.items()
}
glue("X3_verdict", x3.x3_verdict(x3_by_ds), display=False)

# %% [markdown]
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
frontier = x3.frontier_points(profile, seed, trades_all["mnist"], store=store, device=device)
glue("frontier_n_models", len(frontier), display=False)
glue("frontier_points", x3.points_text(frontier), display=False)
frontier[["std", "std_se", "adv", "adv_se"]].round(4)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Not a figure of the paper: standard against strong robust accuracy at eps = 0.3 of every MNIST l_inf model the book has trained (2 SE), their Pareto frontier, and the released TRADES model."}}
x3.frontier_figure(frontier)
plt.show()

# %% [markdown]
# ## X4: more data shrinks the price
#
# Raghunathan et al. (ICML 2020) report that robust self-training on
# unlabelled data lifts both accuracies of CIFAR-10 models (PGD-AT
# {glue:text}`X4_pgd_at_robust:.1f` / {glue:text}`X4_pgd_at_standard:.1f` robust /
# standard, RST + TRADES {glue:text}`X4_rst_robust:.1f` /
# {glue:text}`X4_rst_standard:.1f`; a CIFAR-10 point, not drawn on the MNIST plane
# above), and that the standard accuracy that adversarial training costs
# falls as labelled data grow. Their sample-size runs train CIFAR-10 models
# at small $\ell_\infty$ radii, below the 8/255 of the paper's Table 4, on
# labelled subsets of the training set. The book's test of it is a regime of
# that kind: standard and PGD-AT runs at each eps and size, every run the
# same optimizer steps as on the whole training set (so size is not
# confounded with training time), two seeds. The price (standard minus PGD-AT standard accuracy, at the same
# size) falls when the weighted least-squares slope of the price against
# $\log_{10} n$ is below zero beyond 2 standard errors: one fit over every
# size, so no size is picked after the prices are seen (the largest of
# several noisy prices, taken as a peak, is biased upward).
#
# ```{glue:md} X4_status
# :format: myst
# ```

# %%
regime_prices = to.x4_regime_prices(profile, store=store, device=device)
regime = to.x4_parts(regime_prices, to.X4_MIN_N[profile])
prices = to.x4_prices(profile, seed, store=store, device=device)
outside = to.x4_parts(prices, to.X4_MIN_N[profile])
cost = to.x4_regime_cost(profile, store=store, device=device)
x4_row = to.x4_row(profile, regime, outside, cost)
glue("X4_status", Markdown(to.x4_status(profile, x4_row, cost, outside, prices)), display=False)
glue("X4_n_series", len(regime or outside), display=False)
# Raghunathan et al.'s Table 1 as the prose quotes it (lib.paper.beyond).
for key, method in (("pgd_at", "PGD-AT"), ("rst", "RST + TRADES")):
    glue(f"X4_{key}_robust", beyond.RST[method][0], display=False)
    glue(f"X4_{key}_standard", beyond.RST[method][1], display=False)
# The regime's table only where the profile trains it (at cpu its few shared runs are
# not a regime); then the price chapter's series, described.
for frame in (regime_prices, prices) if to.X4_REGIME[profile][3] else (prices,):
    if not frame.empty:
        display(frame.pivot_table(index=["data set", "norm", "eps"], columns="n", values="price"))

# %% [markdown]
# (trade_off_inherent-reproduction)=
# ## Reproduction table

# %%
rows = to.reproduction_rows(results, dsep, x3_by_ds, x4_row, betas)
record = chapter.finish(
    "trade_off_inherent", rows, profile=profile, seed=seed, device=device, timer=timer
)
