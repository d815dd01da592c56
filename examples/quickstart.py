"""Quickstart: train a small model on 500 MNIST images, then its standard and PGD accuracy.

Runs in seconds on a CPU. MNIST is read from the data root (``$ODDS_DATA``, else
``data/`` at the repository root; torchvision downloads it there when online).

    python examples/quickstart.py

Pixels are in [0, 1] and eps is in that pixel space; normalization, if a model
wants one, belongs inside the model. ``precision="auto"`` (the default) runs
bf16 where the hardware has it: pass ``precision="fp32"`` for fp32 everywhere.
"""

import time

import torch
from torch import nn

from lib import data, runtime
from lib.attacks import PGD, pgd
from lib.train import evaluate, train

start, cpu_start = time.perf_counter(), time.process_time()
torch.manual_seed(0)

# 500 training images (50 per class) and the first 500 test images, as uint8 tensors.
train_set = data.load("mnist", "train").subset(500, seed=0, balanced=True)
test_set = data.load("mnist", "test").head(500)

# Any nn.Module mapping [0, 1] images to logits will do; a small one trains in seconds.
model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 10))
train(model, train_set, epochs=10, batch_size=50, lr=1e-3, optimizer="adam", progress=False)

# l_inf PGD, eps 0.1 in [0, 1] pixel space, 10 steps of 2.5 * eps / steps (Madry et al.).
attack = PGD(eps=0.1, norm="Linf", steps=10)
standard = evaluate(model, test_set)
robust = evaluate(model, test_set, attack, generator=torch.Generator().manual_seed(0))

# The functional form, on one batch: x in [0, 1], y the true labels.
x, y = test_set.inputs()[:100], test_set.y[:100]
x_adv = pgd(model, x, y, eps=0.1, norm="Linf", steps=10)
moved = (x_adv - x).abs().max().item()

precision = runtime.resolve_precision("auto", "cpu")
print(f"precision: {precision} (precision='auto' on this CPU; pass precision='fp32' for fp32)")
print(f"attack: {attack.describe()}")
print(f"standard accuracy: {standard:.3f} on {len(test_set)} MNIST test images")
print(f"PGD accuracy: {robust:.3f} on the same images")
print(f"largest pixel change of pgd(...): {moved:.3f} (eps 0.1)")
wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
print(f"time: {wall:.1f} s wall, {cpu:.1f} s CPU (after the imports)")
