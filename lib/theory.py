"""Closed forms for the distribution D of Section 2.1 (eq. 3).

y is uniform in {-1, +1}; x1 = y with probability p, else -y (the robust
feature); x2..x_{d+1} are i.i.d. N(eta * y, 1) (the weak, non-robust
features). Every classifier here is linear through the origin,
f(x) = sign(w^T x) with w = (w1, w2, ..., w_{d+1}). Because D is symmetric in
y, its accuracy depends on w only through w1, S = sum_{i>=2} w_i and
sigma = ||w_{2..}||_2:

    P[y w^T x > 0] = p Phi((w1 + eta S) / sigma) + (1 - p) Phi((-w1 + eta S) / sigma)

Two adversaries, both l_inf with radius eps:

- ``"shift"``: the paper's adversary of Theorem 2.1 and Appendix C. It moves
  every weak feature by -eps * y and leaves x1 alone, so S's term becomes
  (eta - eps) S. It is one fixed perturbation, the same for every classifier.
- ``"ball"``: the exact worst case of a linear classifier over the whole
  l_inf ball, x1 included. The margin y w^T x drops by eps * ||w||_1.

For a classifier whose weak weights are all >= 0 and whose w1 = 0 the two
agree. The ball adversary is never weaker. Accuracies here count a margin of
exactly 0 as an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize, stats

from lib.data import check_distribution, sample_d

ADVERSARIES = ("shift", "ball")


def Phi(z):  # noqa: N802 (the paper's name for the normal CDF)
    """The standard normal CDF."""
    return stats.norm.cdf(z)


@dataclass(frozen=True)
class Distribution:
    """The distribution D(p, d, eta); eps and eta are in feature units."""

    p: float  # probability that x1 = y, in [0.5, 1]
    d: int  # number of weak features x2..x_{d+1}
    eta: float  # mean of y * x_i for i >= 2

    def __post_init__(self):
        check_distribution(self.p, self.d, self.eta)

    @classmethod
    def scaled(cls, p: float, d: int, eta_scale: float) -> Distribution:
        """D with eta = eta_scale / sqrt(d), the paper's parametrization."""
        if not eta_scale >= 0:
            raise ValueError(f"eta_scale must be >= 0, got {eta_scale!r}")
        return cls(p, d, eta_scale / math.sqrt(d))

    def sample(self, n: int, *, generator=None, device="cpu"):
        """``n`` samples (x [n, d+1], y in {-1, +1}); see :func:`lib.data.sample_d`."""
        return sample_d(n, p=self.p, d=self.d, eta=self.eta, generator=generator, device=device)


def _check_eps(eps: float) -> float:
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    return float(eps)


def _check_adversary(adversary: str) -> str:
    if adversary not in ADVERSARIES:
        raise ValueError(f"unknown adversary {adversary!r}; allowed: {', '.join(ADVERSARIES)}")
    return adversary


def _split(w, d: int) -> tuple[float, float, float, float]:
    """(w1, S, sigma, ||w_{2..}||_1) of a weight vector of length d + 1."""
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (d + 1,):
        raise ValueError(f"w must have shape ({d + 1},) for d={d}, got {w.shape}")
    rest = w[1:]
    return float(w[0]), float(rest.sum()), float(np.linalg.norm(rest)), float(np.abs(rest).sum())


def _prob_positive(mean: float, sigma: float) -> float:
    """P[N(mean, sigma^2) > 0], with sigma = 0 the indicator of mean > 0."""
    if sigma == 0:
        return float(mean > 0)
    return float(Phi(mean / sigma))


def linear_accuracy(w, dist: Distribution, eps: float = 0.0, adversary: str = "shift") -> float:
    """Exact accuracy of sign(w^T x) on D, clean (eps = 0) or under an adversary."""
    eps = _check_eps(eps)
    _check_adversary(adversary)
    w = np.asarray(w, dtype=np.float64)
    if adversary == "shift":
        direction = np.concatenate([[0.0], np.ones(dist.d)])
    else:
        direction = np.sign(w)
    return accuracy_under_shift(w, dist, eps * direction)


def accuracy_under_shift(w, dist: Distribution, u) -> float:
    """Exact accuracy of sign(w^T x) when every sample is moved to x - y * u.

    ``u`` is a fixed vector (feature units): eps times (0, 1, ..., 1) is the
    paper's shift adversary, eps * sign(w') the worst case of another linear
    classifier w', which is how adversarial examples transfer (T6). The
    margin y w^T x loses w^T u, whatever y is.
    """
    w1, s, sigma, _ = _split(w, dist.d)
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (dist.d + 1,):
        raise ValueError(f"u must have shape ({dist.d + 1},), got {u.shape}")
    loss = float(np.asarray(w, dtype=np.float64) @ u)
    weak = dist.eta * s - loss
    return dist.p * _prob_positive(w1 + weak, sigma) + (1 - dist.p) * _prob_positive(
        -w1 + weak, sigma
    )


# --------------------------------------------------------------------------
# The classifiers of Section 2.1


def w_avg(dist: Distribution) -> np.ndarray:
    """w_unif = (0, 1/d, ..., 1/d): the averaging classifier f_avg of eq. (4)."""
    return np.concatenate([[0.0], np.full(dist.d, 1 / dist.d)])


def w_robust(dist: Distribution) -> np.ndarray:
    """(1, 0, ..., 0): the classifier sign(x1), which uses the robust feature only."""
    return np.concatenate([[1.0], np.zeros(dist.d)])


def w_bayes(dist: Distribution) -> np.ndarray:
    """The Bayes-optimal classifier: the log-likelihood ratio is linear,

    log P(x | y=+1) / P(x | y=-1) = x1 log(p / (1 - p)) + 2 eta sum_{i>=2} x_i.
    For p = 1, x1 alone decides (the weak weights vanish against log(p/(1-p)) = inf).
    """
    if dist.p == 1:
        return w_robust(dist)
    return np.concatenate([[math.log(dist.p / (1 - dist.p))], np.full(dist.d, 2 * dist.eta)])


def w_tradeoff(dist: Distribution, a: float) -> np.ndarray:
    """(a, (1 - a)/d, ..., (1 - a)/d) for a in [0, 1]: from f_avg (a=0) to sign(x1) (a=1)."""
    if not 0 <= a <= 1:
        raise ValueError(f"a must lie in [0, 1], got {a!r}")
    return np.concatenate([[a], np.full(dist.d, (1 - a) / dist.d)])


def f_avg_std_acc(dist: Distribution) -> float:
    """Phi(eta sqrt(d)): the standard accuracy of f_avg (Section 2.1)."""
    return float(Phi(dist.eta * math.sqrt(dist.d)))


def f_avg_adv_acc(dist: Distribution, eps: float) -> float:
    """Phi((eta - eps) sqrt(d)): f_avg against either adversary of radius eps.

    f_avg has w1 = 0 and equal positive weak weights, so the shift
    adversary is also its worst case over the ball. At eps = 2 eta this is
    Phi(-eta sqrt(d)).
    """
    return float(Phi((dist.eta - _check_eps(eps)) * math.sqrt(dist.d)))


# --------------------------------------------------------------------------
# Theorem 2.1


def tradeoff_bound(std_acc: float, p: float) -> float:
    """Theorem 2.1: robust accuracy <= p / (1 - p) * delta, delta = 1 - std_acc.

    Holds against any l_inf adversary with eps >= 2 eta, for any classifier
    (the shift adversary already attains it). Capped at 1; vacuous for p = 1.
    """
    if not 0 <= std_acc <= 1:
        raise ValueError(f"std_acc must lie in [0, 1], got {std_acc!r}")
    if not 0.5 <= p <= 1:
        raise ValueError(f"p must lie in [0.5, 1], got {p!r}")
    if p == 1:
        return 1.0
    return min(1.0, p / (1 - p) * (1 - std_acc))


# --------------------------------------------------------------------------
# Theorem 2.2: the soft-margin SVM


def _expected_hinge(a, v, mu):
    """E[max(0, a - v Z)], Z ~ N(mu, 1), v >= 0: m Phi(m/v) + v phi(m/v), m = a - v mu.

    Vectorized over numpy arrays ``a`` and ``v``; v = 0 gives max(0, a).
    """
    a, v = np.asarray(a, dtype=np.float64), np.asarray(v, dtype=np.float64)
    m = a - v * mu
    with np.errstate(divide="ignore", invalid="ignore"):
        z = m / v
        smooth = m * stats.norm.cdf(z) + v * stats.norm.pdf(z)
    return np.where(v > 0, smooth, np.maximum(m, 0.0))


def svm_distributional_loss(w1, v, dist: Distribution, eps: float = 0.0):
    """The expected hinge loss E max(0, 1 - y w^T x + eps ||w||_1) of eq. (5).

    For w = (w1, v/sqrt(d), ..., v/sqrt(d)), which Lemma D.1 shows is the form
    of every optimum (the argument holds for the adversarial loss too, as
    ||w||_1 is convex): y w^T x = w1 y x1 + v z with z ~ N(eta sqrt(d), 1), and
    ||w||_1 = |w1| + v sqrt(d). ``eps = 0`` is the standard loss. Vectorized
    over arrays ``w1`` and ``v``.
    """
    w1, v = np.asarray(w1, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if (v < 0).any():
        raise ValueError("v must be >= 0 (a negative v only raises the loss)")
    mu = dist.eta * math.sqrt(dist.d)
    penalty = _check_eps(eps) * (np.abs(w1) + v * math.sqrt(dist.d))
    loss = dist.p * _expected_hinge(1 - w1 + penalty, v, mu) + (1 - dist.p) * _expected_hinge(
        1 + w1 + penalty, v, mu
    )
    return float(loss) if loss.ndim == 0 else loss


def hinge_loss_exact(w, dist: Distribution, eps: float = 0.0) -> float:
    """The expected hinge loss E max(0, 1 - y w^T x + eps ||w||_1) of any linear ``w``.

    Unlike :func:`svm_distributional_loss` it takes any weights, not only
    equal weak ones: y w^T x = w1 y x1 + Z with Z ~ N(eta S, sigma^2) (S the
    sum, sigma the l2 norm of the weak weights). A trained SVM's loss minus
    the optimum's (:func:`svm_optimum`) says how far training got from the
    distributional optimum that Theorem 2.2 is about.
    """
    w1, s, sigma, l1_rest = _split(w, dist.d)
    penalty = _check_eps(eps) * (abs(w1) + l1_rest)
    mu = dist.eta * s / sigma if sigma > 0 else 0.0  # sigma = 0: no weak weight, S = 0
    agree = _expected_hinge(1 - w1 + penalty, sigma, mu)  # x1 = y, probability p
    disagree = _expected_hinge(1 + w1 + penalty, sigma, mu)
    return float(dist.p * agree + (1 - dist.p) * disagree)


def svm_optimum(dist: Distribution, eps: float = 0.0) -> tuple[float, float]:
    """The unit-norm minimizer (w1, v) of :func:`svm_distributional_loss`.

    The paper tunes lambda so that ||w||_2 = 1; that is minimizing the hinge
    term on the unit circle w1 = cos t, v = sin t, t in [0, pi] (v >= 0).
    Solved on a fine grid, then refined by bounded scalar minimization.
    """

    def loss(t):
        return svm_distributional_loss(np.cos(t), np.maximum(np.sin(t), 0.0), dist, eps)

    grid = np.linspace(0, math.pi, 4001)
    values = loss(grid)
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(
        loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    # The endpoints (v = 0: the robust feature alone) win ties: they are exact.
    candidates = [
        (float(values[0]), 0.0),
        (float(values[-1]), math.pi),
        (float(res.fun), float(res.x)),
        (float(values[i]), float(grid[i])),
    ]
    t = min(candidates, key=lambda c: c[0])[1]
    if t in (0.0, math.pi):
        return math.cos(t), 0.0
    return math.cos(t), math.sin(t)


def svm_weights(dist: Distribution, w1: float, v: float) -> np.ndarray:
    """The full weight vector (w1, v/sqrt(d), ..., v/sqrt(d))."""
    return np.concatenate([[w1], np.full(dist.d, v / math.sqrt(dist.d))])


def train_svm(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float = 0.0,
    steps: int = 1000,
    lr: float = 0.5,
) -> torch.Tensor:
    """Unit-norm soft-margin SVM on samples, by proximal subgradient descent.

    Minimizes the mean of max(0, 1 - y w^T x + eps ||w||_1) over
    ||w||_2 <= 1. The problem is convex, and its constraint is active at the
    optimum, which matches the paper's lambda tuned so that ||w||_2 = 1.
    ``eps > 0`` is exact adversarial training: the robust hinge loss of a
    linear model against an l_inf adversary.

    Each step takes a subgradient step on the hinge term, with step size
    lr / sqrt(t). It then soft-thresholds by the L1 term's share, lr * eps
    times the fraction of active examples, and projects onto the unit ball.
    The prox of L1 plus the ball is this composition. Plain subgradient
    steps would leave weights that should be exactly 0 oscillating around it.
    The best iterate is returned.
    """
    _check_eps(eps)
    w = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    w[0] = 1e-3  # any start inside the ball; the problem is convex
    best, best_loss = w, math.inf
    for t in range(1, steps + 1):
        slack = 1 - y * (x @ w) + eps * w.abs().sum()
        loss = float(slack.clamp(min=0).mean())
        if loss < best_loss:
            best, best_loss = w, loss
        active = (slack > 0).to(x.dtype)
        step = lr / math.sqrt(t)
        v = w + step * (x.T @ (active * y)) / len(y)
        v = v.sign() * (v.abs() - step * eps * active.mean()).clamp(min=0)
        w = v / v.norm().clamp(min=1.0)
    return best


def hinge_loss(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, eps: float = 0.0) -> float:
    """Empirical mean of max(0, 1 - y w^T x + eps ||w||_1) (eq. 5 without lambda)."""
    return float(torch.clamp(1 - y * (x @ w) + eps * w.abs().sum(), min=0).mean())


# --------------------------------------------------------------------------
# Monte Carlo


def monte_carlo_accuracy(
    w,
    dist: Distribution,
    n: int,
    *,
    eps: float = 0.0,
    adversary: str = "shift",
    generator: torch.Generator | None = None,
    chunk: int = 20_000,
) -> tuple[float, float]:
    """Accuracy of sign(w^T x) estimated on ``n`` fresh samples, and its standard error.

    The adversary acts on the samples: ``"shift"`` subtracts eps * y from
    every weak feature, ``"ball"`` subtracts eps * y * sign(w) from every
    feature (the exact linear worst case).
    """
    _check_eps(eps)
    _check_adversary(adversary)
    w = torch.as_tensor(np.asarray(w), dtype=torch.float64)
    correct = 0
    for start in range(0, n, chunk):
        x, y = dist.sample(min(chunk, n - start), generator=generator)
        x, y = x.double(), y.double()
        if eps:
            if adversary == "shift":
                x[:, 1:] -= eps * y[:, None]
            else:
                x -= eps * y[:, None] * w.sign()
        correct += int((y * (x @ w) > 0).sum())
    acc = correct / n
    return acc, math.sqrt(max(acc * (1 - acc), 1e-300) / n)
