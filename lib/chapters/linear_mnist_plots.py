"""The linear-MNIST chapter's figures (book/linear_mnist.py): each function draws one
figure and returns it. Titles name what is drawn, never a figure number: the chapter's
captions say which figure of the paper (if any) a figure reproduces."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from lib import attacks


def learning_curves(histories: dict, epochs: int):
    """Training loss per epoch (the robust loss for adversarial training), one line per
    ``histories`` entry (label -> :func:`lib.train.train`'s history), on log-log axes;
    the dotted line marks the paper's ``epochs``."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for label, history in histories.items():
        ax.plot([e["epoch"] for e in history], [e["loss"] for e in history], label=label)
    ax.axvline(epochs, color="0.5", ls=":", lw=1)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="epoch",
        title="Learning curves",
        ylabel="training loss (robust loss if adversarial)",
    )
    ax.legend(fontsize=8)
    return fig


def weights(named_models: dict, example: torch.Tensor, eps: float):
    """One row per model: its weights as a 28x28 image (one colour scale for all, blue
    negative, red positive), the worst-case perturbation -eps sign(w) it induces, and
    ``example`` (a [28, 28] image of a 7, label y = +1) under that perturbation."""
    fig, axes = plt.subplots(
        len(named_models), 3, figsize=(8, 2.9 * len(named_models)), layout="constrained"
    )
    scale = max(m.weight.abs().max().item() for m in named_models.values())
    for row, (name, model) in zip(axes, named_models.items(), strict=True):
        w = model.weight.detach().cpu().view(28, 28).numpy()
        im = row[0].imshow(w, cmap="RdBu_r", vmin=-scale, vmax=scale)
        row[0].set_title(f"{name}: weights")
        row[1].imshow(-eps * np.sign(w), cmap="RdBu_r", vmin=-eps, vmax=eps)
        row[1].set_title(rf"{name}: $-\epsilon\,$sign$(w)$")
        device = model.weight.device
        seven = torch.ones(1, dtype=torch.long, device=device)
        x_adv = attacks.linear_worst_case(model, example[None, None].to(device), seven, eps=eps)
        row[2].imshow(x_adv[0, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        row[2].set_title("a 7 under it")
    for ax in axes.flat:
        ax.axis("off")
    fig.colorbar(im, ax=axes[:, 0], location="left", shrink=0.8, label="weight")
    return fig


def weight_vs_correlation(corr: torch.Tensor, named_models: dict, eps: float, title: str):
    """Each pixel's |w_i| (scaled by the model's largest) against |E[y x_i]|, one colour
    per model; the dotted line is eps."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, model), color in zip(named_models.items(), ("C0", "C3", "C1"), strict=False):
        w = model.weight.detach().abs().cpu()
        ax.scatter(
            corr.abs().numpy(), (w / w.max()).numpy(), s=6, alpha=0.6, color=color, label=name
        )
    ax.axvline(eps, color="k", ls=":", lw=1, label=r"$\epsilon$")
    ax.set(xlabel=r"$|E[y\,x_i]|$", ylabel=r"$|w_i|$ / max", title=title)
    ax.legend(fontsize=8)
    return fig


def top_k(curve, robust_scores: dict, best_k: int | None = None):
    """Standard and adversarial test accuracy against k (:func:`top_k_curve`), the
    adversarial accuracy on held-out training images dotted (column "adv val", if any),
    the adversarially trained model's (``robust_scores``, in %) as dashed lines, and
    ``best_k`` (the k chosen on the held-out images) as a grey vertical line."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(curve.index, curve["std test"], "o-", color="C0", label="standard accuracy")
    ax.plot(curve.index, curve["adv test"], "o-", color="C3", label="adversarial accuracy")
    if "adv val" in curve:
        ax.plot(curve.index, curve["adv val"], ":", color="C3", label="adversarial, held out")
    for column, color, what in (("std test", "C0", "standard"), ("adv test", "C3", "adversarial")):
        ax.axhline(
            robust_scores[column] / 100, color=color, ls="--", lw=1, label=f"adv. trained: {what}"
        )
    if best_k is not None:
        ax.axvline(best_k, color="0.5", lw=1, label=f"chosen k = {best_k}")
    ax.set(
        xscale="log",
        xlabel="number of most correlated pixels used (k)",
        ylabel="accuracy",
        title="standard training on the top k pixels",
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8)
    return fig
