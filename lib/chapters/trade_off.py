"""The trade-off chapter (X1-X4 of CLAIMS_BEYOND): its tables, texts, figures and claim rows.

The rules and searches live beside it: X1 and X2 in
:mod:`lib.chapters.trade_off_separation`, X3 and the frontier in
:mod:`lib.chapters.trade_off_trades`, X4 in :mod:`lib.chapters.trade_off_size`; their
names are re-exported here, so the chapter reads one module. Distances and eps are
l_inf in [0, 1] pixel space; accuracies are fractions.
"""

from __future__ import annotations

import math

import pandas as pd

from lib import chapter, data
from lib.chapters import trade_off_trades as x3
from lib.chapters.trade_off_separation import (
    ABSENT,
    BOUND,
    DATASETS,
    EPS,
    EXACT,
    PAPER_EPS,
    PUBLISHED,
    SEARCH,
    SHORT,
    X1_TOL,
    certified_table,
    d_separation,
    from_metrics,
    searched,
    two_eps_part,
    x1_by_dataset,
    x1_judgement,
    x1_minimum,
    x1_part,
    x1_parts,
    x2_judgement,
)
from lib.chapters.trade_off_size import (
    X4_MIN_N,
    X4_REGIME,
    equal_steps,
    x4_configs,
    x4_described,
    x4_parts,
    x4_prices,
    x4_regime_cost,
    x4_regime_prices,
    x4_row,
    x4_status,
    x4_trend,
)

__all__ = [
    "ABSENT",
    "BOUND",
    "DATASETS",
    "EPS",
    "EXACT",
    "PAPER_EPS",
    "PUBLISHED",
    "SEARCH",
    "SHORT",
    "X1_TOL",
    "X4_MIN_N",
    "X4_REGIME",
    "certified_table",
    "d_separation",
    "equal_steps",
    "from_metrics",
    "reproduction_rows",
    "searched",
    "separation_figure",
    "separation_table",
    "two_eps_part",
    "x1_by_dataset",
    "x1_glued",
    "x1_judgement",
    "x1_minimum",
    "x1_part",
    "x1_parts",
    "x1_text",
    "x2_judgement",
    "x2_text",
    "x4_configs",
    "x4_described",
    "x4_parts",
    "x4_prices",
    "x4_regime_cost",
    "x4_regime_prices",
    "x4_row",
    "x4_status",
    "x4_trend",
]


def x1_glued(results: dict) -> dict:
    """X1's glued values per data set: the minima (nan where not run) and how each was
    found, the queries and references searched, the exact searches' pairs and seconds."""
    glued = {}
    for name, r in results.items():
        nc, tt = r["nc"], r["tt"]
        glued[f"X1_{name}_search_seconds"] = r["seconds"]
        for kind, tag in (("test-train", "test_train"), ("train-train", "train_train")):
            value, how, _ = x1_minimum(name, r, kind)
            glued[f"X1_{name}_{tag}"] = value
            glued[f"X1_{name}_{tag}_how"] = how
            found = r["exact"].get(kind)
            if found is not None:
                glued[f"X1_{name}_{tag}_pairs"] = found.pairs
                glued[f"X1_{name}_{tag}_candidates"] = found.candidates
                glued[f"X1_{name}_{tag}_pruned"] = found.pruned
                glued[f"X1_{name}_{tag}_seconds"] = found.seconds
        glued[f"X1_{name}_test_queries"] = len(nc.d_other)
        glued[f"X1_{name}_train_queries"] = tt.queries
        glued[f"X1_{name}_refs"] = r["n_ref"]
        glued[f"X1_{name}_n_test"] = r["n_test"]
        # The sampled search's seconds per query (a test query is searched twice: its own
        # class and the others), times every training image as a query: what the exact
        # train-train minimum would cost by that search.
        queries = 2 * len(nc.d_other) + tt.queries
        per_query = r["seconds"] / queries if queries and not r["exact"] else math.nan
        full = data.FULL_SIZES[name]["train"]
        glued[f"X1_{name}_brute_hours"] = per_query * full / 3600
        glued[f"X1_{name}_n_train"] = full
    return glued


def separation_table(results: dict) -> pd.DataFrame:
    """X1's table: our minima (and how each was found) beside the published ones and 2 eps,
    one column per data set."""
    table = {}
    for name, r in results.items():
        te, te_how, te_what = x1_minimum(name, r, "test-train")
        tt, tt_how, tt_what = x1_minimum(name, r, "train-train")
        table[name] = {
            "test-train (ours)": te,
            "test-train: how": te_what if te_how != EXACT else te_what,
            "test-train (published)": PUBLISHED[name][1],
            "train-train (ours)": tt,
            "train-train: how": tt_what,
            "train-train (published)": PUBLISHED[name][0],
            "2 eps": 2 * PAPER_EPS[name],
            "1-NN test queries": len(r["nc"].d_other),
            "training images searched": r["n_ref"],
        }
    return pd.DataFrame(table)


def x1_text(results: dict) -> str:
    """X1's sentences under the table (glued as markdown): per data set, the minima and how
    they were found, the exact searches' pruning and time."""
    out = []
    for name, r in results.items():
        label, pub, two_eps = SHORT[name], PUBLISHED[name], 2 * PAPER_EPS[name]
        te, te_how, te_what = x1_minimum(name, r, "test-train")
        tt, tt_how, tt_what = x1_minimum(name, r, "train-train")
        known = [v for v, how in ((te, te_how), (tt, tt_how)) if how != ABSENT]
        side = "above" if known and min(known) > two_eps else "not above"
        parts = [f"train-train {tt:.3f} ({tt_what}; published {pub[0]:.3f})"]
        parts.append(
            f"test-train {te:.3f} ({te_what}; published {pub[1]:.3f})"
            if te_how != ABSENT
            else f"test-train {te_what}"
        )
        kinds = {te_how, tt_how} - {ABSENT}
        if kinds == {EXACT}:
            verdict = f"exact, {side} 2 eps = {two_eps:.3f}"
        elif EXACT in kinds:
            verdict = f"partly exact, {side} 2 eps = {two_eps:.3f} where searched"
        else:
            verdict = f"upper bounds only ({side} 2 eps = {two_eps:.3f} in the sample)"
        text = f"**{label}**: {'; '.join(parts)}: {verdict}."
        found = [(k, f) for k, f in r["exact"].items()]
        if found:
            kept = " and ".join(
                f"{f.candidates / f.pairs:.3%} of the {f.pairs:,} {k} pairs" for k, f in found
            )
            secs = sum(f.seconds for _, f in found)
            text += (
                f" The prefilter left {kept} to compute exactly; the exact searches took "
                f"{secs:.0f} s."
            )
        out.append(text)
    return "\n\n".join(out)


def x2_text(results: dict) -> str:
    """X2's sentences under the certified table (glued as markdown): the premise on the
    training images, and what the same classifier does on test images."""
    r, two_eps = results["mnist"], 2 * PAPER_EPS["mnist"]
    nc = r["nc"]
    tt, tt_how, tt_what = x1_minimum("mnist", r, "train-train")
    te, te_how, _ = x1_minimum("mnist", r, "test-train")
    if tt_how == EXACT and tt > two_eps:
        premise = (
            f"MNIST's train-train separation, {tt:.3f} ({tt_what}), is above 2 x 0.3 = "
            f"{two_eps:.1f}: the nearest-class classifier is certified at 0.3 on every one "
            f"of the {r['n_ref']:,} training images, so X2's premise holds there."
        )
    elif tt_how == ABSENT:
        premise = "No MNIST training image was searched: X2's premise is not checked."
    else:
        premise = (
            f"MNIST's train-train separation found here is {tt:.3f} ({tt_what}) against "
            f"2 x 0.3 = {two_eps:.1f}: "
            + (
                "an upper bound, so the premise is not established."
                if tt > two_eps
                else "a pair of differently labelled training images that close fails the premise."
            )
        )
    test = (
        f"On test images the same classifier is {nc.std_acc:.1%} accurate and "
        f"{nc.certified_acc(0.3):.1%} certified at 0.3 ({len(nc.d_other):,} sampled test "
        f"points). The median test point lies {float(nc.d_same.median()):.2f} from its "
        f"nearest training image of its own class and {float(nc.d_other.median()):.2f} "
        f"from the nearest of another; a certificate at 0.3 needs the second to exceed the "
        f"first by {two_eps:.1f}."
    )
    if te_how == EXACT and te > two_eps:
        test += (
            f" The test-train separation, {te:.3f} over every pair, does make a classifier "
            "accurate and robust at 0.3 on the training and test images together exist "
            "(Yang et al.'s argument), but that classifier is built knowing the test images."
        )
    return (
        f"{premise} {test} Separation says such a classifier exists; it does not say one "
        "is learned from the training images, which is what accuracy measured on test "
        "images asks. X2's verdict below is a check of the theorem's premise only; the "
        "test-image numbers are reported beside it, not judged."
    )


def separation_figure(results: dict):
    """X1's histograms, one per data set: each searched test point's l_inf distance to the
    nearest training image of another class, with 2 eps and the published minimum."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, name in zip(axes, results, strict=True):
        d = results[name]["nc"].d_other.numpy()
        two_eps, published = 2 * PAPER_EPS[name], PUBLISHED[name][1]
        ax.hist(d, bins=40, range=(0, 1), color="C0")  # l_inf distances of images in [0, 1]
        ax.axvline(two_eps, color="C3", ls="--", label=f"2 eps = {two_eps:.3f}")
        ax.axvline(published, color="k", ls=":", label=f"published min {published}")
        ax.set_title(f"{name}: {len(d):,} test points")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("test points")
    fig.supxlabel("l_inf distance to the nearest training image of another class")
    fig.tight_layout()
    return fig


def reproduction_rows(results: dict, dsep, x3_by_ds: dict, x4: dict, betas) -> list[dict]:
    """The rows X1 (one per data set), X2, X3 (one per data set) and X4 (``x4``:
    :func:`x4_row`'s row) from the sections' results."""
    x1 = x1_by_dataset(results)
    x2 = x2_judgement(results, dsep)
    m = results["mnist"]
    tt, _, tt_what = x1_minimum("mnist", m, "train-train")
    rows = []
    for name, res in results.items():
        te_v, _, te_what = x1_minimum(name, res, "test-train")
        tt_v, _, tt_what_ds = x1_minimum(name, res, "train-train")
        pub = PUBLISHED[name]
        rows.append(
            x1[name].row(
                "X1",
                f"train-train / test-train: {SHORT[name]} {pub[0]:.3f} / {pub[1]:.3f} "
                f"(slides), both > 2 eps = {2 * PAPER_EPS[name]:.3f}",
                f"{SHORT[name]} train-train {tt_v:.3f} ({tt_what_ds}); test-train "
                + (f"{te_v:.3f} ({te_what})" if not math.isnan(te_v) else te_what),
            )
        )
    nc = m["nc"]
    rows.append(
        x2.row(
            "X2",
            "on separated data an accurate and robust classifier exists; "
            "D is not separated (a check of the theorem's premises)",
            # On its own training points the nearest-class classifier has d_same = 0, so each
            # is certified at every eps below half its distance to the other classes: all of
            # them at the paper's eps when the train-train separation exceeds 2 eps. Test
            # points are not the premise: their numbers are described, not judged.
            f"MNIST train-train separation {tt:.3f} ({tt_what}) against 2 x 0.3; "
            f"D separation {dsep.population} < 2 eps; not judged, test data: 1-NN "
            f"{nc.std_acc:.1%} accurate, {nc.certified_acc(0.3):.1%} certified at 0.3 "
            f"({len(nc.d_other):,} test points)",
        )
    )
    rows += [
        judged.row(
            "X3",
            "larger beta: more robust, less accurate",
            "; ".join(
                f"beta {b:g}: {sd:.1%} / {a:.1%}"
                for b, sd, a in zip(betas, stds, advs, strict=True)
            )
            + f" (std / strong robust at {chapter.eps_label(ds, x3.TRADES_EPS[ds])}, {ds})",
        )
        for ds, (judged, stds, advs) in x3_by_ds.items()
    ]
    rows.append(x4)
    return rows
