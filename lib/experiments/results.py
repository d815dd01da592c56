"""The metrics of a grid's stored runs, queried for the chapters.

:class:`Results` holds ``{RunConfig: metrics}`` (the metrics of
:func:`lib.experiments.runs.train_run`) and answers by data set, norm, eps, mix and n,
with the mean and standard error over seeds.
"""

from __future__ import annotations

import math
import statistics

from lib.attacks import check_norm
from lib.experiments.runs import RunConfig, train_run
from lib.experiments.store import Store


class Results:
    """The metrics of a grid's runs, queried by data set, norm, eps, mix and n.

    ``Results({config: metrics})`` (the metrics of :func:`train_run`). A
    query names one configuration up to its seed and returns every seed's
    metrics; :meth:`mean_spread` and :meth:`mean_se` summarize one metric
    over the seeds.
    """

    def __init__(self, runs: dict[RunConfig, dict], keys: dict[RunConfig, str] | None = None):
        self.runs = dict(runs)
        #: Each run's store key as its plan made it (:meth:`of`), for a reader that
        #: goes back to the store: carried, not derived again.
        self.keys = dict(keys or {})

    @classmethod
    def of(cls, configs, *, device=None, store: Store | None = None, progress=None) -> Results:
        """Train or load every config (``progress`` wraps the iteration, e.g. tqdm)."""
        it = (progress or (lambda x: x))(list(configs))
        stored = {c: train_run(c, store=store, device=device, progress=False)[1] for c in it}
        return cls({c: r.metrics for c, r in stored.items()}, {c: r.key for c, r in stored.items()})

    def metrics(self, dataset, norm="inf", eps=0.0, mix=None, n=None, bn_mode="eval") -> list:
        """Metrics of every seed of one configuration (a clean run when eps is 0)."""
        mix = mix or ("adversarial" if eps else "clean")
        norm = check_norm(norm)
        found = [
            m
            for c, m in self.runs.items()
            if c.dataset == dataset
            and c.mix == mix
            and c.bn_mode == bn_mode
            and (mix == "clean" or (c.norm == norm and math.isclose(c.eps_train, eps)))
            and c.n_train == n
        ]
        if not found:
            raise KeyError((dataset, norm, eps, mix, n))
        return found

    def mean_spread(self, metric: str, *args, **kwargs) -> tuple[float, float]:
        """Mean of ``metric`` over seeds and its spread (population std; 0 for one seed)."""
        values = [m[metric] for m in self.metrics(*args, **kwargs)]
        return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0

    def mean_se(self, metric: str, *args, **kwargs) -> tuple[float, float]:
        """Mean of an accuracy and its standard error: over seeds when there are
        several (sample std / sqrt(k)), else binomial over the test images."""
        ms = self.metrics(*args, **kwargs)
        values = [m[metric] for m in ms]
        mean = statistics.fmean(values)
        if len(values) > 1:
            return mean, statistics.stdev(values) / math.sqrt(len(values))
        # robust accuracy may be measured on fewer images than standard accuracy
        n = ms[0].get("n_test_robust") if metric.startswith("adv") else None
        return mean, math.sqrt(mean * (1 - mean) / (n or ms[0]["n_test"]))

    def sizes(self, dataset) -> tuple[int, int, bool]:
        """The largest training set, the test size, and whether any run used a subset."""
        ms = [m for c, m in self.runs.items() if c.dataset == dataset]
        subset = not all(m["train_complete"] and m["test_complete"] for m in ms)
        return max(m["n_train"] for m in ms), ms[0]["n_test"], subset
