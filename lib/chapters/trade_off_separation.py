"""The trade-off chapter's X1 and X2: how far apart the classes are, and what that buys.

X1: the l_inf separation of MNIST and CIFAR-10, per data set: the nearest-class searches
of a sample of queries (:mod:`lib.separation`) and, where its prefilter works (MNIST),
the exact minimum over every pair (:mod:`lib.exact_separation`), stored
(:func:`searched`); each minimum is exact, an upper bound, or not run
(:func:`x1_minimum`), and only exact minima decide "> 2 eps". X2: the nearest-class
classifier's certified accuracy, the separation of the theory chapter's D, and X2 judged
as a check of its premises (:func:`x2_judgement`). Distances and eps are l_inf in
[0, 1] pixel space; accuracies are fractions.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import torch

from lib import data, exact_separation, separation, theory, verdicts
from lib.paper import beyond, section2
from lib.paper import tables as paper_tables

DATASETS = ("mnist", "cifar10")


#: Queries searched per data set at each profile: (test points, training points), each
#: against every training image ("refs": a seeded subset of them; None: all). These
#: nearest-class searches give X2's classifier and X1's histograms. "exact": the data sets
#: whose minima are also found by the exact threshold search over every pair
#: (:func:`lib.exact_separation.exact_min_distance`; its prefilter needs MNIST's blank
#: background); their sampled train-train search is left out (0 queries): the exact
#: minimum makes it redundant. CIFAR-10's exact train-train minimum is not searched: on
#: natural images the prefilter prunes nothing, and brute force (1.25e9 pairs of 3,072
#: pixels) is too costly at `cpu`; its test-train minimum needs the 10,000 test images
#: we do not have.
SEARCH = {
    "smoke": {"refs": 2000, "mnist": (50, 0), "cifar10": (20, 20), "exact": ("mnist",)},
    "cpu": {"refs": None, "mnist": (500, 0), "cifar10": (200, 100), "exact": ("mnist",)},
    "paper": {"refs": None, "mnist": (None, 0), "cifar10": (None, None), "exact": ("mnist",)},
}


#: X1's published separations (the first author's slides): (train-train, test-train).
PUBLISHED = beyond.SEPARATION


#: X1's tolerance: an exact minimum within this of the published one matches (pixels are
#: multiples of 1/255 = 0.0039; the slides print three decimals).
X1_TOL = 0.02

#: How a minimum was found (:func:`x1_minimum`): over every pair, a sample's upper bound,
#: or not at all.
EXACT, BOUND, ABSENT = "exact", "upper bound", "not run"

#: X2's radii of certified accuracy, per data set.
EPS = {ds: list(paper_tables.TABLE4_EPS[(ds, "inf")]) for ds in DATASETS}  # Table 4's l_inf

#: The paper's l_inf eps (Table 4's largest): 2 eps is marked on X1's histograms; TRADES
#: trains at it (X3).
PAPER_EPS = {ds: paper_tables.TABLE4_EPS[(ds, "inf")][-1] for ds in DATASETS}

SHORT = paper_tables.SHORT_NAMES


def searched(name: str, sizes: dict, *, seed: int, store) -> dict:
    """The separation searches of one data set at ``sizes`` (a :data:`SEARCH` entry), from
    the store or computed and stored (keyed by the data's fingerprints and the sizes):
    ``nc`` (:class:`lib.separation.NearestClass` of the test queries), ``tt`` (the
    train-train :class:`lib.separation.Separation`), ``exact`` (``{"test-train": ...,
    "train-train": ...}`` of :class:`lib.exact_separation.ExactMinimum`, or ``{}``), ``n_ref``,
    ``n_test``, ``seconds``."""
    n_test, n_train = sizes[name]
    exact = name in sizes.get("exact", ())
    key = {
        "separation_search": 1,
        "dataset": name,
        "data": data.fingerprints(name),
        "refs": sizes["refs"],
        "test_queries": n_test,
        "train_queries": n_train,
        "seed": seed,
    }
    if exact:  # only then: the keys of the other searches stay as they were
        key["exact_search"] = 1

    def compute() -> dict:
        tr, te = data.load(name, "train"), data.load(name, "test")
        if sizes["refs"] is not None:
            tr = tr.subset(sizes["refs"], seed=seed)
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
        if exact:
            found = {
                "test-train": exact_separation.exact_min_distance(
                    te.x, te.y, tr.x, tr.y, seed=seed
                ),
                "train-train": exact_separation.exact_min_distance(
                    tr.x, tr.y, tr.x, tr.y, symmetric=True, seed=seed
                ),
            }
            metrics["exact"] = {k: dataclasses.asdict(v) for k, v in found.items()}
            metrics["seconds"] += sum(v.seconds for v in found.values())
        return {"metrics": metrics}

    return from_metrics(store.get_or_run(key, compute).metrics)


def from_metrics(m: dict) -> dict:
    """:func:`searched`'s result from its stored metrics."""
    stats = separation.SearchStats()
    nc = separation.NearestClass(
        torch.tensor(m["d_same"]), torch.tensor(m["d_other"]), (stats, stats)
    )
    dists = torch.tensor(m["tt_dists"])
    low = float(dists.min()) if len(dists) else math.inf
    tt = separation.Separation(low, dists, len(dists), m["tt_of"], stats)
    exact = {
        k: exact_separation.ExactMinimum(**{**v, "pair": tuple(v["pair"])})
        for k, v in (m.get("exact") or {}).items()
    }
    return {"nc": nc, "tt": tt, "n_ref": m["n_ref"], "n_test": m["n_test"], **m, "exact": exact}


def x1_minimum(name: str, res: dict, kind: str) -> tuple[float, str, str]:
    """One minimum of X1 and how it was found: ``(value, how, what)``, ``how`` one of
    :data:`EXACT` (over every pair of the whole data), :data:`BOUND` (over a sample of
    queries or references: only an upper bound on the minimum) or :data:`ABSENT`
    (test-train where the test set here is not the whole one; or nothing searched).
    ``what`` says what was searched, for the reproduction table."""
    full = data.FULL_SIZES[name]
    all_refs = res["n_ref"] >= full["train"]
    if kind == "test-train":
        if res["n_test"] < full["test"]:
            return (
                math.nan,
                ABSENT,
                f"not run here ({res['n_test']:,} of {full['test']:,} test images)",
            )
        found, searched_all = res["exact"].get(kind), len(res["nc"].d_other) >= res["n_test"]
        sample = (
            float(res["nc"].d_other.min()) if len(res["nc"].d_other) else math.inf,
            len(res["nc"].d_other),
        )
    else:
        found, searched_all = res["exact"].get(kind), res["tt"].queries >= res["tt"].of
        sample = (res["tt"].min_dist, res["tt"].queries)
    if found is not None and all_refs:
        return found.min_dist, EXACT, f"exact over {found.pairs:,} pairs"
    if found is not None:  # exact over a subset of the references: still a sample
        return found.min_dist, BOUND, f"over {res['n_ref']:,} of {full['train']:,} training images"
    if sample[1] == 0:
        return math.nan, ABSENT, "nothing searched"
    if searched_all and all_refs:
        return sample[0], EXACT, f"exact over {sample[1]:,} queries"
    return sample[0], BOUND, f"over {sample[1]:,} queries"


def x1_part(ours: float, pub: float, how: str, name: str) -> verdicts.Judgement:
    """One separation against the published one. Exact (:data:`EXACT`): within
    :data:`X1_TOL` of it (no SE: every pair was searched). An upper bound (:data:`BOUND`, a
    sample): below the published minimum beyond the tolerance it refutes (a real pair that
    close), otherwise it is inconclusive (the full minimum may lie anywhere below it).
    :data:`ABSENT`: not run."""
    if how == ABSENT:
        return verdicts.Judgement(verdicts.NOT_RUN, (), "not searched here")
    judged = verdicts.matches(ours, pub, tol=X1_TOL, name=name)
    if how == BOUND and not ours < pub - X1_TOL:
        why = "a sampled search's minimum only bounds the full minimum from above"
        return verdicts.Judgement(verdicts.INCONCLUSIVE, judged.numbers, why, verdicts.BOUND_ONLY)
    return judged


def two_eps_part(values: list[tuple[float, str]], two_eps: float, name: str):
    """A data set separated by more than 2 eps: its smallest minimum (``values``: (value,
    how) of :func:`x1_minimum`, absent ones left out) above ``two_eps``. Any minimum at or
    below it refutes (a real pair that close, sampled or not); above it, only minima over
    every pair decide, and an upper bound leaves it inconclusive."""
    found = [(v, how) for v, how in values if how != ABSENT]
    if not found:
        return verdicts.Judgement(verdicts.NOT_RUN, (), "not searched here")
    low = min(v for v, _ in found)
    judged = verdicts.exceeds(low, two_eps, name=name)
    if judged.verdict == verdicts.REPRODUCED and any(how == BOUND for _, how in found):
        why = f"{low:.3g} > {two_eps:.3g} over a sample only bounds the separation from above"
        return verdicts.Judgement(verdicts.INCONCLUSIVE, judged.numbers, why, verdicts.BOUND_ONLY)
    return judged


def x1_parts(name: str, res: dict) -> dict:
    """X1's parts for one data set: each minimum against the published one, and the data
    set's separation above 2 eps."""
    label, pub = SHORT[name], PUBLISHED[name]
    parts, found = {}, []
    for kind, published in (("train-train", pub[0]), ("test-train", pub[1])):
        value, how, _ = x1_minimum(name, res, kind)
        parts[f"{label} {kind}"] = x1_part(value, published, how, f"{label} {kind}")
        found.append((value, how))
    two_eps = 2 * PAPER_EPS[name]
    parts[f"{label} > 2 eps"] = two_eps_part(found, two_eps, f"{label} sep")
    return parts


def x1_by_dataset(results: dict) -> dict[str, verdicts.Judgement]:
    """X1 per data set: each of its parts (:func:`x1_parts`) holds."""
    return {name: verdicts.all_hold(x1_parts(name, res)) for name, res in results.items()}


def x1_judgement(results: dict) -> verdicts.Judgement:
    """X1 over both data sets: every part of each (:func:`x1_parts`) holds."""
    return verdicts.all_hold(
        {k: j for name, res in results.items() for k, j in x1_parts(name, res).items()}
    )


def certified_table(results: dict) -> tuple[pd.DataFrame, dict]:
    """The nearest-class classifier's accuracy per eps (eps 0: standard; eps > 0: certified
    robust), one column per data set; and X2's glued values."""
    rows, glued = [], {}
    for name, r in results.items():
        nc = r["nc"]
        rows.append({"data set": name, "eps": 0.0, "accuracy": nc.std_acc})
        for e in EPS[name]:
            rows.append({"data set": name, "eps": round(e, 4), "accuracy": nc.certified_acc(e)})
        glued[f"X2_{name}_std"] = nc.std_acc
        glued[f"X2_{name}_cert_paper_eps"] = nc.certified_acc(PAPER_EPS[name])
    table = pd.DataFrame(rows).pivot(index="eps", columns="data set", values="accuracy")
    return table, glued


def d_separation(profile: str, seed: int) -> tuple[separation.DSeparation, dict]:
    """The separation of the theory chapter's D (Section 2's p and eta scale, d 1000) against
    eps = 2 eta, on a sample of 200 (smoke) or 2,000 points; and its glued values."""
    dist = theory.Distribution.scaled(section2.P, 1000, section2.ETA_SCALE)
    dsep = separation.d_separation(dist, n=200 if profile == "smoke" else 2000, seed=seed)
    glued = {
        "X2_D_eps": dsep.eps,
        "X2_D_sample_sep": dsep.sample,
        "X2_D_population_sep": dsep.population,
        "X2_D_n": dsep.n,
    }
    return dsep, glued


def x2_judgement(results: dict, dsep) -> verdicts.Judgement:
    """X2 as a check of its premises (it is a theorem: on r-separated data an accurate and
    r-robust classifier exists). MNIST's training images of different classes more than
    2 x 0.3 apart (so the nearest-class classifier is certified at 0.3 on every one of
    them), and D's classes not separated at 2 eps. The first from :func:`x1_minimum`'s
    train-train minimum: exact, it decides; an upper bound at or below 2 x 0.3 refutes (a
    real pair), above it is inconclusive; nothing searched: not run. Test data are not
    the theorem's premise: their numbers are reported beside it, not judged."""
    two_eps = 2 * PAPER_EPS["mnist"]
    value, how, what = x1_minimum("mnist", results["mnist"], "train-train")
    if how == ABSENT:
        return verdicts.Judgement(verdicts.NOT_RUN, (), "no training point searched")
    parts = {
        "MNIST separated": two_eps_part([(value, how)], two_eps, "MNIST train-train sep"),
        "D not separated": verdicts.below(dsep.population, 2 * dsep.eps, name="D sep"),
    }
    return verdicts.all_hold(parts)
