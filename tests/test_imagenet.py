"""Restricted ImageNet on a fake ImageNet tree: class lists, pipeline, training, errors.

The tree is made by the ``fake_imagenet`` fixture (conftest): tiny JPEGs in
the wnid folders of Table 1's ranges, 3 per folder in ``train/`` and 1 in
``val/``. It exercises every step a real ImageNet folder goes through, at a
size that runs in seconds.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from lib import data, models, train
from lib.data import imagenet
from lib.experiments import grids, profiles, runs
from lib.experiments.execute import sweep
from lib.experiments.store import Store


@pytest.fixture
def fake_root(fake_imagenet):
    return fake_imagenet


@pytest.fixture
def imagenet_env(fake_root, monkeypatch):
    monkeypatch.setenv("ODDS_IMAGENET", str(fake_root / "imagenet"))
    return fake_root


def _load(root, split="train", **kw):
    kw = {"variant": "paper", "crop": 32, "workers": 0, **kw}
    with warnings.catch_warnings():  # the fake tree is a subset: warned once per folder
        warnings.simplefilter("ignore", data.SubsetWarning)
        return data.load("restricted_imagenet", split, root=root, **kw)


# --------------------------------------------------------------------------
# The class lists


def test_wnid_list_is_the_imagenet_class_index_order():
    classes = data.imagenet_classes()
    wnids = data.imagenet_wnids()
    assert len(wnids) == 1000 == len(set(wnids))
    assert list(wnids) == sorted(wnids), "class index = sorted wnid order (ImageFolder's)"
    assert all(len(w) == 9 and w[0] == "n" and w[1:].isdigit() for w in wnids)
    # Anchors of the public ILSVRC-2012 class index (imagenet_class_index.json).
    anchors = {
        0: ("n01440764", "tench"),
        30: ("n01641577", "bullfrog"),
        151: ("n02085620", "Chihuahua"),
        268: ("n02113978", "Mexican hairless"),
        281: ("n02123045", "tabby"),
        300: ("n02165105", "tiger beetle"),
        365: ("n02480495", "orangutan"),
        389: ("n02514041", "barracouta"),
        397: ("n02655020", "puffer"),
        999: ("n15075141", "toilet tissue"),
    }
    for index, pair in anchors.items():
        assert classes[index] == pair


@pytest.mark.parametrize("variant,n_classes,n_dogs", [("robustness", 203, 118), ("paper", 96, 11)])
def test_class_mapping_of_both_variants(variant, n_classes, n_dogs):
    by_index = data.restricted_imagenet_classes(variant)
    by_wnid = data.restricted_imagenet_wnids(variant)
    assert len(by_index) == len(by_wnid) == n_classes
    assert set(by_wnid.values()) == set(range(9))
    assert sum(label == 0 for label in by_wnid.values()) == n_dogs
    wnids = data.imagenet_wnids()
    assert all(by_wnid[wnids[c]] == label for c, label in by_index.items())
    if variant == "paper":
        dogs = {w for w, label in by_wnid.items() if label == 0}
        assert dogs == {wnids[c] for c in data.PAPER_DOG_CLASSES}
        assert "n02113978" in dogs and "n02085620" not in dogs  # 268 kept, 151 dropped


# --------------------------------------------------------------------------
# Finding the data, and clear errors


def test_root_rule_and_errors(fake_root, tmp_path, monkeypatch):
    monkeypatch.delenv("ODDS_IMAGENET", raising=False)
    assert imagenet.has_imagenet(fake_root) and not imagenet.has_imagenet(tmp_path)
    with pytest.raises(data.DataNotFoundError, match="ODDS_IMAGENET") as err:
        data.load("restricted_imagenet", root=tmp_path, workers=0)
    assert f"{tmp_path}/imagenet/train/<wnid>" in str(err.value)
    monkeypatch.setenv("ODDS_IMAGENET", str(fake_root / "imagenet"))
    assert imagenet.imagenet_root() == fake_root / "imagenet" and imagenet.has_imagenet()
    # a missing wnid folder is named
    broken = tmp_path / "broken"
    shutil.copytree(fake_root / "imagenet", broken / "imagenet")
    shutil.rmtree(broken / "imagenet" / "train" / "n02123045")
    with pytest.raises(data.DataNotFoundError, match=r"lacks 1 of the 203 wnid folders.*n02123045"):
        data.load("restricted_imagenet", root=broken, workers=0)
    shutil.rmtree(broken / "imagenet" / "val")
    with pytest.raises(data.DataNotFoundError, match="val is missing"):
        data.load("restricted_imagenet", "test", root=broken, variant="paper", workers=0)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda r: data.load("restricted_imagenet", root=r, variant="full"), "unknown Restricted"),
        (lambda r: data.load("restricted_imagenet", root=r, crop=4), "crop must be an int >= 8"),
        (lambda r: data.load("restricted_imagenet", root=r, workers=-1), "workers must be"),
        (lambda r: data.load("restricted_imagenet", root=r, epoch_size=0), "epoch_size must"),
        (lambda r: data.load("mnist", root=r, variant="paper"), "mnist takes no loader options"),
        (lambda r: runs.RunConfig("mnist", variant="paper"), "variant is a Restricted ImageNet"),
        (lambda r: runs.RunConfig("restricted_imagenet", variant="all"), "unknown Restricted"),
        (lambda r: models.resnet(block="wide"), "unknown block 'wide'"),
    ],
)
def test_bad_options(fake_root, call, match):
    with pytest.raises(ValueError, match=match):
        call(fake_root)


# --------------------------------------------------------------------------
# The pipeline


def test_splits_counts_and_batches(fake_root):
    data.WARNED.clear()
    with pytest.warns(data.SubsetWarning, match="holds 288 of the published 123,629"):
        tr = data.load("restricted_imagenet", root=fake_root, variant="paper", crop=32, workers=0)
    assert (len(tr), tr.num_classes, tr.split) == (288, 9, "train") and not tr.complete
    assert isinstance(tr, data.Batches)
    assert sorted(set(tr.y.tolist())) == list(range(9))
    te = _load(fake_root, "test", variant="robustness")
    assert len(te) == 203 and te.source.endswith("val")
    assert imagenet.expected_size("robustness", "test") == 203 * 50
    assert imagenet.expected_size("paper", "train") == 123_629
    # evaluation batches: every image once, in order, center-cropped to 32x32
    xs, ys = zip(*te.batches(64), strict=True)
    x, y = torch.cat(xs), torch.cat(ys)
    assert x.shape == (203, 3, 32, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and torch.equal(y, te.y)
    # training batches: epoch_size images drawn at random, augmented
    tr = tr.subset(27, seed=0, balanced=True)
    assert torch.bincount(tr.y, minlength=9).tolist() == [3] * 9
    shuffled = imagenet.FolderData(**{**tr.__dict__, "epoch": 100})
    sizes = [len(yb) for _, yb in shuffled.batches(32, shuffle=True, augment=True)]
    assert sizes == [32, 32, 32, 4] and shuffled.epoch_size == 100


def test_workers_decode_the_same_images(fake_root):
    te = _load(fake_root, "test", crop=16)
    one = torch.cat([x for x, _ in te.batches(50)])
    two = torch.cat(
        [x for x, _ in imagenet.FolderData(**{**te.__dict__, "workers": 2}).batches(50)]
    )
    assert torch.equal(one, two)


def test_missing_note_says_how_to_make_the_panels(tmp_path, monkeypatch):
    monkeypatch.setenv("ODDS_IMAGENET", str(tmp_path))
    note = imagenet.missing_note("Figure 1c", "cpu")
    assert note.startswith(":::{admonition}") and note.rstrip().endswith(":::")
    for needle in ("ODDS_IMAGENET", str(tmp_path), "make sweep GRID=ri PROFILE=paper", "GPU"):
        assert needle in note
    assert "ri" in grids.GRIDS and len(sweep.load_grid("ri", "smoke")) == 2 * 3


def test_large_eps_attacks_are_the_authors():
    l2 = profiles.large_eps_attack("restricted_imagenet", 2)
    assert (l2.eps, l2.steps, l2.step_size, l2.random_start) == (40.0, 40, 1.5, False)
    linf = profiles.large_eps_attack("restricted_imagenet", "inf")
    assert (linf.eps, linf.steps, linf.step_size) == (0.25, 120, 0.003)
    assert profiles.large_eps_attack("cifar10", 2, steps=10).step_size == pytest.approx(0.25 * 4.7)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        profiles.large_eps_attack("mnist", "inf")


def test_class_balanced_accuracy(fake_root):
    te = _load(fake_root, "test", variant="robustness", crop=16)

    class AlwaysDog(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 9).float()

    # 118 of the 203 validation images are dogs; every class counts 1/9 when balanced.
    assert train.evaluate(AlwaysDog(), te) == pytest.approx(118 / 203)
    assert train.evaluate(AlwaysDog(), te, balanced=True) == pytest.approx(1 / 9)
    ok = torch.tensor([True, False, True, True])
    assert train.balanced_accuracy(ok, torch.tensor([0, 0, 2, 2])) == pytest.approx(0.75)


# --------------------------------------------------------------------------
# Training and evaluation at the smoke profile


def test_one_training_step_and_evaluation_at_smoke(fake_root):
    s = profiles.settings("restricted_imagenet", "smoke")
    tr = _load(fake_root, crop=s.data["crop"])
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs)
    before = [p.detach().clone() for p in model.parameters()]
    attack = s.attack(profiles.table2_eps("restricted_imagenet", "inf"), "inf")
    hist = train.train(
        model,
        tr,
        epochs=1,
        max_steps=1,
        batch_size=s.batch_size,
        lr=s.lr,
        augment=True,
        mix="adversarial",
        attack=attack,
        progress=False,
    )
    assert hist[0]["steps"] == 1 and np.isfinite(hist[0]["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    te = _load(fake_root, "test", crop=s.data["crop"]).subset(16, seed=0)
    acc = train.evaluate(model, te, s.attack(0.005, "inf", kind="eval"), batch_size=8)
    assert 0 <= acc <= train.evaluate(model, te, batch_size=8) <= 1


def test_train_run_end_to_end(imagenet_env, tmp_path):
    config = runs.RunConfig(
        "restricted_imagenet", "smoke", mix="adversarial", eps_train=1.0, norm=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.SubsetWarning)
        model, run = runs.train_run(config, store=Store(tmp_path), device="cpu", progress=False)
    m = run.metrics
    assert (m["n_train"], m["n_test"], m["steps"]) == (288, 16, 2)
    for key in ("std_acc", "adv_acc", "std_acc_balanced", "adv_acc_balanced"):
        assert 0 <= m[key] <= 1
    assert m["adv_acc"] <= m["std_acc"]
    assert run.settings["profile_settings"]["data"]["variant"] == "paper"
    # the other variant is another run, keyed apart
    other = runs.RunConfig(**{**config.__dict__, "variant": "robustness"})
    assert runs.run_key(other) != runs.run_key(config)
    named = runs.RunConfig(**{**config.__dict__, "variant": "paper"})  # the profile's own
    assert runs.run_key(named) == runs.run_key(config)
    assert "variant" not in runs.RunConfig("mnist").key_dict()
