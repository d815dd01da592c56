"""What the authors' released code sets, and the setup facts worked out from it.

The paper's Appendix A points to the code (MadryLab/mnist_challenge,
cifar10_challenge, robust-features-code); the ledger's S1-S4 are checked
against these. eps and step sizes are in [0, 1] pixel space.
"""

from __future__ import annotations

#: The setup facts' references (S1, S2), worked out by hand from the authors' code
#: and the paper.
SETUP_LEDGER = {
    # mnist_challenge model.py: conv 5x5x1x32 + 32, conv 5x5x32x64 + 64, fc 3136x1024 + 1024,
    # fc 1024x10 + 10.
    "mnist_cnn": 3_274_634,
    # cifar10_challenge model.py with filters (16, 16, 32, 64), 5 units per group: init conv
    # 3x3x3x16 (no bias); per unit two batch norms (scale and centre) and two 3x3 convs (no
    # bias); a final batch norm and fc 64x10 + 10: 432 + 23,360 + 88,160 + 351,424 + 128 + 650.
    "cifar_resnet": 464_154,
    # torchvision resnet50: 25,557,032 parameters with 1,000 outputs; with 9 the fc layer
    # shrinks from 2048x1000 + 1000 to 2048x9 + 9: 25,557,032 - 2,049,000 + 18,441.
    "resnet50_9": 23_526_473,
    # Table 1's classes: all of them (MadryLab/robustness) or the paper's code's 96
    # (robust-features-code keeps 11 of the 118 dog classes), and its training images.
    "ri_robustness": 203,
    "ri_paper": 96,
    "ri_superclasses": 9,
    "ri_paper_train": 123_629,
}

#: S3: the authors' released l_inf PGD: (steps, step size / eps), by (data set, use).
AUTHORS_PGD = {
    ("mnist", "train"): (40, 0.01 / 0.3),  # mnist_challenge: 40 steps of 0.01 at eps 0.3
    ("cifar10", "train"): (7, 1 / 4),  # cifar10_challenge: 7 steps of 2/255 at eps 8/255
    ("cifar10", "eval"): (20, 1 / 8),  # ... evaluated with 20 steps of 1/255
    ("restricted_imagenet", "train"): (8, 1 / 4),  # robust-features-code: 8 steps of eps/4
}

#: S4: the authors' large-eps examples of Restricted ImageNet (robust-features-code,
#: make_visualizations.py): norm -> (eps, steps, step size).
RI_LARGE_EPS = {2: (40.0, 40, 1.5), "inf": (0.25, 120, 0.003)}

#: S4: the authors' display of input gradients (make_visualizations.py): clipped to
#: +- this many standard deviations (CIFAR-10, Restricted ImageNet); MNIST by sign.
GRADIENT_CLIP_SIGMA = 3

#: S4 / Figure 4: the interpolation x + t delta has this many frames, t from 0 to 1.
FIG4_FRAMES = 20
