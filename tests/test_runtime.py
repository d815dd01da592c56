"""lib.runtime: the allocator setting the linear chapter makes (and the bench on request)."""

import subprocess
import sys

import pytest

from lib import runtime

# A 64 MB buffer made and freed again and again (as the linear chapter's
# full-batch steps do): the minor page faults it costs, with and without the setting.
_FAULTS = """
import resource, sys, torch
from lib import runtime
if sys.argv[1] == "keep":
    assert runtime.allocator() == "the C library's default"
    assert runtime.keep_freed_memory()
    assert runtime.allocator().startswith("glibc, freed memory kept")  # the bench records it
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    torch.ones(16 * 2**20).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=runtime.PROJECT_ROOT,
    )
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_memory_is_reused_not_faulted_in_again():
    # 30 x 64 MB of fresh pages is about 490,000 faults of 4 KiB. Kept, the first
    # few fault too (measured: 6 to 8 of them, as the heap settles), then none.
    default, kept = _faults("default"), _faults("keep")
    assert default > 400_000, default
    assert kept < default / 2, (kept, default)


@pytest.fixture
def tf32_flags():
    """The TF32 flags as they were, restored after the test."""
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_fp32_on_cuda_turns_tf32_off(tf32_flags):
    import torch

    # PyTorch's default lets cuDNN run fp32 convolutions in TF32
    torch.backends.cudnn.allow_tf32 = True
    assert not runtime.fp32_is_strict()
    runtime.autocast("cpu", "fp32")  # the CPU has no TF32: nothing to change
    assert not runtime.fp32_is_strict()
    runtime.autocast("cuda", "fp32")  # made, not entered: no GPU needed
    assert runtime.fp32_is_strict()
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32


def test_odds_device_names_the_device(monkeypatch):
    monkeypatch.setenv("ODDS_DEVICE", "cpu")
    assert str(runtime.default_device()) == "cpu" and runtime.device_was_asked()
    monkeypatch.delenv("ODDS_DEVICE")
    assert not runtime.device_was_asked()
