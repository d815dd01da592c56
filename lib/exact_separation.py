"""The exact minimum l_inf distance over every differently labelled pair of a data set.

Yang et al. (2020) report the separation of MNIST as a minimum over all pairs; a
minimum over a sample of queries (:mod:`lib.separation`) only bounds it from above. This
module finds it exactly by a threshold search (:func:`exact_min_distance`): a cheap
prefilter proves most pairs at least an upper bound apart, and the exact distance is
computed for the rest. Distances are l_inf in [0, 1] pixel space; uint8 pixels are
compared in integer levels (exact), float images in float32.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from lib.separation import _flat, _sample


@dataclass
class ExactMinimum:
    """The exact minimum l_inf distance over every differently labelled pair searched.

    Exact: every pair the prefilter drops is at least ``bound`` apart, and every pair it
    keeps has its exact distance computed, so ``min_dist`` = min(bound, the candidates'
    minimum) is the brute-force minimum (no sampling, no SE).
    """

    min_dist: float  # the separation 2r over all pairs (l_inf, [0, 1] pixel space)
    pair: tuple[int, int]  # (query, reference) indices of a pair at min_dist
    bound: float  # the prefilter's first upper bound (it falls to each nearer pair found)
    pairs: int  # differently labelled pairs covered (each unordered pair once when symmetric)
    candidates: int  # pairs the prefilter kept (exact distance computed)
    seconds: float

    @property
    def pruned(self) -> float:
        """Fraction of the pairs whose exact distance was never computed."""
        return 1 - self.candidates / self.pairs if self.pairs else 0.0


def _levels(x: torch.Tensor) -> torch.Tensor:
    """Images as ``[n, h, w]`` planes stacked per channel: uint8 kept as int16 levels 0-255
    (exact arithmetic); float images in [0, 1] kept as float32."""
    if x.dim() == 2:
        x = x[:, None, :]
    elif x.dim() == 4:
        x = x.flatten(1, 2)  # channels x rows become rows: blocks never straddle channels
    return x.short() if x.dtype == torch.uint8 else x.float()


def _block_features(x: torch.Tensor, bound, pool: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and ``pool x pool`` block: *on*, some pixel >= bound; *off*, every pixel 0.

    If block B is on for q and off for r, some pixel p of B has q_p >= bound and r_p = 0, so
    ||q - r||_inf >= bound: comparisons only, exact in any arithmetic. Blocks past the
    image's edge are padded with 0 (on never; off always, which is true of the pad and
    never decides a pair: the pad is off for both images, never on)."""
    import torch.nn.functional as F

    xf = x.float()[:, None]
    on = F.max_pool2d((xf >= bound).float(), pool, ceil_mode=True)
    off = -F.max_pool2d(-(xf == 0).float(), pool, ceil_mode=True)
    return on.flatten(1), off.flatten(1)


def upper_bound(qx, qy, rx, ry, *, n: int = 1024, k: int = 8, seed: int = 0) -> tuple:
    """A pair of different labels and its exact l_inf distance, found cheaply: for a seeded
    sample of ``n`` queries, the exact distance to each one's ``k`` nearest other-class
    references in l2 (one matrix product). Returns (distance, (query, reference));
    an upper bound on the minimum over all pairs."""
    q, r = _flat(qx), _flat(rx)
    pick = _sample(len(q), n, seed)
    pick = torch.arange(len(q)) if pick is None else pick
    qs, qys = q[pick], qy[pick].long()
    l2 = (qs * qs).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * qs @ r.T
    l2.masked_fill_(qys[:, None] == ry.long()[None, :], math.inf)
    near = l2.topk(min(k, r.shape[0]), dim=1, largest=False).indices  # [n, k]
    d = (qs[:, None, :] - r[near]).abs().amax(2)
    d.masked_fill_(qys[:, None] == ry.long()[near], math.inf)  # fewer than k other-class refs
    best = int(d.argmin())
    i, j = divmod(best, d.shape[1])
    return float(d[i, j]), (int(pick[i]), int(near[i, j]))


def _pairs(qy: torch.Tensor, ry: torch.Tensor, symmetric: bool) -> int:
    """Differently labelled pairs: (query, reference), or unordered pairs when symmetric."""
    classes = int(max(qy.max(), ry.max())) + 1
    if symmetric:
        counts = torch.bincount(qy, minlength=classes)
        return int((len(qy) ** 2 - (counts * counts).sum()) // 2)
    counts_r = torch.bincount(ry, minlength=classes)
    return int(len(qy) * len(ry) - counts_r[qy].sum())


def exact_min_distance(
    qx,
    qy,
    rx,
    ry,
    *,
    symmetric: bool = False,
    pool: int = 4,
    block: int = 1024,
    max_candidates: int = 50_000_000,
    seed: int = 0,
) -> ExactMinimum:
    """The exact minimum l_inf distance over all pairs (query, reference) of different labels.

    Args:
        qx, rx: ``[m, ...]`` and ``[n, ...]`` images, uint8 pixels (distances in levels
            / 255, exact) or float in [0, 1]; images of shape ``[c, h, w]`` (or flat).
        qy, ry: class indices.
        symmetric: the queries are the references (train-train): each unordered pair once.
        pool: side of the prefilter's blocks (1: per pixel; larger: cheaper, prunes less).
        block: queries per matrix product.
        max_candidates: raise ``RuntimeError`` beyond this many kept pairs (the prefilter
            does not prune these data; brute force is the honest alternative).

    The threshold search: ``bound`` starts as an upper bound on the minimum from
    :func:`upper_bound`. A pair is dropped when some block is *on* in one image and *off*
    in the other (:func:`_block_features`), which proves it at least ``bound`` apart, or
    when its labels agree (a one-hot column of each image's label adds 1 to the count).
    The counts for a block of queries against every reference are one matrix product of
    0/1 features (exact integers in float32). The pairs kept get their exact l_inf
    distance; whenever one is nearer than ``bound``, ``bound`` falls to it (every bound is
    the distance of a real pair, so a pair dropped earlier at a larger bound is still no
    nearer than the final minimum). The prefilter relies on exact zeros (a blank
    background, as MNIST's): on natural images it prunes almost nothing and
    ``max_candidates`` stops it.
    """
    start = time.perf_counter()
    qy, ry = qy.long(), ry.long()
    q, r = _levels(qx), _levels(rx)
    integer = q.dtype == torch.int16
    scale = 255.0 if integer else 1.0
    ub, pair = upper_bound(qx, qy, rx, ry, seed=seed)
    best = round(ub * 255) if integer else ub  # in levels: the search is exact integers
    classes = int(max(qy.max(), ry.max())) + 1
    q_lab = torch.nn.functional.one_hot(qy, classes).float()
    r_lab = torch.nn.functional.one_hot(ry, classes).float()
    qf, rf = q.flatten(1), r.flatten(1)

    def ref_features(bound):
        on, off = _block_features(r, bound, pool)
        return torch.cat([off, on, r_lab], 1)

    first = bound = best
    ref_feats, candidates = ref_features(best), 0
    for s in range(0, len(q), block):
        if best < bound:  # a nearer pair was found: prune with it from here on
            bound, ref_feats = best, ref_features(best)
        q_on, q_off = _block_features(q[s : s + block], bound, pool)
        lo = s if symmetric else 0  # symmetric: references from the block's first query on
        hits = torch.cat([q_on, q_off, q_lab[s : s + block]], 1) @ ref_feats[lo:].T
        i, j = (hits == 0).nonzero(as_tuple=True)
        del hits
        i, j = i + s, j + lo
        if symmetric:  # each unordered pair once (the block's own square holds both)
            i, j = i[i < j], j[i < j]
        candidates += len(i)
        if candidates > max_candidates:
            raise RuntimeError(
                f"the prefilter keeps over {max_candidates:,} pairs: it does not prune these data"
            )
        for c in range(0, len(i), 100_000):
            ii, jj = i[c : c + 100_000], j[c : c + 100_000]
            d = (qf[ii] - rf[jj]).abs().amax(1)
            if len(d) and d.min() < best:
                a = int(d.argmin())
                best, pair = d[a].item(), (int(ii[a]), int(jj[a]))
    return ExactMinimum(
        best / scale,
        pair,
        first / scale,
        _pairs(qy, ry, symmetric),
        candidates,
        time.perf_counter() - start,
    )
