"""lib.benefits_proxy: B2 / B3's judges, their negative controls and the proxy rule."""

from __future__ import annotations

import pytest
import torch

from lib import benefits_proxy as proxy
from lib import verdicts
from lib.judging import Rate

PROXY = "a proxy"


def test_nearest_neighbour_is_the_nearest_training_image():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]).view(3, 1, 1, 2)
    judge = proxy.NearestNeighbour(x, torch.tensor([3, 7, 5]))
    q = torch.tensor([[0.1, 0.0], [0.9, 0.8], [0.1, 0.9], [1.0, 1.0]]).view(4, 1, 1, 2)
    assert judge(q).argmax(1).tolist() == [3, 7, 5, 7]
    assert judge(q, batch=1).argmax(1).tolist() == [3, 7, 5, 7]  # batching changes nothing


@pytest.mark.parametrize("norm", ["inf", 2])
def test_same_norm_noise_has_the_perturbations_norm(norm):
    g = torch.Generator().manual_seed(0)
    x = 0.3 + 0.4 * torch.rand(5, 1, 8, 8, generator=g)  # away from the box: no clipping
    delta = 0.2 * (torch.rand(5, 1, 8, 8, generator=g) - 0.5)
    noisy = proxy.same_norm_noise(x, x + delta, norm)
    size = lambda d: d.flatten(1).abs().amax(1) if norm == "inf" else d.flatten(1).norm(dim=1)  # noqa: E731
    assert torch.allclose(size(noisy - x), size(delta), atol=1e-6)
    assert not torch.allclose(noisy - x, delta)  # another direction
    assert 0 <= noisy.min() and noisy.max() <= 1


def test_symmetric_items_need_every_model_right_and_both_moved():
    y = torch.tensor([0, 1, 2, 3])
    clean = [torch.tensor([0, 1, 2, 0]), torch.tensor([0, 1, 2, 3])]
    new_r, new_s = torch.tensor([5, 1, 6, 7]), torch.tensor([5, 4, 6, 7])
    assert proxy.symmetric_items(y, clean, new_r, new_s).tolist() == [True, False, True, False]


def test_controls_pass_only_above_the_majority_beyond_noise():
    ok = proxy.Controls(Rate(90, 100), Rate(80, 100))
    assert ok.passed()
    assert not proxy.Controls(Rate(90, 100), Rate(55, 100)).passed()  # 55% is within noise
    assert not proxy.Controls(Rate(0, 0), Rate(80, 100)).passed()
    y = torch.tensor([1, 2, 3, 4])
    c = proxy.controls_of(y, torch.tensor([1, 2, 3, 0]), torch.tensor([0, 0, 3, 4]))
    assert (c.noise.k, c.standard.k) == (3, 2) and c.noise.n == 4


def test_one_step_paths():
    path = torch.tensor([[1, 1, 2, 2], [1, 3, 2, 2], [1, 1, 1, 1], [0, 0, 2, 2]])
    assert proxy.one_step(path, torch.tensor(1), torch.tensor(2)).tolist() == [
        True,
        False,
        False,
        False,
    ]


def _arms(k_robust, k_standard, n=100):
    return torch.arange(n) < k_robust, torch.arange(n) < k_standard


def test_proxy_judgement_validated_is_capped():
    good = proxy.Controls(Rate(95, 100), Rate(90, 100))
    j = proxy.proxy_judgement(*_arms(80, 10), good, name="e", z=2.0, why=PROXY)
    assert j.verdict == verdicts.QUALITATIVE and PROXY in j.reason
    j = proxy.proxy_judgement(*_arms(10, 80), good, name="e", z=2.0, why=PROXY)
    assert j.verdict == verdicts.NOT_REPRODUCED  # a validated judge may refute


def test_an_unvalidated_proxy_neither_confirms_nor_refutes():
    # the committed cpu mnist l_inf judge: it adopted the standard model's class 86%
    bad = proxy.Controls(Rate(95, 100), Rate(14, 100))
    for k_robust, k_standard in ((10, 86), (86, 10)):
        j = proxy.proxy_judgement(*_arms(k_robust, k_standard), bad, name="e", z=2.0, why=PROXY)
        assert j.verdict == verdicts.INCONCLUSIVE and j.reason.startswith(proxy.UNVALIDATED)
    j = proxy.proxy_judgement(*_arms(10, 86), None, name="e", z=2.0, why=PROXY)
    assert j.verdict == verdicts.INCONCLUSIVE and "no controls" in j.reason


def test_no_proxy_verdict_on_fewer_than_50_images():
    # the committed cpu row: 8 of 16 (robust) on 16 images
    good = proxy.Controls(Rate(16, 16), Rate(16, 16))
    j = proxy.proxy_judgement(*_arms(2, 14, n=16), good, name="e", z=2.0, why=PROXY)
    assert j.verdict == verdicts.INCONCLUSIVE and "16 images" in j.reason
    assert proxy.proxy_judgement([], [], good, name="e", z=2.0, why=PROXY).verdict == (
        verdicts.INCONCLUSIVE
    )


def test_judges_row_counts_only_validated_judges():
    good = proxy.Controls(Rate(95, 100), Rate(90, 100))
    bad = proxy.Controls(Rate(30, 100), Rate(90, 100))
    yes = proxy.proxy_judgement(*_arms(80, 10), good, name="e", z=2.0, why=PROXY)
    no = proxy.proxy_judgement(*_arms(10, 80), bad, name="e", z=2.0, why=PROXY)
    row = proxy.judges_row({"model": no, "pixels": yes})
    assert row.verdict == verdicts.QUALITATIVE and "not counted: model" in row.reason
    row = proxy.judges_row({"model": no})
    assert row.verdict == verdicts.INCONCLUSIVE and proxy.UNVALIDATED in row.reason
