"""What do the benefits chapter's sections cost at `smoke` after issue 39's B1-B4 (one thread)?

Times B1 (3 models, 4 untrained networks, the control), B2 (large-eps examples, two
judges on MNIST, controls) and B3 (both arms' paths under each judge) on the smoke
models of the store, and torchattacks' Square at 20, 200 and 1,000 queries on 64
MNIST test images of the smoke l_inf model. Prints; no file. Run from the repository
root with ``OMP_NUM_THREADS=1`` and ``ODDS_STORE`` at a store holding the smoke runs.
"""

import time

import torch
import torchattacks

from lib import benefits
from lib.attacks.fast import eval_view
from lib.chapters import benefits as bf
from lib.data import load_split
from lib.experiments import runs as runs_lib

t = time.perf_counter()
nets, runs, tests = bf.load_models("smoke", 0, "cpu")
randoms = bf.random_nets("smoke", "cpu")
t0 = time.perf_counter()
b1 = bf.b1_section(nets, tests, 64, randoms)
t1 = time.perf_counter()
pixel = bf.pixel_judges("smoke", 0, "cpu")
b2 = bf.b2_section(nets, tests, 64, steps=10, pixel=pixel)
t2 = time.perf_counter()
bf.b3_section(nets, tests, b2, pixel=pixel)
t3 = time.perf_counter()
print(f"B1 {t1 - t0:.1f} s, B2 {t2 - t1:.1f} s, B3 {t3 - t2:.1f} s")

net, _ = runs_lib.train_run(benefits.run_config("mnist", "linf", "smoke", 0), progress=False)
ds = load_split("mnist", "test", None, seed=0, device="cpu")
x, y = ds.inputs(slice(0, 64)), ds.y[:64]
eps = benefits.train_eps("mnist", "inf", "smoke")
for q in (20, 200, 1000):
    square = torchattacks.Square(eval_view(net), norm="Linf", eps=eps, n_queries=q, seed=0)
    start = time.perf_counter()
    x_adv = square(x, y)
    with torch.no_grad():
        acc = (net(x_adv).argmax(1) == y).float().mean().item()
    print(f"Square {q} queries: {time.perf_counter() - start:.2f} s, accuracy {acc:.1%}")
