"""Loaders, subsets, batching, augmentation, and the sampler of D."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib import data


def test_mnist_and_binary_mnist():
    tr = data.load("mnist", "train")
    assert tr.x.shape == (60_000, 1, 28, 28) and tr.x.dtype == torch.uint8
    assert tr.complete and tr.num_classes == 10
    b = data.load("binary_mnist", "test")
    full = data.load("mnist", "test")
    assert len(b) == int(((full.y == 5) | (full.y == 7)).sum())
    assert b.classes == ("5", "7") and set(b.y.tolist()) == {0, 1}
    # class 1 ("7", the paper's +1) holds exactly the 7s
    assert int(b.y.sum()) == int((full.y == 7).sum())


def test_inputs_are_in_pixel_space():
    # Exactly pixel / 255: a white pixel is 1.0, not 255/256 (catches a 1/256 scale,
    # a missing scale, or inputs left as uint8).
    ds = data.load("mnist", "test")
    x = ds.inputs(slice(0, 100))
    assert x.dtype == torch.float32 and x.min() == 0 and x.max() == 1
    assert torch.equal(x, ds.x[:100].double().div(255).float())
    assert torch.equal(next(ds.batches(100))[0], x)


def test_cifar10_from_npz_warns_when_incomplete(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = np.arange(20) % 10
    np.savez(tmp_path / "cifar10.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    with pytest.warns(data.SubsetWarning, match="20 of the official 50,000"):
        c = data.load("cifar10", "train", root=tmp_path, download=False)
    assert c.x.shape == (20, 3, 32, 32) and not c.complete
    assert torch.equal(c.x[3].permute(1, 2, 0), torch.as_tensor(x[3]))


def test_missing_data_gives_a_clear_error(tmp_path):
    for name, needle in [("mnist", "MNIST/raw"), ("cifar10", "cifar10.npz")]:
        with pytest.raises(data.DataNotFoundError, match="ODDS_DATA") as err:
            data.load(name, "train", root=tmp_path, download=False)
        assert needle in str(err.value)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: data.load("imagenet"), "unknown dataset 'imagenet'; allowed: mnist"),
        (lambda: data.load("mnist", "val"), "unknown split"),
        (lambda: data.restricted_imagenet_classes("full"), "unknown Restricted ImageNet variant"),
    ],
)
def test_bad_names(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_subsets():
    te = data.load("mnist", "test")
    s = te.subset(100, seed=0, balanced=True)
    assert torch.bincount(s.y, minlength=10).tolist() == [10] * 10
    s2 = te.subset(100, seed=0, balanced=True)
    assert torch.equal(s.x, s2.x)
    assert not torch.equal(s.y, te.subset(100, seed=1, balanced=True).y) or not torch.equal(
        s.x, te.subset(100, seed=1, balanced=True).x
    )
    assert torch.bincount(te.subset(13, seed=0, balanced=True).y, minlength=10).tolist() == [
        2,
        2,
        2,
        1,
        1,
        1,
        1,
        1,
        1,
        1,
    ]
    with pytest.raises(ValueError, match="larger than the mnist test set"):
        te.subset(10_001)
    with pytest.raises(ValueError, match="positive int"):
        te.subset(0)


def test_batches_visit_every_example_once():
    te = data.load("mnist", "test").subset(1000, seed=0)
    g = torch.Generator().manual_seed(0)
    ys = [y for _, y in te.batches(128, shuffle=True, generator=g)]
    assert [len(y) for y in ys] == [128] * 7 + [104]
    assert torch.equal(torch.cat(ys).sort().values, te.y.sort().values)
    assert sum(1 for _ in te.batches(128, drop_last=True)) == 7


def test_crop_flip_is_a_shifted_or_mirrored_copy():
    x = torch.rand(64, 3, 8, 8)
    out = data.crop_flip(x, pad=0, generator=torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(3)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    padded = data.crop_flip(x, pad=2, generator=torch.Generator().manual_seed(0))
    assert padded.shape == x.shape
    # zero padding shows up as zero rows or columns in shifted crops
    assert (padded == 0).any()


def test_restricted_imagenet_class_lists():
    robustness = data.restricted_imagenet_classes("robustness")
    paper = data.restricted_imagenet_classes("paper")
    assert len(robustness) == 203 and len(paper) == 96
    assert sorted(set(robustness.values())) == list(range(9))
    assert [c for c, label in paper.items() if label == 0] == list(data.PAPER_DOG_CLASSES)
    assert robustness[30] == 2 and robustness[319] == 8


# --------------------------------------------------------------------------
# Distribution D


def test_sample_d_moments():
    p, d, eta, n = 0.95, 50, 0.3, 40_000
    x, y = data.sample_d(n, p=p, d=d, eta=eta, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, d + 1) and set(y.unique().tolist()) == {-1.0, 1.0}
    se = lambda q: 4 * math.sqrt(q * (1 - q) / n)  # noqa: E731
    assert abs((x[:, 0] == y).float().mean().item() - p) < se(p)
    assert abs((y == 1).float().mean().item() - 0.5) < se(0.5)
    weak = x[:, 1:] * y[:, None]  # ~ N(eta, 1)
    assert abs(weak.mean().item() - eta) < 4 / math.sqrt(n * d)
    assert abs(weak.std().item() - 1) < 0.01


def test_sample_d_is_seeded():
    a = data.sample_d(10, p=0.9, d=3, eta=1.0, generator=torch.Generator().manual_seed(5))
    b = data.sample_d(10, p=0.9, d=3, eta=1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(p=0.4), r"p must lie in \[0.5, 1\]"),
        (dict(p=1.1), r"p must lie in \[0.5, 1\]"),
        (dict(d=0), "d .* must be an int >= 1"),
        (dict(eta=-0.1), "eta must be >= 0"),
        (dict(n=0), "n must be a positive int"),
    ],
)
def test_sample_d_bad_parameters(kwargs, match):
    args = dict(n=10, p=0.95, d=10, eta=0.1) | kwargs
    n = args.pop("n")
    with pytest.raises(ValueError, match=match):
        data.sample_d(n, **args)


def test_feature_label_correlation():
    tr = data.load("binary_mnist", "test")
    corr = data.feature_label_correlation(tr)
    assert corr.shape == (784,)
    s = (2 * tr.y - 1).float()
    i = int(corr.abs().argmax())
    assert corr[i].item() == pytest.approx(
        (tr.inputs()[:, 0].flatten(1)[:, i] * s).mean().item(), abs=1e-6
    )
    assert corr[0].item() == 0  # a corner pixel is always black
    with pytest.raises(ValueError, match="needs a binary data set"):
        data.feature_label_correlation(data.load("mnist", "test"))


def _cifar_npz(path, **override):
    x = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    arrays = dict(x_train=x, y_train=np.arange(20) % 10, x_test=x[:10], y_test=np.arange(10))
    arrays.update(override)
    np.savez(path / "cifar10.npz", **arrays)
    return path / "cifar10.npz"


_X = np.random.default_rng(1).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "override,match",
    [
        (dict(x_train=_X.astype(np.float32) / 255), "x_train has dtype float32"),
        (dict(x_train=_X.astype(np.int16)), "x_train has dtype int16"),
        (dict(x_train=_X.transpose(0, 3, 1, 2).copy()), r"shape \(20, 3, 32, 32\) \(NCHW"),
        (dict(x_train=_X[:, :28, :28]), r"shape \(20, 28, 28, 3\)"),
        (dict(y_train=np.arange(20) % 10 + 10), "labels 10..19"),
        (dict(y_train=-(np.arange(20) % 10)), r"labels -9..0"),
        (dict(y_train=np.arange(19) % 10), r"y_train has shape \(19,\) for 20 images"),
        (dict(y_train=(np.arange(20) % 10).astype(np.float64)), "y_train has dtype float64"),
    ],
)
def test_cifar10_npz_is_validated(tmp_path, override, match):
    path = _cifar_npz(tmp_path, **override)
    with pytest.raises(ValueError, match=match) as err:
        data.load("cifar10", "train", root=tmp_path, download=False)
    assert str(path) in str(err.value) and "expected x_train uint8" in str(err.value)


def test_cifar10_npz_without_the_split(tmp_path):
    x = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "cifar10.npz", x_test=x, y_test=np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"cifar10.npz is unusable: it has no array \['x_train'"):
        data.load("cifar10", "train", root=tmp_path, download=False)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04truncated"])
def test_corrupt_cifar10_npz_names_the_file(tmp_path, content):
    (tmp_path / "cifar10.npz").write_bytes(content)
    with pytest.raises(ValueError, match="corrupt or unreadable") as err:
        data.load("cifar10", "test", root=tmp_path, download=False)
    assert str(tmp_path / "cifar10.npz") in str(err.value)


@pytest.mark.parametrize("broken", ["empty", "junk"])
def test_cifar10_npz_is_tried_when_the_torchvision_folder_is_broken(tmp_path, broken):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    if broken == "junk":  # an interrupted download
        (folder / "data_batch_1").write_bytes(b"\x80junk")
    _cifar_npz(tmp_path)
    c = data.load("cifar10", "test", root=tmp_path, download=False)
    assert c.x.shape == (10, 3, 32, 32) and c.source == str(tmp_path / "cifar10.npz")
    (tmp_path / "cifar10.npz").unlink()
    if broken == "junk":
        with pytest.raises(ValueError, match="incomplete or corrupt") as err:
            data.load("cifar10", "train", root=tmp_path, download=False)
        assert str(folder) in str(err.value)


# -- found by mutation testing (issue 41, lab/mutation/) ----------------------------------
def _ten_classes(n=40):
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1)
    return data.TensorData("mnist", "test", x, torch.arange(n) % 10, tuple("0123456789"))


def test_head_and_defaults_keep_the_order():
    ds = _ten_classes()
    head = ds.head(7)
    assert len(head) == 7 and torch.equal(head.y, ds.y[:7]) and torch.equal(head.x, ds.x[:7])
    assert ds.head(None) is ds and ds.head(40) is ds
    # batches default to the data's order, the last short batch kept (catches shuffle
    # or drop_last on by default)
    xs, ys = zip(*ds.batches(16), strict=True)
    assert [len(y) for y in ys] == [16, 16, 8] and torch.equal(torch.cat(ys), ds.y)
    assert torch.equal(torch.cat(xs).flatten(), torch.arange(40.0) / 255)


def test_a_balanced_subset_can_take_every_example_of_a_class():
    ds = _ten_classes()  # 4 of each class
    s = ds.subset(40, seed=3, balanced=True)  # catches want >= members refusing it
    assert torch.equal(s.y, ds.y)  # sorted indices: the whole set, in its order
    few = data.TensorData("mnist", "test", ds.x[:12], (torch.arange(12) > 1).long(), ("a", "b"))
    with pytest.raises(ValueError, match="needs 3 examples of class 'a', the mnist test set has 2"):
        few.subset(6, seed=0, balanced=True)


def test_a_run_s_test_images_do_not_depend_on_its_seed():
    # The test subset is the profile's first-n_test draw with seed 0 for every run; the
    # training subset follows the run's seed (catches the seed applied to the test split,
    # or dropped from the training one); whole=True gives the whole split.
    from lib.experiments.runs import RunConfig, run_data

    a, b = (RunConfig("mnist", "smoke", seed=s, precision="fp32") for s in (0, 1))
    test_a, test_b = run_data(a, "test", device="cpu"), run_data(b, "test", device="cpu")
    assert len(test_a) < 10_000 and torch.equal(test_a.x, test_b.x)
    assert torch.equal(test_a.y, test_b.y)
    train_a, train_b = run_data(a, "train", device="cpu"), run_data(b, "train", device="cpu")
    assert len(train_a) == len(train_b) and not torch.equal(train_a.y, train_b.y)
    counts = torch.bincount(train_a.y, minlength=10)
    assert counts.max() - counts.min() <= 1  # class-balanced
    assert len(run_data(a, "test", device="cpu", whole=True)) == 10_000


def test_to_moves_images_and_labels():
    # both tensors on the new device (catches labels left behind; "meta" stands in for a
    # GPU on a machine without one)
    moved = _ten_classes().to("meta")
    assert moved.x.device.type == "meta" and moved.y.device.type == "meta"
