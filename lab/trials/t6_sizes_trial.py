"""At which training sizes do standard SVMs on D disagree on the weak weights' signs?

The theory chapter's T6 (transfer between SVMs) can only fail where the SVMs' exact
attacks x - eps y sign(w_i) differ. For each n this trains 5 standard SVMs (1,000 steps,
as the cpu profile) on Theorem 2.2's D (p = 0.95, d = 1000, eta = 4 / sqrt(d)) and prints
the share of weak weights with a negative sign, the share whose sign differs between two
SVMs, their standard accuracy, their distributional hinge loss above the optimum, and
the attacks' success on their own SVM and on the others. Prints; writes no file.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python lab/trials/t6_sizes_trial.py
"""

import numpy as np
import torch

from lib import theory as T
from lib.chapters import theory as C

SIZES = (10, 20, 30, 50, 100, 200, 400, 500, 2000)


def main():
    g = torch.Generator().manual_seed(0)
    dist = T.Distribution.scaled(0.95, 1000, 4.0)
    eps = 2 * dist.eta
    for n in SIZES:
        ws = [
            T.train_svm(*dist.sample(n, generator=g), steps=1000).double().numpy() for _ in range(5)
        ]
        row, _ = C.transfer_at(ws, dist, eps, n)
        negative = np.mean([(w[1:] < 0).mean() for w in ws])
        excess = np.mean([C.describe_svm(w, dist, eps)["hinge loss above the optimum"] for w in ws])
        print(
            f"n={n}: negative {negative:.3f}, differing {row['weak signs differing']:.3f}, "
            f"least std acc {row['least standard accuracy']:.4f}, hinge above optimum "
            f"{excess:.4f}, own {row['own attack']:.4f}, transfer {row['transfer']:.4f} "
            f"+- {row['transfer SE']:.4f} (least {row['least transfer']:.4f})"
        )


if __name__ == "__main__":
    main()
