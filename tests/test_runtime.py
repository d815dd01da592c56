"""lib.runtime: the allocator setting the chapters and workers make."""

import subprocess
import sys

import pytest

from lib import runtime

# A 64 MB buffer made and freed again and again (as a training step's
# activations are): the minor page faults it costs, with and without the setting.
_FAULTS = """
import resource, sys, torch
from lib import runtime
if sys.argv[1] == "keep":
    assert runtime.keep_freed_memory()
for _ in range(5):  # the first few fault in either case, as the heap settles
    torch.ones(16 * 2**20).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
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
    # 10 x 64 MB of fresh pages is about 160,000 faults of 4 KiB; reused, a handful
    default, kept = _faults("default"), _faults("keep")
    assert default > 50_000, default
    assert kept < default / 20, (kept, default)
