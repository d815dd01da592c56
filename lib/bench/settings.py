"""What a benchmark run measures: the models, sizes and settings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from lib import attacks, models, runtime

RESULTS = runtime.PROJECT_ROOT / "results" / "bench"

#: Per model: its name in lib.models.ARCHS (built by lib.models.build), input
#: shape, classes, and eps per norm in [0, 1] pixel space; the step size is
#: the relative rule 2.5 eps / k (lib.attacks.step_size). The eps are
#: representative, not all Table 2's: MNIST l_inf 0.3 and ResNet-50's
#: (Restricted ImageNet 0.005, 1.0) are Table 2's; MNIST l2 2.5 is Table 4's
#: largest; CIFAR-10 l_inf 8/255 is the cifar10_challenge training eps and
#: l2 0.5 a common CIFAR-10 l2 eps (Table 2: 4/255 and 0.314). Speed does
#: not depend on eps; the committed results were measured with these.
MODELS = {
    "mnist_cnn": ("mnist_cnn", (1, 28, 28), 10, {"inf": 0.3, 2: 2.5}),
    "cifar_resnet": ("cifar_resnet", (3, 32, 32), 10, {"inf": 8 / 255, 2: 0.5}),
    "resnet50": ("resnet50", (3, 224, 224), 9, {"inf": 0.005, 2: 1.0}),
}
#: The data set whose `cpu` recipe (model and training attack) each bench model stands for.
CPU_DATASET = {"mnist_cnn": "mnist", "cifar_resnet": "cifar10"}
BENCH_MODEL = {dataset: name for name, dataset in CPU_DATASET.items()}
#: Narrow versions for the tiny size (the test suite).
TINY_KWARGS = {
    "mnist_cnn": {"channels": (4, 8), "hidden": 32},
    "cifar_resnet": {"widths": (4, 4, 8, 8), "units": 1},
    "resnet50": {},
}

SECTIONS = ("attack", "train", "train_throughput", "equal")


@dataclass(frozen=True)
class BenchSettings:
    """What one benchmark run measures; see :data:`SIZES`."""

    models: tuple[str, ...] = ("mnist_cnn", "cifar_resnet")
    batches: tuple[int, ...] = (128, 512)
    norms: tuple[str | int, ...] = ("inf", 2)
    steps: int = 10  # PGD steps per attack
    rounds: int = 3  # timed rounds (median); one warm-up before
    train_steps: int = 7  # k of the PGD-k adversarial epoch
    train_images: int = 1024  # images per benchmark epoch
    train_batch: int = 128
    equal_images: int = 1000  # test images of the equal-results check
    equal_train_steps: int = 400
    compile: str | None = None  # also time ours with torch.compile(mode=compile)
    # Compiling pays off where kernel launches dominate (small models); a
    # ResNet-50 step is compute-bound and takes minutes to compile.
    compile_models: tuple[str, ...] = ("mnist_cnn", "cifar_resnet")
    tiny: bool = False  # narrow models (tests)

    def __post_init__(self):
        for m in self.models:
            if m not in MODELS:
                raise ValueError(f"unknown model {m!r}; allowed: {', '.join(MODELS)}")
        object.__setattr__(self, "norms", tuple(attacks.check_norm(n) for n in self.norms))
        for name in ("steps", "rounds", "train_steps", "train_images", "train_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.batches or any(not isinstance(b, int) or b < 1 for b in self.batches):
            raise ValueError(f"batches must be positive ints, got {self.batches!r}")
        if self.compile is not None and self.compile not in runtime.COMPILE_MODES:
            raise ValueError(
                f"compile must be None or one of {runtime.COMPILE_MODES}, got {self.compile!r}"
            )


SIZES = {
    "full": BenchSettings(),
    "quick": BenchSettings(batches=(128,), rounds=2, train_images=512, equal_train_steps=200),
    "tiny": BenchSettings(
        batches=(8,),
        steps=2,
        rounds=1,
        train_steps=2,
        train_images=32,
        train_batch=16,
        equal_images=64,
        equal_train_steps=20,
        tiny=True,
    ),
}


def settings_for(size: str, device: torch.device, **overrides) -> BenchSettings:
    """The named size's settings, with ResNet-50 added on a GPU (too slow on a CPU)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; allowed: {', '.join(SIZES)}")
    s = SIZES[size]
    if device.type == "cuda" and not s.tiny:
        # A GPU runs a 1,024-image epoch of a small model in milliseconds.
        s = replace(s, models=(*s.models, "resnet50"), train_images=8192)
    return replace(s, **{k: v for k, v in overrides.items() if v is not None})


def build_model(name: str, tiny: bool) -> torch.nn.Module:
    arch, _, classes, _ = MODELS[name]
    return models.build(arch, classes=classes, **(TINY_KWARGS[name] if tiny else {}))
