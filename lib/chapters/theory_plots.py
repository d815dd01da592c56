"""The theory chapter's figures (book/theory.py): each function draws one figure from
numbers :mod:`lib.chapters.theory` computed, and returns it. None of them is a figure
of the paper, which states Section 2 without any."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from lib import theory as T
from lib.chapters import theory as C


def marginals(x, y, dist: T.Distribution, eps_scale: float):
    """D from samples: the robust feature x1 per class (left), and the mean of the weak
    features per class before (top right) and after (bottom right) the shift by
    eps = eps_scale * eta, with the exact normal densities N(+-eta, 1/d) as lines."""
    eta, d = dist.eta, dist.d
    eps = eps_scale * eta
    x_bar = x[:, 1:].mean(1)
    x_bar_adv = (x[:, 1:] - eps * y[:, None]).mean(1)
    fig, axes = plt.subplot_mosaic("AB;AC", figsize=(10, 5.6), sharex=False)
    ax = axes["A"]
    for label, color, shift in ((1, "C0", -0.15), (-1, "C3", 0.15)):
        frac = [(x[y == label, 0] == v).float().mean().item() for v in (-1, 1)]
        ax.bar(np.array([-1, 1]) + shift, frac, width=0.3, color=color, label=f"y = {label:+d}")
    ax.set(xticks=[-1, 1], xlabel="$x_1$", ylabel="fraction", title="robust feature $x_1$")
    ax.legend()
    grid = np.linspace(-4 * eta - 4 / math.sqrt(d), 4 * eta + 4 / math.sqrt(d), 300)
    axes["C"].sharex(axes["B"])
    for ax, values, title, shift in (
        (axes["B"], x_bar, "mean of the weak features, clean", 0.0),
        (
            axes["C"],
            x_bar_adv,
            rf"... after the shift $x_i - \epsilon y$, $\epsilon$ = {eps_scale:g}$\eta$",
            eps,
        ),
    ):
        for label, color in ((1, "C0"), (-1, "C3")):
            ax.hist(
                values[y == label].numpy(),
                bins=80,
                density=True,
                alpha=0.45,
                color=color,
                label=f"y = {label:+d}",
            )
            mean = label * (eta - shift)
            ax.plot(
                grid,
                np.exp(-((grid - mean) ** 2) * d / 2) * math.sqrt(d / (2 * math.pi)),
                color=color,
                lw=1,
            )
        ax.set(xlabel=r"$\bar{x}$", title=title)
        ax.legend()
    fig.tight_layout()
    return fig


def tradeoff(dist: T.Distribution, eps_scale: float, family: dict, points: dict, frontier=None):
    """Theorem 2.1 in the plane (standard, robust accuracy): the bound and the region it
    forbids, the w_a family against both adversaries, the named classifiers, and the
    exact frontier ``frontier = (c_grid, rows)`` of :func:`C.exact_frontier` if given."""
    p = dist.p
    std_grid = np.linspace(0.5, 1.0, 501)
    bound_curve = [T.tradeoff_bound(s, p) for s in std_grid]
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    ax.fill_between(std_grid, bound_curve, 1.0, color="0.9", label="impossible (Theorem 2.1)")
    ax.plot(std_grid, bound_curve, color="k", lw=1.5, label=r"bound $\frac{p}{1-p}\delta$")
    ax.plot(*family["shift"].T, color="C0", lw=2, label=r"$w_a$, shift adversary")
    ax.plot(*family["ball"].T, color="C0", lw=1.2, ls="--", label=r"$w_a$, worst case in the ball")
    if frontier is not None:
        c_grid, rows = frontier
        ax.plot(c_grid, rows[:, 0], color="C3", lw=1, ls=":", label="exact frontier")
    for (name, (s, r)), marker in zip(points.items(), "os^", strict=True):
        ax.plot(s, r, marker, ms=9, label=name)
    ax.set(
        xlabel="standard accuracy",
        ylabel=f"robust accuracy (eps = {eps_scale:g} eta)",
        xlim=(max(0.5, p - 0.05), 1.002),
        ylim=(-0.02, 1.02),
        title=f"Theorem 2.1, p = {p}",
    )
    ax.legend(fontsize=8, loc="lower left")
    return fig


def svm_sweep(sweep: np.ndarray):
    """The optimal unit-norm SVM across training eps (rows of :func:`C.svm_eps_sweep`):
    its weights (left) and its accuracies (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(sweep[:, 0], sweep[:, 1], label="$w_1$ (robust feature)")
    axes[0].plot(sweep[:, 0], sweep[:, 2], label="$v$ (weak features, combined)")
    axes[0].set(ylabel="weight", title="optimal unit-norm SVM weights")
    axes[1].plot(sweep[:, 0], sweep[:, 3], label="standard accuracy")
    axes[1].plot(sweep[:, 0], sweep[:, 4], label=r"robust accuracy at the training $\epsilon$")
    axes[1].set(ylabel="accuracy", title="its accuracies")
    for ax in axes:
        ax.set_xlabel(r"training $\epsilon / \eta$")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def transfer(success: np.ndarray):
    """The transfer matrix of :func:`C.transfer_matrix` as a heat map."""
    k = len(success)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    im = ax.imshow(success, vmin=0, vmax=1, cmap="viridis")
    ax.grid(False)
    ax.set(xlabel="classifier evaluated", ylabel="classifier attacked", title="attack success rate")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    fig.colorbar(im, ax=ax)
    return fig


def frontier_panel(ax, p: float, d: int, eta_scale: float, eps_scale: float, legend=False):
    """One setting of D on ``ax``: Theorem 2.1's bound (grey above it: impossible when
    eps >= 2 eta), the w_a family against the shift, and the three classifiers."""
    dist = T.Distribution.scaled(p, int(d), eta_scale)
    eps = eps_scale * dist.eta
    s_grid = np.linspace(0.5, 1, 201)
    bound = [T.tradeoff_bound(s, p) for s in s_grid]
    ax.fill_between(s_grid, bound, 1, color="0.9")
    ax.plot(s_grid, bound, "k", lw=1)
    family = C.tradeoff_family(dist, eps, np.linspace(0, 1, 120))["shift"]
    ax.plot(*family.T, color="C0", lw=1.5)
    for (name, w), marker in zip(C.classifiers(dist).items(), "os^", strict=True):
        ax.plot(T.linear_accuracy(w, dist), T.linear_accuracy(w, dist, eps), marker, label=name)
    ax.set(xlim=(max(0.5, p - 0.1), 1.005), ylim=(-0.02, 1.02))
    if legend:
        ax.legend(fontsize=7, loc="lower left")


def frontier_grid(ps, eps_scales, d: int, eta_scale: float):
    """:func:`frontier_panel` for each p (rows) and eps / eta (columns)."""
    fig, axes = plt.subplots(
        len(ps), len(eps_scales), figsize=(10, 2.7 * len(ps)), sharey=True, squeeze=False
    )
    for i, p in enumerate(ps):
        for j, es in enumerate(eps_scales):
            frontier_panel(axes[i, j], p, d, eta_scale, es, legend=(i, j) == (0, 0))
            axes[i, j].set_title(f"p = {p}, eps = {es:g} eta", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("standard accuracy")
    for ax in axes[:, 0]:
        ax.set_ylabel("robust accuracy")
    fig.suptitle(f"The frontier of Theorem 2.1, d = {d}, eta = {eta_scale}/sqrt(d)")
    fig.tight_layout()
    return fig
