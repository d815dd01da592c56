"""Profiles and the paper's per-dataset settings."""

from __future__ import annotations

import pytest

from lib import book_config, runtime
from lib.attacks import PGD, LinearWorstCase
from lib.experiments import profiles


@pytest.mark.parametrize("dataset", ["mnist", "binary_mnist", "cifar10", "restricted_imagenet"])
@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_dataset_has_settings_at_every_profile(dataset, profile):
    s = profiles.settings(dataset, profile)
    assert s.dataset == dataset and s.profile == profile
    for norm in s.train_attack:
        eps = profiles.TABLE2_EPS[(dataset, norm)]
        attack = s.attack(eps, norm, kind="eval")
        assert attack.eps == eps and attack.describe()
    assert s.to_dict()["dataset"] == dataset


def test_table2_and_authors_pgd_settings():
    assert profiles.table2_eps("cifar10", "inf") == 4 / 255
    assert profiles.table2_eps("mnist", 2) == 1.5
    mnist = profiles.settings("mnist", "paper").attack(0.3, "inf")
    assert mnist == PGD(eps=0.3, norm="inf", steps=40, step_size=0.01)
    cifar = profiles.settings("cifar10", "paper")
    assert cifar.attack(8 / 255, "inf").step_size == pytest.approx(2 / 255)
    assert cifar.attack(8 / 255, "inf", kind="eval").step_size == pytest.approx(1 / 255)
    ri = profiles.settings("restricted_imagenet", "paper").attack(0.005, "inf")
    assert ri.steps == 8 and ri.step_size == pytest.approx(0.005 / 4)


def test_bad_names(monkeypatch):
    with pytest.raises(ValueError, match="unknown profile 'gpu'; allowed: smoke, cpu, paper"):
        profiles.settings("mnist", "gpu")
    with pytest.raises(ValueError, match="unknown dataset"):
        profiles.settings("svhn", "cpu")
    with pytest.raises(ValueError, match="Table 2 has no eps"):
        profiles.table2_eps("binary_mnist", 2)
    with pytest.raises(ValueError, match='kind must be "train" or "eval"'):
        profiles.settings("mnist", "cpu").attack(0.3, "inf", kind="test")
    with pytest.raises(ValueError, match="unknown profile 'tiny'"):
        profiles.check_profile("tiny")


def test_binary_mnist_attack_is_the_exact_linear_worst_case():
    # What the profile tabulates is what runs: no special case in the training code.
    for kind in ("train", "eval"):
        attack = profiles.settings("binary_mnist", "cpu").attack(0.1, "inf", kind=kind)
        assert attack == LinearWorstCase(0.1)


def test_every_chapter_grid_exists_at_every_profile():
    from lib.experiments import grids

    for profile in profiles.PROFILES:
        assert grids.price_grid(profile).profile == profile
        assert grids.ri_grid(profile).n_values[-1] is None
        assert grids.theory_settings(profile).n_train > 0
        sizes = grids.benefits_sizes(profile)
        assert sizes.profile == profile and set(sizes.autoattack) == {"steps", "targets", "queries"}
        assert set(grids.GRIDS) == {"price", "ri", "trades"}


def _budget(a) -> int:
    return a.steps * a.restarts


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_evaluation_attacks_are_at_least_as_strong_as_training(profile):
    """Steps x restarts: a weakened evaluation (or audit) attack would overstate robustness."""
    from lib.experiments import grids

    evals = []
    for dataset in ["mnist", "binary_mnist", "cifar10", "restricted_imagenet"]:
        s = profiles.settings(dataset, profile)
        for norm, train in s.train_attack.items():
            assert norm in s.eval_attack, (dataset, profile, norm)
            ev = s.eval_attack[norm]
            assert _budget(ev) >= _budget(train), (dataset, profile, norm, train, ev)
            assert ev.steps >= train.steps, (dataset, profile, norm, train, ev)
            evals.append(ev)
    assert evals
    b = grids.benefits_sizes(profile)
    strongest = max(_budget(ev) for ev in evals)
    assert b.strong_steps * b.strong_restarts >= strongest, (profile, b)


def test_paper_profile_is_refused_on_a_cpu_fallback(monkeypatch):
    from lib import chapter, runtime

    monkeypatch.delenv("ODDS_DEVICE", raising=False)
    monkeypatch.delenv("ODDS_PROFILE", raising=False)
    monkeypatch.setattr(runtime.torch.cuda, "is_available", lambda: False)
    with pytest.raises(book_config.PaperOnCpuError, match="ODDS_DEVICE=cpu"):
        chapter.setup("paper")
    assert chapter.setup("cpu")[0] == "cpu"  # the other profiles run where they are
    # asked for: by the caller, or by $ODDS_DEVICE
    assert chapter.setup("paper", device="cpu") == ("paper", runtime.torch.device("cpu"))
    monkeypatch.setenv("ODDS_DEVICE", "cpu")
    assert chapter.setup("paper")[0] == "paper"
    # one channel: the parameter; the environment does not override it
    monkeypatch.delenv("ODDS_DEVICE")
    monkeypatch.setenv("ODDS_PROFILE", "paper")
    assert chapter.setup("smoke")[0] == "smoke"


#: The whole training set of each data set: a run at this n_train is the run at None.
_FULL = {"mnist": 60_000, "cifar10": 50_000, "binary_mnist": None}


def test_no_grid_names_the_full_training_set_by_its_size():
    """A full-set run is keyed once: n_train None, never 60,000 / 50,000 (issue 40, item 8:
    the paper grid trained 42 runs twice, one key each)."""
    from lib.experiments import grids

    for profile in profiles.PROFILES:
        for name, make in grids.GRIDS.items():
            for config in (c for part in make(profile).values() for c in part):
                full = _FULL.get(config.dataset)
                assert full is None or config.n_train != full, (name, profile, config)
    paper = grids.price_grid("paper").n_values
    assert paper["mnist"][-1] is None and paper["cifar10"][-1] is None


def test_trades_grid_is_the_chapters_runs():
    """make sweep GRID=trades trains the runs the trade-off chapter reads (same configs)."""
    from lib.experiments import grids
    from lib.experiments.runs import RunConfig

    for profile, betas in grids.TRADES_BETAS.items():
        chapter = [
            RunConfig(ds, profile, mix="trades", eps_train=e, beta=b, seed=0)
            for ds, e in {"mnist": 0.3, "cifar10": 8 / 255}.items()
            for b in betas
        ]
        assert grids.trades_configs(profile)["trades"] == chapter


def test_strong_eval_grid_covers_table4_trades_and_the_frontier():
    from lib import price
    from lib.experiments import grids

    for profile in profiles.PROFILES:
        parts = grids.strong_evals(profile)
        grid = grids.price_grid(profile)
        n_rows = sum(len(v) for v in grid.table4_eps.values())
        # every Table 4 row: standard, half and robust models, per seed
        assert len(parts["table4"]) >= n_rows * len(price.MODELS) * len(grid.seeds)
        assert {c.mix for c, _, _ in parts["trades"]} == {"trades"}
        assert all(eps == 0.3 and c.dataset == "mnist" for c, eps, _ in parts["frontier"])
        cells = grids.unique_cells(c for v in parts.values() for c in v)
        assert len(cells) == len(set(cells))


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_book_config_sets_the_profiles_cell_timeout(tmp_path, profile):
    """make book PROFILE=paper builds with no cell timeout (issue 40, item 7)."""
    from jupyter_book.config import get_final_config

    source = runtime.PROJECT_ROOT / "_config.yml"
    text = book_config.write_book_config(profile, tmp_path / "_config.yml", source=source)
    config, _ = get_final_config(
        user_yaml=tmp_path / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=tmp_path,
    )
    assert config["nb_execution_timeout"] == book_config.CELL_TIMEOUT[profile]
    assert book_config.CELL_TIMEOUT["paper"] == -1  # nbclient: no timeout
    # every chapter read at the profile (the one channel: its parameters cell)
    reader, kwargs = config["nb_custom_formats"][".py"][:2]
    assert reader == "lib.book_config.read_chapter"
    assert kwargs == {"fmt": "py:percent", "profile": profile}
    # nothing else changes
    original = source.read_text().splitlines()
    changed = [b for a, b in zip(original, text.splitlines(), strict=True) if a != b]
    assert len(changed) <= 3
    assert all(
        "timeout:" in line or "read_chapter" in line or "profile:" in line for line in changed
    )


def test_a_book_build_gives_the_profile_to_the_parameters_cell():
    """make book PROFILE=smoke: each chapter is read with a hidden injected cell after
    its parameters cell, as papermill's ``-p profile smoke`` adds."""
    text = (runtime.PROJECT_ROOT / "book" / "theory.py").read_text()
    plain = book_config.read_chapter(text)
    nb = book_config.read_chapter(text, profile="smoke")
    assert len(nb.cells) == len(plain.cells) + 1
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nb.cells[i + 1]
    assert injected.source == "profile = 'smoke'"
    assert injected.metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert "profile = " in nb.cells[i].source  # the cell it overrides sets it too
    namespace = {}
    exec(injected.source, namespace)
    assert namespace["profile"] == "smoke"
    with pytest.raises(ValueError, match="unknown profile"):
        book_config.read_chapter(text, profile="tiny")


def test_grids_table4_cells_agree_with_the_chapters():
    from lib import price
    from lib.experiments import grids

    for profile in profiles.PROFILES:
        grid, parts = grids.price_grid(profile), grids.price_configs(profile)
        rows = [
            (d, n, e) for d in grid.datasets for n in ("inf", 2) for e in grid.table4_eps[(d, n)]
        ]
        assert grids._table4_cells(parts["table4"], rows) == price.strong_cells(
            parts["table4"], rows
        )
