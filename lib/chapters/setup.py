"""The setup chapter's tables, glued values and claim rows (the paper's Appendix A).

``book/setup.py`` carries the argument; this module reads every setting from the
library the other chapters run with (:mod:`lib.experiments.profiles`, :mod:`lib.models`,
:mod:`lib.data`), so the tables show the settings those chapters use. Glued values come
back as ``{name: value}`` of plain Python numbers; eps is in [0, 1] pixel space. The
claim rows are setup facts (``checked``): each value beside the reference's (:data:`LEDGER`).
"""

from __future__ import annotations

import warnings

import pandas as pd
import torch

from lib import claims, data, models
from lib import verdicts as V
from lib.chapter import norm_label
from lib.data import imagenet
from lib.experiments import profiles
from lib.paper import code as paper_code
from lib.paper import tables as paper_tables
from lib.paper.claims import eps_text

DATASETS = ("mnist", "binary_mnist", "cifar10")  # the data sets the chapter loads
RI = "restricted_imagenet"

#: The reference values the setup facts are checked against (from the authors' code
#: and the paper, worked out by hand; :data:`lib.paper.code.SETUP_LEDGER`).
LEDGER = paper_code.SETUP_LEDGER

#: The authors' released l_inf PGD: (steps, step size / eps), by (data set, use)
#: (:data:`lib.paper.code.AUTHORS_PGD`).
AUTHORS_PGD = paper_code.AUTHORS_PGD


# --------------------------------------------------------------------------
# Data sets (Appendix A.1)


def load_all(names=DATASETS) -> tuple[dict, list[str]]:
    """Every split of each data set, ``{name: {split: dataset}}``, and the distinct
    messages of the subset warnings raised while loading (a subset of the official data)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", data.SubsetWarning)
        loaded = {name: {split: data.load(name, split) for split in data.SPLITS} for name in names}
    notes = {str(w.message) for w in caught if issubclass(w.category, data.SubsetWarning)}
    return loaded, sorted(notes)


def sizes_table(loaded: dict) -> pd.DataFrame:
    """One row per data set: classes, image shape, train and test sizes, and whether both
    splits are the complete official ones."""
    return pd.DataFrame(
        [
            {
                "data set": name,
                "classes": splits["train"].num_classes,
                "image": "x".join(map(str, splits["train"].x.shape[1:])),
                "train": len(splits["train"]),
                "test": len(splits["test"]),
                "complete": splits["train"].complete and splits["test"].complete,
            }
            for name, splits in loaded.items()
        ]
    ).set_index("data set")


def sizes_glued(loaded: dict) -> dict:
    """The training-set sizes, and whether CIFAR-10 is complete."""
    train = {f"setup_{n}_train_size": len(loaded[n]["train"]) for n in DATASETS}
    return train | {"setup_cifar10_complete": bool(sizes_table(loaded).loc["cifar10", "complete"])}


def one_per_class(ds, generator: torch.Generator) -> tuple[torch.Tensor, list]:
    """One image of each class of ``ds``, drawn with ``generator``, and the class names."""
    picks = []
    for c in range(ds.num_classes):
        members = torch.nonzero(ds.y == c).flatten()
        picks.append(members[torch.randint(len(members), (1,), generator=generator)].item())
    return ds.inputs(torch.tensor(picks)), list(ds.classes)


def samples_figure(loaded: dict, generator: torch.Generator, size: float = 1.0):
    """One row per data set of :data:`DATASETS`: one test image of each class
    (:func:`one_per_class`, drawn in that order), the data set named on the left."""
    import matplotlib.pyplot as plt

    from lib import plots

    ncols = max(loaded[name]["test"].num_classes for name in DATASETS)
    fig, axes = plt.subplots(
        len(DATASETS), ncols, figsize=(ncols * size, len(DATASETS) * size * 1.25), squeeze=False
    )
    for row, name in zip(axes, DATASETS, strict=True):
        images, titles = one_per_class(loaded[name]["test"], generator)
        for i, ax in enumerate(row):
            ax.axis("off")
            if i < len(images):
                plots.show_image(ax, images[i], str(titles[i]), fontsize=8)
        row[0].text(-0.15, 0.5, name, transform=row[0].transAxes, ha="right", va="center")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Models (Appendix A.2), eps (Tables 2, 3), the PGD adversary


def model_table(profile: str) -> pd.DataFrame:
    """Per data set: the paper's architecture and parameter count, and the variant the
    profile runs with its count."""
    rows = []
    for name in ("binary_mnist", "mnist", "cifar10", RI):
        paper, here = profiles.settings(name, "paper"), profiles.settings(name, profile)
        rows.append(
            {
                "data set": name,
                "architecture": paper.arch,
                "parameters (paper)": _count(paper),
                f"variant at {profile}": str(here.model_kwargs or "same"),
                f"parameters ({profile})": _count(here),
            }
        )
    return pd.DataFrame(rows).set_index("data set")


def _count(settings) -> int:
    # On the meta device: a count needs the shapes, not the weights (ResNet-50 4x faster).
    with torch.device("meta"):
        return models.count_parameters(models.build(settings.arch, **settings.model_kwargs))


def model_glued(table: pd.DataFrame) -> dict:
    """The parameter counts at the paper's width (S1)."""
    params = table["parameters (paper)"]
    names = {"linear": "binary_mnist", "mnist_cnn": "mnist", "cifar_resnet": "cifar10"}
    return {f"S1_{k}_params": int(params[v]) for k, v in (names | {"resnet50": RI}).items()}


def eps_table(table: dict, datasets) -> pd.DataFrame:
    """``{(dataset, norm): eps}`` as rows l_inf, l2 by columns ``datasets`` ("-": none)."""
    out = pd.DataFrame(index=["l_inf", "l2"], columns=list(datasets), dtype=object)
    for (ds, norm), eps in table.items():
        if ds in datasets:
            out.loc[norm_label(norm), ds] = round(eps, 4)
    return out.fillna("-")


def table2_glued() -> dict:
    """Table 2's eps, ``P4_eps_<data set>_<linf|l2>``."""
    return {
        f"P4_eps_{ds}_{'linf' if norm == 'inf' else 'l2'}": eps
        for (ds, norm), eps in profiles.TABLE2_EPS.items()
    }


def pgd_table(profile: str) -> pd.DataFrame:
    """The training and evaluation PGD of each data set and norm, at ``profile`` and at
    ``paper``, at Table 2's eps: steps, step size, restarts and where they come from."""
    rows = []
    for name in ("mnist", "cifar10", RI, "binary_mnist"):
        for prof in dict.fromkeys([profile, "paper"]):
            s = profiles.settings(name, prof)
            for norm in s.train_attack:
                eps = profiles.TABLE2_EPS[(name, norm)]
                for kind, table in (("train", s.train_attack), ("eval", s.eval_attack)):
                    rows.append(
                        {
                            "data set": name,
                            "profile": prof,
                            "norm": norm_label(norm),
                            "use": kind,
                            "eps": round(eps, 4),
                            "attack": s.attack(eps, norm, kind=kind).describe(),
                            "steps": table[norm].steps,
                            "step size": round(table[norm].step_factor * eps, 5),
                            "restarts": table[norm].restarts,
                            "source": table[norm].source,
                        }
                    )
    return pd.DataFrame(rows).set_index(["data set", "profile", "norm", "use"])


# --------------------------------------------------------------------------
# Restricted ImageNet (Table 1)


def ri_table() -> pd.DataFrame:
    """Table 1: per super-class its ImageNet class range and how many classes each
    variant keeps."""
    counts = {v: data.restricted_imagenet_classes(v) for v in ("robustness", "paper")}
    return pd.DataFrame(
        [
            {
                "label": label,
                "super-class": cls,
                "ImageNet classes": f"{lo} to {hi}",
                **{v: sum(x == label for x in classes.values()) for v, classes in counts.items()},
            }
            for label, (cls, lo, hi) in enumerate(data.RESTRICTED_IMAGENET_RANGES)
        ]
    ).set_index("label")


def ri_glued() -> dict:
    """Super-classes, and ImageNet classes per variant."""
    return {
        "S2_ri_superclasses": len(data.RESTRICTED_IMAGENET_RANGES),
        "S2_ri_classes_robustness": len(data.restricted_imagenet_classes("robustness")),
        "S2_ri_classes_paper": len(data.restricted_imagenet_classes("paper")),
    }


def count_imagenet() -> dict | None:
    """Per variant and split, the images per class of the ImageNet folder; None without
    one."""
    if not imagenet.has_imagenet():
        return None
    return {v: imagenet.class_counts(v) for v in data.RESTRICTED_IMAGENET_VARIANTS}


def variant_table(counted: dict | None) -> pd.DataFrame:
    """Per variant: classes, published training and test sizes, and the images counted
    in the ImageNet folder when there is one."""
    rows = []
    for variant in data.RESTRICTED_IMAGENET_VARIANTS:
        published = imagenet.expected_size(variant, "train")
        row = {
            "variant": variant,
            "ImageNet classes": len(data.restricted_imagenet_classes(variant)),
            "training images (published)": f"{published:,}" if published else "not published",
            "test images (50 per class)": imagenet.expected_size(variant, "test"),
        }
        if counted is not None:
            row["training images (counted here)"] = sum(counted[variant]["train"].values())
            row["test images (counted here)"] = sum(counted[variant]["test"].values())
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def variant_glued(counted: dict | None) -> dict:
    """The variants' published sizes, one epoch's images, and the robustness variant's
    counted training set (a phrase without ImageNet)."""
    return {
        "S2_ri_train_images_paper": data.PAPER_VARIANT_TRAIN_IMAGES,
        "S2_ri_test_images_paper": imagenet.expected_size("paper", "test"),
        "S2_ri_test_images_robustness": imagenet.expected_size("robustness", "test"),
        "S2_ri_epoch_images": imagenet.PAPER_EPOCH_IMAGES,
        "S2_imagenet_present": counted is not None,
        "S2_ri_train_images_robustness": (
            sum(counted["robustness"]["train"].values())
            if counted is not None
            else "counted when present"
        ),
    }


def per_class_table(counted: dict) -> pd.DataFrame:
    """Images per ImageNet class, one column per (variant, split)."""
    return pd.DataFrame(
        {(v, split): counts for v, splits in counted.items() for split, counts in splits.items()}
    )


# --------------------------------------------------------------------------
# The reproduction table

_NAMES = {short: name for name, short in paper_tables.SHORT_NAMES.items()}  # "MNIST": "mnist"


def ledger_eps() -> dict:
    """Table 2's eps as the claims ledger states P4 (:mod:`lib.claims`), parsed."""
    out = {}
    statement = claims.CLAIMS["P4"].statement
    for part, norm in zip(statement.split(";")[:2], ("inf", 2), strict=True):
        for item in part.split(":", 1)[1].split(","):
            name, value = item.strip().rsplit(" ", 1)
            num, _, den = value.partition("/")
            out[(_NAMES[name], norm)] = float(num) / float(den or 1)
    return out


def authors_pgd_ours() -> dict:
    """The paper profile's l_inf PGD as :data:`AUTHORS_PGD` gives the authors':
    (steps, step size / eps)."""
    out = {}
    for name, kind in AUTHORS_PGD:
        eps = profiles.TABLE2_EPS[(name, "inf")]
        a = profiles.settings(name, "paper").attack(eps, "inf", kind=kind)
        out[(name, kind)] = (a.steps, a.step_size / eps)
    return out


def _s1(table: pd.DataFrame, profile: str) -> dict:
    params = table["parameters (paper)"]
    judged = V.checked(
        {
            "mnist_challenge CNN": (int(params["mnist"]), LEDGER["mnist_cnn"]),
            "CIFAR ResNet (16, 16, 32, 64) x 5": (int(params["cifar10"]), LEDGER["cifar_resnet"]),
            "ResNet-50, 9 classes": (int(params[RI]), LEDGER["resnet50_9"]),
        }
    )
    run_here = "; ".join(
        f"{name} {profiles.settings(name, profile).arch} "
        f"{profiles.settings(name, profile).model_kwargs or ''} "
        f"({int(table.loc[name, f'parameters ({profile})']):,})"
        for name in ("mnist", "cifar10", RI)
    )
    return judged.row(
        "S1",
        "MNIST: the mnist_challenge CNN (3,274,634 parameters); CIFAR-10: ResNet (16, 16, 32, "
        "64) x 5 units; RI: ResNet-50",
        f"paper width: {params['mnist']:,} / {params['cifar10']:,} / {params[RI]:,} "
        f"parameters; run at {profile}: {run_here}",
    )


def _s2(counted: dict | None) -> dict:
    n_robustness = len(data.restricted_imagenet_classes("robustness"))
    n_paper = len(data.restricted_imagenet_classes("paper"))
    n_super = len(data.RESTRICTED_IMAGENET_RANGES)
    facts = {
        "super-classes": (n_super, LEDGER["ri_superclasses"]),
        "robustness classes": (n_robustness, LEDGER["ri_robustness"]),
        "paper classes": (n_paper, LEDGER["ri_paper"]),
    }
    if counted is not None:
        train = sum(counted["paper"]["train"].values())
        facts["paper training images"] = (train, LEDGER["ri_paper_train"])
    return V.checked(facts).row(
        "S2",
        f"Table 1: {len(paper_tables.TABLE1)} super-classes; {LEDGER['ri_robustness']} classes "
        f"(robustness) or {LEDGER['ri_paper']} (paper's code, {LEDGER['ri_paper_train']:,} "
        "training images)",
        f"{n_super} super-classes; {n_robustness} / {n_paper} classes; "
        + (
            f"{sum(counted['paper']['train'].values()):,} paper-variant training images "
            "counted here"
            if counted is not None
            else "images not counted (no ImageNet here)"
        ),
    )


def _p4() -> dict:
    stated, table2 = ledger_eps(), profiles.TABLE2_EPS
    facts = {f"{ds} {norm_label(n)}": (table2[(ds, n)], e) for (ds, n), e in stated.items()}
    every = (sorted(map(str, stated)), sorted(map(str, table2)))
    judged = V.checked(facts | {"every data set and norm": every})
    return judged.row(
        "P4",
        "Table 2 eps: "
        + "; ".join(
            f"{norm_label(norm)} "
            + " / ".join(eps_text(e) for (_, n), e in paper_tables.TABLE2_EPS.items() if n == norm)
            for norm in ("inf", 2)
        ),
        "profiles' eps vs the ledger's Table 2: "
        + "; ".join(f"{ds} {norm_label(n)} {e:.4g}" for (ds, n), e in profiles.TABLE2_EPS.items()),
    )


def _authors_pgd_text() -> str:
    """S3's reference as the row states it, from :data:`AUTHORS_PGD`."""
    (mn, mf), (ct, cf), (ce, cef), (rt, rf) = (
        AUTHORS_PGD[k]
        for k in (("mnist", "train"), ("cifar10", "train"), ("cifar10", "eval"), (RI, "train"))
    )
    return (
        f"not in the paper; the authors' code: MNIST {mn} steps of "
        f"{mf * paper_tables.TABLE2_EPS[('mnist', 'inf')]:.3g}; CIFAR-10 {ct} steps of "
        f"eps/{1 / cf:g} (train), {ce} of eps/{1 / cef:g} (eval); RI {rt} steps of eps/{1 / rf:g}"
    )


def _s3(profile: str) -> dict:
    ours = authors_pgd_ours()
    judged = V.checked(
        {
            **{f"{n} {k} steps": (ours[(n, k)][0], v[0]) for (n, k), v in AUTHORS_PGD.items()},
            **{f"{n} {k} step/eps": (ours[(n, k)][1], v[1]) for (n, k), v in AUTHORS_PGD.items()},
        }
    )
    return judged.row(
        "S3",
        _authors_pgd_text(),
        "paper profile: "
        + "; ".join(f"{n} {k} {st} steps of {f:.3g} eps" for (n, k), (st, f) in ours.items())
        + f"; profile {profile}: see the PGD table",
    )


def claim_rows(table: pd.DataFrame, profile: str, counted: dict | None) -> list[dict]:
    """The setup facts S1 (parameter counts of :func:`model_table`), S2 (Table 1's classes,
    and the paper variant's training images where ImageNet is counted), P4 (the profiles'
    eps against the ledger's Table 2) and S3 (the paper profile's PGD against the
    authors'), each ``checked`` when every value matches its reference."""
    return [_s1(table, profile), _s2(counted), _p4(), _s3(profile)]
