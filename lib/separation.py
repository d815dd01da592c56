"""How far apart the classes of a data set are in l_inf (Yang et al., 2020).

A data set is *r-separated* when any two differently labelled points are at
least 2r apart. Yang, Rashtchian, Zhang, Salakhutdinov and Chaudhuri ("A
Closer Look at Accuracy vs. Robustness", NeurIPS 2020) measured the minimum
l_inf distance between differently labelled images, train-train and
test-train, and found it above twice the usual eps; on such data a classifier
can be both accurate and robust at radius r. This module searches per query (a
sample of queries bounds the minimum from above); :mod:`lib.exact_separation`
finds the minimum over every pair of a whole data set.

The search is exact and pruned. For a query ``q`` and a reference ``r`` in
dimension ``d``, ``||q - r||_inf >= ||q - r||_2 / sqrt(d)``, and the l2
distances of a whole chunk of queries come from one matrix product. The exact
l_inf distance is computed only for candidates whose lower bound is below the
best distance found so far. How much that prunes depends on the data: on
MNIST almost nothing (the nearest image of another class is about 1 away in
l_inf, while l2 / sqrt(d) is about 0.3), so the search there costs what brute
force costs; ``SearchStats`` says how many exact distances were computed.

Tolerance. Everything is float32. The lower bound is made conservative by a
slack of ``1e-5 * (||q||^2 + ||r||^2) + 1e-6`` on the squared l2 distance
(the rounding of ``||q||^2 + ||r||^2 - 2 q.r`` is far below that), so no
candidate that could win is pruned. The exact l_inf distances are
``torch.cdist(p=inf)`` in float32: for pixels k / 255 each is the true one to
within 1e-6. Among equally near references any index may be returned; the
distance is the brute-force one to within that tolerance.

The nearest-class classifier predicts the class of the nearest training
point. For a test point x of class y, let d_same and d_other be its l_inf
distances to the nearest training point of class y and of any other class.
It is correct when d_same < d_other (a tie counts as an error), and its
answer is *certified* at radius eps when d_other - d_same > 2 eps: for any x'
within eps of x, d(x', same) <= d_same + eps < d_other - eps <= d(x', other)
(the triangle inequality; each distance to a set is 1-Lipschitz). This is
the margin rule of Yang et al.'s locally Lipschitz construction (their f is
built from distances to the classes); it is sufficient, not necessary, so the
certified accuracy is a lower bound on the classifier's robust accuracy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from lib import theory

# Squared-l2 slack of the lower bound, relative to ||q||^2 + ||r||^2 (float32).
REL_SLACK = 1e-5
ABS_SLACK = 1e-6
# Above this fraction of candidates in a chunk, exact distances to every
# reference are cheaper than gathering the candidates.
DENSE_FRACTION = 0.25


@dataclass
class SearchStats:
    """What a search did: queries, references, exact distances computed, seconds."""

    queries: int = 0
    references: int = 0
    exact: int = 0  # exact l_inf distances computed
    allowed: int = 0  # (query, reference) pairs of different classes (same, with same=True)
    seconds: float = 0.0

    @property
    def pruned(self) -> float:
        """Fraction of all queries x references pairs (brute force's work) never computed."""
        pairs = self.queries * self.references
        return 1 - self.exact / pairs if pairs else 0.0


@dataclass
class Nearest:
    """Per query: the l_inf distance to its nearest allowed reference and its index."""

    dist: torch.Tensor  # [m] float32; inf where no reference is allowed
    index: torch.Tensor  # [m] int64; -1 where no reference is allowed
    stats: SearchStats = field(default_factory=SearchStats)


def _flat(x: torch.Tensor) -> torch.Tensor:
    x = x.flatten(1)
    return x.float().div_(255) if x.dtype == torch.uint8 else x.float()


def _linf(q: torch.Tensor, r: torch.Tensor, block: int = 4096) -> torch.Tensor:
    """Exact l_inf distances [len(q), len(r)], in blocks of references."""
    out = torch.empty(len(q), len(r))
    for s in range(0, len(r), block):
        out[:, s : s + block] = torch.cdist(q, r[s : s + block], p=math.inf)
    return out


def brute_force(
    queries: torch.Tensor,
    refs: torch.Tensor,
    query_labels: torch.Tensor,
    ref_labels: torch.Tensor,
    *,
    same: bool = False,
) -> Nearest:
    """The same answer as :func:`nearest_linf` by computing every distance (for tests)."""
    q, r = _flat(queries), _flat(refs)
    d = _linf(q, r)
    allowed = (query_labels[:, None] == ref_labels[None, :]) == same
    d = d.masked_fill(~allowed, math.inf)
    dist, index = d.min(1)
    index = torch.where(torch.isinf(dist), -1, index)
    return Nearest(dist, index)


def nearest_linf(
    queries: torch.Tensor,
    refs: torch.Tensor,
    query_labels: torch.Tensor,
    ref_labels: torch.Tensor,
    *,
    same: bool = False,
    memory_mb: float = 256,
) -> Nearest:
    """Per query, the exact l_inf distance to the nearest reference of another class.

    Args:
        queries, refs: ``[m, ...]`` and ``[n, ...]`` on the CPU, float in
            [0, 1] or uint8 pixels (divided by 255); flattened to ``d``.
        query_labels, ref_labels: ``[m]`` and ``[n]`` class indices.
        same: search the references of the query's own class instead (a
            query that is also a reference then finds itself, at distance 0).
        memory_mb: bound on the chunk's distance matrices (queries per chunk
            = memory_mb MiB / (3 n * 4 bytes)).

    Pruning: a chunk's lower bounds l2 / sqrt(d) (minus the slack above)
    come from one matrix product; each query's first upper bound is its
    exact distance to the allowed reference of smallest bound. A query's
    candidates are the allowed references whose bound is below it. Where
    they are many (more than ``DENSE_FRACTION`` of the chunk's pairs) the
    chunk is searched densely; otherwise each query's candidates are visited
    in order of their bound, in blocks, until the next bound is no longer
    below the best distance found.
    """
    start = time.perf_counter()
    q_all, r = _flat(queries), _flat(refs)
    m, n, d = len(q_all), len(r), q_all.shape[1]
    if r.shape[1] != d:
        raise ValueError(f"queries have {d} features, references {r.shape[1]}")
    query_labels, ref_labels = query_labels.long(), ref_labels.long()
    stats = SearchStats(queries=m, references=n)
    dist = torch.full((m,), math.inf)
    index = torch.full((m,), -1, dtype=torch.long)
    if m == 0 or n == 0:
        return Nearest(dist, index, stats)
    r_sq = (r * r).sum(1)
    chunk = max(1, int(memory_mb * 2**20 / (3 * 4 * n)))
    for s in range(0, m, chunk):
        q, ql = q_all[s : s + chunk], query_labels[s : s + chunk]
        allowed = (ql[:, None] == ref_labels[None, :]) == same
        stats.allowed += int(allowed.sum())
        q_sq = (q * q).sum(1)
        norms = q_sq[:, None] + r_sq[None, :]
        l2sq = norms - 2 * (q @ r.T)
        lb = (l2sq - REL_SLACK * norms - ABS_SLACK).clamp_min(0).sqrt_().div_(math.sqrt(d))
        del l2sq, norms
        lb.masked_fill_(~allowed, math.inf)
        # First upper bound: the exact distance to the reference of smallest bound.
        first = lb.argmin(1)
        has = torch.isfinite(lb.gather(1, first[:, None]).squeeze(1))
        ub = torch.where(has, (q - r[first]).abs().amax(1), math.inf)
        best_i = torch.where(has, first, -1)
        stats.exact += int(has.sum())
        cand = lb < ub[:, None]
        cand[torch.arange(len(q)), first] = False  # already computed
        if int(cand.sum()) > DENSE_FRACTION * cand.numel():
            exact = _linf(q, r).masked_fill_(~allowed, math.inf)
            stats.exact += exact.numel() - int(has.sum())  # the first ones are recomputed
            dmin, imin = exact.min(1)
            better = dmin < ub
            ub = torch.where(better, dmin, ub)
            best_i = torch.where(better, imin, best_i)
        else:
            for i in cand.any(1).nonzero().flatten().tolist():
                ub[i], best_i[i], k = _search_one(q[i], r, lb[i], cand[i], ub[i], best_i[i])
                stats.exact += k
        dist[s : s + chunk], index[s : s + chunk] = ub, best_i
    stats.seconds = time.perf_counter() - start
    return Nearest(dist, index, stats)


def _search_one(q, r, lb, cand, best, best_i, block: int = 1024):
    """One query's candidates in order of their bound, until none can win."""
    idx = cand.nonzero().flatten()
    bounds, order = lb[idx].sort()
    idx = idx[order]
    best, best_i, k = float(best), int(best_i), 0
    for s in range(0, len(idx), block):
        if bounds[s] >= best:
            break
        j = idx[s : s + block][bounds[s : s + block] < best]
        dj = (q[None] - r[j]).abs().amax(1)
        k += len(j)
        v, a = dj.min(0)
        if v < best:
            best, best_i = float(v), int(j[a])
    return best, best_i, k


# --------------------------------------------------------------------------
# Separation of a data set


@dataclass
class Separation:
    """Minimum l_inf distance between differently labelled points, and the search behind it."""

    min_dist: float  # the separation 2r: min over the queries searched
    dists: torch.Tensor  # [queries] each query's distance to the nearest other-class reference
    queries: int  # queries searched (all, or a seeded sample)
    of: int  # queries available
    stats: SearchStats

    @property
    def r(self) -> float:
        """The radius r of r-separation: half the minimum distance."""
        return self.min_dist / 2


def _sample(n: int, k: int | None, seed: int) -> torch.Tensor | None:
    if k is None or k >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def separation_test_train(
    test_x, test_y, train_x, train_y, *, n_queries: int | None = None, seed: int = 0
) -> Separation:
    """Each test point's l_inf distance to the nearest training point of another class.

    ``n_queries``: search a seeded sample of that many test points (None:
    all); the minimum is then over the sample, an upper bound on the full one.
    """
    pick = _sample(len(test_y), n_queries, seed)
    qx, qy = (test_x, test_y) if pick is None else (test_x[pick], test_y[pick])
    found = nearest_linf(qx, train_x, qy, train_y)
    low = float(found.dist.min()) if len(found.dist) else math.inf
    return Separation(low, found.dist, len(qy), len(test_y), found.stats)


def separation_train_train(
    train_x, train_y, *, n_queries: int | None = None, seed: int = 0
) -> Separation:
    """The minimum l_inf distance between differently labelled training points.

    Every training point (or a seeded sample of ``n_queries``) is searched
    against all training points. With a sample the minimum is over the pairs
    that have a sampled point: an upper bound on the true separation.
    """
    pick = _sample(len(train_y), n_queries, seed)
    qx, qy = (train_x, train_y) if pick is None else (train_x[pick], train_y[pick])
    found = nearest_linf(qx, train_x, qy, train_y)
    low = float(found.dist.min()) if len(found.dist) else math.inf  # no query: no pair
    return Separation(low, found.dist, len(qy), len(train_y), found.stats)


# --------------------------------------------------------------------------
# The nearest-class classifier and its certificate


def certified(d_same: torch.Tensor, d_other: torch.Tensor, eps: float) -> torch.Tensor:
    """Whether the nearest-class answer is certified correct within the l_inf eps-ball.

    ``d_other - d_same > 2 eps`` (strict); at eps = 0 this is correctness
    itself (d_same < d_other). See the module docstring for why it holds.
    """
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    return (d_other - d_same) > 2 * eps


@dataclass
class NearestClass:
    """The nearest-class classifier on a test set: per-point distances and accuracies."""

    d_same: torch.Tensor  # [m] l_inf distance to the nearest training point of the true class
    d_other: torch.Tensor  # [m] ... of any other class
    stats: tuple[SearchStats, SearchStats]

    @property
    def margin(self) -> torch.Tensor:
        return self.d_other - self.d_same

    @property
    def std_acc(self) -> float:
        """Standard accuracy (ties count as errors)."""
        return float(certified(self.d_same, self.d_other, 0.0).float().mean())

    def certified_acc(self, eps: float) -> float:
        """Fraction of test points whose answer is certified correct at radius eps."""
        return float(certified(self.d_same, self.d_other, eps).float().mean())


def nearest_class(
    test_x, test_y, train_x, train_y, *, n_queries: int | None = None, seed: int = 0
) -> NearestClass:
    """The l_inf nearest-class (1-NN) classifier on the test set (or a seeded sample)."""
    pick = _sample(len(test_y), n_queries, seed)
    qx, qy = (test_x, test_y) if pick is None else (test_x[pick], test_y[pick])
    same = nearest_linf(qx, train_x, qy, train_y, same=True)
    other = nearest_linf(qx, train_x, qy, train_y)
    return NearestClass(same.dist, other.dist, (same.stats, other.stats))


# --------------------------------------------------------------------------
# The distribution D of Section 2.1


@dataclass
class DSeparation:
    """Separation of the distribution D against the radius eps = 2 eta of Theorem 2.1."""

    eps: float  # 2 eta
    population: float  # the distribution's separation (min distance over its supports)
    sample: float  # min l_inf distance between differently labelled points of a sample
    n: int  # sample size

    @property
    def separated_at_eps(self) -> bool:
        """Whether D is eps-separated: differently labelled points at least 2 eps apart."""
        return self.population >= 2 * self.eps


def d_separation(dist: theory.Distribution, *, n: int = 2000, seed: int = 0) -> DSeparation:
    """D's separation, exact for the population and measured on a sample of ``n``.

    Population: for p < 1 both classes put mass on x1 = +1 and x1 = -1 and
    the weak features are Gaussian (full support), so the two class
    supports coincide: the separation is 0 and D is r-separated for no
    r > 0, in particular not at eps = 2 eta; that is why Theorem 2.1 can
    hold. For p = 1 the robust feature x1 = y alone puts the classes 2 apart.
    A finite sample is another matter: in high dimension independent points
    are far apart in l_inf, so a sample can look separated while the
    distribution is not; the measured value is returned beside the exact one.
    """
    eps = 2 * dist.eta
    population = 0.0 if dist.p < 1 else 2.0
    x, y = dist.sample(n, generator=torch.Generator().manual_seed(seed))
    found = nearest_linf(x, x, y.long(), y.long())
    return DSeparation(eps, population, float(found.dist.min()), n)
