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

from lib import data, models
from lib.chapter import norm_label
from lib.data import imagenet
from lib.experiments import profiles
from lib.paper import code as paper_code
from lib.paper import tables as paper_tables

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


def authors_pgd_glued() -> dict:
    """The authors' l_inf PGD for the prose (:data:`AUTHORS_PGD`): steps, and the step as
    a fraction eps / k (MNIST: the step in pixels at Table 2's eps)."""
    (mn, mf), (ct, cf), (ce, cef), (rt, rf) = (
        AUTHORS_PGD[k]
        for k in (("mnist", "train"), ("cifar10", "train"), ("cifar10", "eval"), (RI, "train"))
    )
    mnist_eps = paper_tables.TABLE2_EPS[("mnist", "inf")]
    return {
        "S3_mnist_steps": mn,
        "S3_mnist_step": round(mf * mnist_eps, 6),
        "S3_mnist_eps": mnist_eps,
        "S3_cifar_train_steps": ct,
        "S3_cifar_train_div": round(1 / cf),
        "S3_cifar_eval_steps": ce,
        "S3_cifar_eval_div": round(1 / cef),
        "S3_ri_steps": rt,
        "S3_ri_div": round(1 / rf),
    }


def _attack_text(a) -> str:
    start = "a random start" if a.random_start else "no random start"
    return f"{a.steps} step{'s' if a.steps > 1 else ''} of {a.step_size / a.eps:.3g} eps, {start}"


def profile_pgd_text(profile: str) -> str:
    """What ``profile``'s runs train and evaluate with, per data set, read from its
    settings (:mod:`lib.profiles`): one sentence each, for the chapter's prose."""
    if profile == "paper":
        return "The `paper` profile runs the settings above."
    out = []
    for name in ("mnist", "cifar10", RI):
        st = profiles.settings(name, profile)
        eps = paper_tables.TABLE2_EPS[(name, "inf")]
        train, ev = (st.attack(eps, "inf", kind=k) for k in ("train", "eval"))
        ramp = (
            f", the training eps ramped up from 0 over the first {st.eps_ramp:.0%} of the steps"
            if st.eps_ramp
            else ""
        )
        restarts = st.eval_attack["inf"].restarts
        out.append(
            f"{name} trains with {_attack_text(train)}{ramp}, and evaluates with "
            f"{_attack_text(ev)}" + (f" ({restarts} restarts)" if restarts > 1 else "")
        )
    alike = all(
        st.train_attack.get(2) == st.train_attack["inf"]
        and st.eval_attack.get(2) == st.eval_attack["inf"]
        for st in (profiles.settings(n, profile) for n in ("mnist", "cifar10", RI))
    )
    return f"At `{profile}`, " + "; ".join(out) + (" (both norms alike)." if alike else ".")


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
    table = ri_table()
    dogs = table[table["super-class"] == "dog"].iloc[0]
    return {
        "S2_ri_dogs_robustness": int(dogs["robustness"]),
        "S2_ri_dogs_paper": int(dogs["paper"]),
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
