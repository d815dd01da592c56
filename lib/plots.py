"""Figure helpers shared by the chapters (matplotlib + seaborn)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch


def style() -> None:
    """The book's figure style: seaborn's whitegrid, compact fonts."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def to_image(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """A [C, H, W] tensor in [0, 1] as an [H, W] or [H, W, 3] array for imshow."""
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() == 3 and x.shape[0] == 1:
        x = x[0]
    elif x.dim() == 3:
        x = x.permute(1, 2, 0)
    return x.clamp(0, 1).numpy()


def show_image(ax, x, title: str | None = None, **title_kwargs) -> None:
    """Draw one image ([C, H, W] in [0, 1]) on ``ax``: grey for one channel, no axes."""
    img = to_image(x)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
    if title is not None:
        ax.set_title(title, **title_kwargs)
    ax.axis("off")


def image_grid(
    images, titles=None, *, ncols: int = 8, size: float = 1.3, suptitle: str | None = None
):
    """Show images (each [C, H, W] in [0, 1]) in a grid; returns the figure."""
    images = list(images)
    nrows = max(1, -(-len(images) // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            show_image(ax, images[i], None if titles is None else str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def gradient_image(g: torch.Tensor, *, style: str = "clip3") -> np.ndarray:
    """An input gradient [C, H, W] as the paper displays it.

    ``"diverging"`` (MNIST): one channel scaled to [-1, 1] by its largest
    magnitude, for a blue/red colour map centred on 0. ``"clip3"`` (CIFAR-10,
    ImageNet): clipped to the mean +- 3 standard deviations of the image's
    gradient, then rescaled to [0, 1] and shown as colour.
    """
    g = torch.as_tensor(g).detach().float().cpu()
    if style == "diverging":
        return (g.sum(0) / g.abs().sum(0).max().clamp_min(1e-30)).numpy()
    if style == "clip3":
        mu, sigma = g.mean(), g.std().clamp_min(1e-30)
        return to_image((g - mu).clamp(-3 * sigma, 3 * sigma) / (6 * sigma) + 0.5)
    raise ValueError(f'style must be "diverging" or "clip3", got {style!r}')


def show_gradient(ax, g: torch.Tensor, *, style: str) -> None:
    """Draw :func:`gradient_image` on ``ax`` with the right colour map."""
    img = gradient_image(g, style=style)
    if style == "diverging":
        ax.imshow(img, cmap="RdBu_r", vmin=-1, vmax=1)
    else:
        ax.imshow(img)
    ax.axis("off")


def prediction_rows(
    rows,
    classes,
    *,
    labels=None,
    truth=None,
    size: tuple[float, float] = (1.3, 1.55),
    fontsize: int = 7,
    suptitle: str | None = None,
):
    """Rows of images, each titled with its predicted class; returns the figure.

    ``rows``: a list of (images [N, C, H, W], predicted classes [N]) pairs,
    one per row; ``labels``: a text left of each row; ``truth``: the true
    classes [N], a title in red where the prediction differs (Figures 3, 4).
    """
    n = max(len(x) for x, _ in rows)
    fig, axes = plt.subplots(
        len(rows), n, figsize=(size[0] * n, size[1] * len(rows)), squeeze=False
    )
    for i, (x, pred) in enumerate(rows):
        for j in range(n):
            if j >= len(x):
                axes[i, j].axis("off")
                continue
            wrong = truth is not None and int(pred[j]) != int(truth[j])
            show_image(
                axes[i, j],
                x[j],
                classes[int(pred[j])],
                fontsize=fontsize,
                color="C3" if wrong else "k",
            )
        if labels is not None and labels[i]:
            axes[i, 0].text(
                -0.1,
                0.5,
                labels[i],
                transform=axes[i, 0].transAxes,
                ha="right",
                va="center",
                fontsize=8,
            )
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def gradient_rows(x, grads: dict, *, style: str, suptitle: str | None = None):
    """Figure 2: the images in the first row, then one row of input gradients per model
    (``grads``: model name -> [N, C, H, W]), displayed with :func:`show_gradient`."""
    n = len(x)
    fig, axes = plt.subplots(1 + len(grads), n, figsize=(1.3 * n, 1.4 * (1 + len(grads))))
    axes = np.asarray(axes).reshape(1 + len(grads), n)
    for j in range(n):
        show_image(axes[0, j], x[j])
    for i, (name, g) in enumerate(grads.items(), start=1):
        for j in range(n):
            show_gradient(axes[i, j], g[j], style=style)
        axes[i, 0].text(-0.1, 0.5, name, transform=axes[i, 0].transAxes, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
