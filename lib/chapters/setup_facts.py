"""The setup facts (S1-S3, P4): what the book's runs use, checked against the paper.

Every fact is computed from the profiles' settings and grids (never typed); a
departure a reduced profile declares in :data:`BY_DESIGN` is "differs by design"
and keeps the row checked, an undeclared one makes it not reproduced. The
chapter's tables are in :mod:`lib.chapters.setup`.
"""

from __future__ import annotations

import math

import pandas as pd

from lib import data
from lib import verdicts as V
from lib.chapter import norm_label
from lib.chapters.setup import AUTHORS_PGD, LEDGER, RI
from lib.experiments import profiles
from lib.paper import claims
from lib.paper import tables as paper_tables
from lib.paper.claims import eps_text

_NAMES = {short: name for name, short in paper_tables.SHORT_NAMES.items()}  # "MNIST": "mnist"

#: The departures from the paper that a reduced profile declares, by (profile, claim,
#: data set): why the profile runs something else (its recipes in :mod:`lib.profiles`,
#: issue 14). A run fact that differs from the paper with a declaration here is
#: "differs by design" (checked); without one it is "not reproduced". The numbers of
#: each difference are computed from the profile's settings, never written here.
_SMOKE = "smoke: tiny models and attacks that only prove the code path"
BY_DESIGN = {
    **{("smoke", c, ds): _SMOKE for c in ("S1", "S3") for ds in ("mnist", "cifar10", RI)},
    **{
        ("smoke", "P4", ds): "smoke trains only Table 4's largest eps of each norm"
        for ds in ("mnist", "cifar10")
    },
    ("cpu", "S1", "mnist"): "the mnist_challenge CNN narrowed to fit a 2-core CPU",
    ("cpu", "S1", "cifar10"): "the cifar10_challenge ResNet with fewer units per group, for a CPU",
    ("cpu", "S1", RI): "a ResNet-18 on small crops instead of ResNet-50, for a CPU",
    ("cpu", "S3", "mnist"): "3 epochs on a CPU: few long PGD steps, the eps ramped up",
    ("cpu", "S3", "cifar10"): "3 epochs on a CPU: one FGSM step from a random start in "
    "training (Wong et al. 2020), a shorter PGD in evaluation",
    ("cpu", "S3", RI): "a shorter PGD for a CPU",
}

#: The runs of a data set that need ImageNet: without it they never ran (facts not run).
_NEEDS_IMAGENET = (RI,)


def judge_facts(facts: dict, declared: dict) -> V.Judgement:
    """Setup facts ``name -> (computed, expected)`` with ``declared`` ``name -> why``.

    A computed value of None was not run (left out, named). A fact that agrees counts
    as agreeing; one that differs is "differs by design" when declared (the verdict
    stays checked, the reason says where and why), else it makes the row not
    reproduced. Each pair is compared by :func:`lib.verdicts.checked`.

    Unlike :func:`lib.verdicts.rules.checked`, where any unread fact makes the whole row not
    run, facts not run here are left out and named: a row stays checked on the facts
    that ran (Restricted ImageNet's runs need ImageNet, the other data sets' do not).
    """
    ran = {name: pair for name, pair in facts.items() if pair[0] is not None}
    not_run = [name for name in facts if name not in ran]
    if not ran:
        return V.Judgement(V.NOT_RUN, (), "not run: " + ", ".join(not_run))
    agree, by_design, wrong = [], {}, []
    for name, pair in ran.items():
        judged = V.checked({name: pair})
        if judged.verdict == V.CHECKED:
            agree.append(name)
        elif name in declared:
            by_design.setdefault(declared[name], []).append(
                f"{name} {_show(pair[0])}, paper {_show(pair[1])}"
            )
        else:
            wrong.append(judged.reason.removeprefix("differs: "))
    parts = [f"{len(agree)} facts agree"]
    if by_design:
        parts.append(
            "differs by design: "
            + "; ".join(f"{', '.join(items)} ({why})" for why, items in by_design.items())
        )
    if not_run:
        parts.append("not run: " + ", ".join(not_run))
    if wrong:
        return V.Judgement(V.NOT_REPRODUCED, (), "differs: " + "; ".join(wrong + parts[1:]))
    return V.Judgement(V.CHECKED, (), "; ".join(parts))


def _show(value) -> str:
    """A fact's value in a reason: numbers with thousands separators, the rest as repr."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    return f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"


def _declared(profile: str, claim: str, dataset: str) -> str | None:
    return BY_DESIGN.get((profile, claim, dataset))


def ledger_eps() -> dict:
    """Table 2's eps as the claims ledger states P4 (:mod:`lib.paper.claims`), parsed."""
    out = {}
    statement = claims.CLAIMS["P4"].statement
    for part, norm in zip(statement.split(";")[:2], ("inf", 2), strict=True):
        for item in part.split(":", 1)[1].split(","):
            name, value = item.strip().rsplit(" ", 1)
            num, _, den = value.partition("/")
            out[(_NAMES[name], norm)] = float(num) / float(den or 1)
    return out


def authors_pgd_ours(profile: str = "paper") -> dict:
    """The l_inf PGD of ``profile`` where :data:`AUTHORS_PGD` gives the authors':
    (steps, step size / eps), at the paper's Table 2 eps."""
    out = {}
    for name, kind in AUTHORS_PGD:
        eps = paper_tables.TABLE2_EPS[(name, "inf")]
        a = profiles.settings(name, profile).attack(eps, "inf", kind=kind)
        out[(name, kind)] = (a.steps, a.step_size / eps)
    return out


def _ran(profile: str, dataset: str, counted: dict | None) -> bool:
    """Whether ``dataset``'s runs can have run here: Restricted ImageNet needs ImageNet."""
    return dataset not in _NEEDS_IMAGENET or counted is not None


def _s1(table: pd.DataFrame, profile: str, counted: dict | None = None) -> dict:
    params, here = table["parameters (paper)"], table[f"parameters ({profile})"]
    refs = {"mnist": "mnist_cnn", "cifar10": "cifar_resnet", RI: "resnet50_9"}
    names = {
        "mnist": "mnist_challenge CNN",
        "cifar10": "CIFAR ResNet (16, 16, 32, 64) x 5",
        RI: "ResNet-50, 9 classes",
    }
    facts = {
        f"{names[ds]} at the paper's width": (int(params[ds]), LEDGER[r]) for ds, r in refs.items()
    }
    declared = {}
    if profile != "paper":
        for ds, r in refs.items():
            name = f"{ds} parameters at {profile}"
            facts[name] = (int(here[ds]) if _ran(profile, ds, counted) else None, LEDGER[r])
            if why := _declared(profile, "S1", ds):
                declared[name] = why
    run_here = "; ".join(
        f"{name} {profiles.settings(name, profile).arch} "
        f"{profiles.settings(name, profile).model_kwargs or ''} "
        f"({int(here[name]):,})"
        for name in refs
    )
    return judge_facts(facts, declared).row(
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


def trained_eps(profile: str) -> dict:
    """``{(data set, norm): training eps}`` of every adversarial run the profile's grids
    declare (:data:`lib.experiments.grids.GRIDS`; binary MNIST: the linear chapter's
    Table 2 eps)."""
    from lib.experiments import grids  # grids imports the run machinery; only the table needs it

    out: dict = {("binary_mnist", "inf"): {profiles.TABLE2_EPS[("binary_mnist", "inf")]}}
    for make in grids.GRIDS.values():
        try:
            parts = make(profile)
        except KeyError:  # a grid at an eps Table 2 lacks: its runs are P4's missing eps
            continue
        for part in parts.values():
            for c in part:
                if c.mix != "clean":
                    out.setdefault((c.dataset, c.norm), set()).add(c.eps_train)
    return out


#: Table 2 prints eps to three digits (CIFAR-10 l2: 0.314 for the runs' 80/255 = 0.3137):
#: a run's eps is Table 2's when it agrees to that precision.
TABLE2_REL_TOL = 2e-3


def _is_table2(eps: float, runs) -> bool:
    return any(math.isclose(e, eps, rel_tol=TABLE2_REL_TOL) for e in runs)


def _p4(profile: str = "paper", counted: dict | None = None) -> dict:
    stated, table2 = ledger_eps(), profiles.TABLE2_EPS
    keys = list(dict.fromkeys([*stated, *table2]))  # a key missing on either side differs
    facts = {
        f"{ds} {norm_label(n)}": (table2.get((ds, n), "missing"), stated.get((ds, n), "missing"))
        for ds, n in keys
    }
    facts["every data set and norm"] = (sorted(map(str, stated)), sorted(map(str, table2)))
    declared, runs = {}, trained_eps(profile)
    for ds, n in table2:
        name = f"{ds} {norm_label(n)}: trained at Table 2's eps at {profile}"
        ran = _ran(profile, ds, counted)
        facts[name] = (_is_table2(table2[(ds, n)], runs.get((ds, n), ())) if ran else None, True)
        if why := _declared(profile, "P4", ds):
            declared[name] = why
        settings = profiles.settings(ds, profile)
        attack = (
            settings.attack(table2[(ds, n)], n, kind="train")
            if n in settings.train_attack
            else None
        )
        if hasattr(attack, "random_start"):  # PGD; binary MNIST's exact worst case has none
            facts[f"{ds} {norm_label(n)}: random start at {profile}"] = (
                attack.random_start if ran else None,
                True,
            )
    return judge_facts(facts, declared).row(
        "P4",
        "Table 2 eps: "
        + "; ".join(
            f"{norm_label(norm)} "
            + " / ".join(eps_text(e) for (_, n), e in paper_tables.TABLE2_EPS.items() if n == norm)
            for norm in ("inf", 2)
        )
        + "; PGD with a random start",
        "profiles' eps vs the ledger's Table 2: "
        + "; ".join(f"{ds} {norm_label(n)} {e:.4g}" for (ds, n), e in profiles.TABLE2_EPS.items())
        + f"; trained at {profile} (grids' adversarial runs): "
        + "; ".join(
            f"{ds} {norm_label(n)} " + ", ".join(f"{e:.4g}" for e in sorted(v))
            for (ds, n), v in runs.items()
        ),
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


def _s3(profile: str, counted: dict | None = None) -> dict:
    ours = authors_pgd_ours()
    facts = {
        **{f"{n} {k} steps": (ours[(n, k)][0], v[0]) for (n, k), v in AUTHORS_PGD.items()},
        **{f"{n} {k} step/eps": (ours[(n, k)][1], v[1]) for (n, k), v in AUTHORS_PGD.items()},
    }
    declared, text = {}, ""
    if profile != "paper":
        run = authors_pgd_ours(profile)
        for (n, k), (steps, factor) in AUTHORS_PGD.items():
            ran = _ran(profile, n, counted)
            pairs = {"steps": (run[(n, k)][0], steps), "step/eps": (run[(n, k)][1], factor)}
            if k == "train":  # the authors train at the full eps from the first step
                pairs["eps ramp (share of training)"] = (
                    profiles.settings(n, profile).eps_ramp,
                    0.0,
                )
            for what, (computed, expected) in pairs.items():
                name = f"{n} {k} {what} at {profile}"
                facts[name] = (computed if ran else None, expected)
                if why := _declared(profile, "S3", n):
                    declared[name] = why
        text = f"; run at {profile}: " + "; ".join(
            f"{n} {k} {st} steps of {f:.3g} eps"
            + (
                f", eps ramped over {profiles.settings(n, profile).eps_ramp:.0%} of training"
                if k == "train" and profiles.settings(n, profile).eps_ramp
                else ""
            )
            for (n, k), (st, f) in run.items()
        )
    return judge_facts(facts, declared).row(
        "S3",
        _authors_pgd_text(),
        "paper profile: "
        + "; ".join(f"{n} {k} {st} steps of {f:.3g} eps" for (n, k), (st, f) in ours.items())
        + text,
    )


def claim_rows(table: pd.DataFrame, profile: str, counted: dict | None) -> list[dict]:
    """The setup facts S1 (parameter counts of :func:`model_table`), S2 (Table 1's classes,
    and the paper variant's training images where ImageNet is counted), P4 (the profiles'
    eps against the ledger's Table 2, and the eps and random start the profile's runs
    train with) and S3 (the paper profile's PGD against the authors', and the PGD the
    profile runs). S1, S3 and P4 judge the paper profile's settings and the settings
    ``profile`` ran with; where these depart from the paper, the departure is "differs
    by design" when :data:`BY_DESIGN` declares it (still ``checked``), else not
    reproduced. Restricted ImageNet's run facts are not run without ImageNet."""
    return [
        _s1(table, profile, counted),
        _s2(counted),
        _p4(profile, counted),
        _s3(profile, counted),
    ]
