"""One configuration, end to end, through the store.

:class:`RunConfig` names a run; the profile's settings resolve it into a
:class:`Plan` (what will run, on which device, and its store key: made once
and carried); :func:`train_run` returns the stored run of a configuration or
makes it (:func:`lib.experiments.make_run.make_run`: :func:`lib.train.train`
with the profile's recipe, then the metrics);
:func:`run_data` reads the data a run trains and is evaluated on (chosen in
:mod:`lib.experiments.plan_data`); :mod:`lib.experiments.run_checks` decides
whether a stored run may be served. Evaluations of a stored run at another eps
or norm, and the strong evaluation, are :mod:`lib.experiments.evals`;
:class:`lib.experiments.results.Results` queries the stored runs of a grid for
the chapters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import torch

from lib import data as data_lib
from lib import models, runtime
from lib.attacks import check_bn_mode, check_eps, check_norm
from lib.experiments import profiles
from lib.experiments.make_run import make_run
from lib.experiments.plan_data import plan_split
from lib.experiments.run_checks import usable_run
from lib.experiments.store import Run, Store, key_of
from lib.train import check_mix


@dataclass(frozen=True)
class RunConfig:
    """One training run's settings: with the profile's recipe, they key the store.

    The same configuration is trained once (:func:`train_run`). The norm is
    kept in its canonical spelling (``"inf"`` or ``2``): spellings never split a key.

    Args:
        dataset (str): ``"mnist"``, ``"binary_mnist"``, ``"cifar10"`` or
            ``"restricted_imagenet"``. Required.
        profile (str): the scale: ``"smoke"`` (seconds), ``"cpu"`` (minutes on
            a laptop) or ``"paper"`` (the paper's recipes, a GPU).
            (Default: "cpu")
        mix (str): ``"clean"``, ``"adversarial"``, ``"half"`` or ``"trades"``
            (see :func:`lib.train.train`). (Default: "clean")
        norm (str | int): threat model of training and evaluation: ``"Linf"``
            or ``"L2"`` (any spelling of ``check_norm``). (Default: "inf")
        eps_train (float): training eps in [0, 1] pixel space; 0 with
            ``mix="clean"``. (Default: 0.0)
        eps_eval (float | None): evaluation eps in [0, 1] pixel space.
            (Default: None: ``eps_train``, or Table 2's when that is 0)
        n_train, max_steps (int | None): training images, optimizer steps.
            (Default: None: the profile's)
        bn_mode (str): mode while the training attack runs. (Default: "eval")
        seed (int): seeds initialization, batches and attack starts. (Default: 0)
        precision (str): ``"auto"`` (bf16 where the hardware has it:
            :func:`lib.runtime.resolve_precision`), ``"bf16"`` or ``"fp32"``.
            (Default: "auto")
        variant (str | None): Restricted ImageNet's. (Default: None: the profile's)
        beta (float | None): TRADES' weight, with ``mix="trades"``. (Default: None)
        eval_every (int | None): record test accuracy every this many steps.
            (Default: None)

    Example:
        >>> from lib.experiments.runs import RunConfig, train_run
        >>> cfg = RunConfig("mnist", "smoke", "adversarial", norm="Linf", eps_train=0.3)
        >>> model, run = train_run(cfg)
        >>> run.metrics["std_acc"], run.metrics["adv_acc"]
    """

    dataset: str  # a name of lib.data.DATASETS
    profile: str = "cpu"  # a name of lib.experiments.profiles.PROFILES
    mix: str = "clean"  # "clean", "adversarial", "half" or "trades"
    norm: str | int = "inf"  # threat model of training and evaluation: "inf" or 2
    eps_train: float = 0.0  # training eps, [0, 1] pixel space; 0 with mix="clean"
    eps_eval: float | None = None  # evaluation eps; None: eps_train, or Table 2's if that is 0
    n_train: int | None = None  # training images; None = the profile's
    max_steps: int | None = None  # optimizer steps; None = the profile's
    bn_mode: str = "eval"  # model mode while the training attack runs: "eval" or "train"
    seed: int = 0  # seeds model initialization, batch order, augmentation, attack starts
    precision: str = "auto"  # "auto", "bf16" or "fp32"
    variant: str | None = None  # Restricted ImageNet: "paper" or "robustness"; None: the profile's
    beta: float | None = None  # TRADES' weight of the KL term, with mix="trades" only
    eval_every: int | None = None  # record test accuracy every this many steps (a curve)

    def __post_init__(self):
        data_lib.check_dataset(self.dataset)
        profiles.check_profile(self.profile)
        check_mix(self.mix)
        check_bn_mode(self.bn_mode)
        runtime.resolve_precision(self.precision, "cpu")  # validates the name
        object.__setattr__(self, "norm", check_norm(self.norm))
        # Numbers as floats before they key the store: eps_train=2 and 2.0 are one
        # run (JSON writes them "2" and "2.0"); every key stored so far had floats.
        object.__setattr__(self, "eps_train", check_eps(self.eps_train))
        if self.eps_eval is not None:
            object.__setattr__(self, "eps_eval", check_eps(self.eps_eval))
        if self.beta is not None:
            if isinstance(self.beta, bool) or not isinstance(self.beta, int | float):
                raise ValueError(f"beta must be a number >= 0, got {self.beta!r}")
            object.__setattr__(self, "beta", float(self.beta))
        if self.mix == "clean" and self.eps_train != 0:
            raise ValueError("mix='clean' trains without an attack: set eps_train=0")
        if self.mix != "clean" and self.eps_train == 0:
            raise ValueError(f"mix={self.mix!r} needs eps_train > 0")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an int in [0, 2**63), got {self.seed!r}")
        for name in ("n_train", "max_steps", "eval_every"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"{name} must be a positive int (1, 2, ...; not a bool) or None, got {value!r}"
                )
        if self.variant is not None:
            if self.dataset != "restricted_imagenet":
                raise ValueError(
                    f"variant is a Restricted ImageNet option; {self.dataset} has none: use None"
                )
            data_lib.check_variant(self.variant)
        if (self.mix == "trades") != (self.beta is not None):
            raise ValueError("beta is TRADES' weight: set it with mix='trades' only")
        if self.beta is not None and not 0 <= self.beta < math.inf:
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")

    def key_dict(self) -> dict:
        """The fields that key the store (see :func:`_key_settings`)."""
        d = dict(self.__dict__)
        for name in ("variant", "beta", "eval_every"):  # added later: older keys unchanged
            if d[name] is None:
                del d[name]
        return d

    def standard_twin(self) -> RunConfig:
        """The standard model of the same recipe, data, seed and curve: the run a robust
        model's price is measured against."""
        return replace(self, mix="clean", eps_train=0.0, beta=None, bn_mode="eval")


@dataclass(frozen=True, repr=False)
class Plan:
    """A RunConfig resolved against its profile and device: what will run, and its key.

    Made once per run (:func:`plan_of`) and carried: to worker processes, the
    sweep's executors and the evaluations, which read :attr:`key` instead of
    deriving it again. The key is computed on first use and kept (it hashes the
    data's fingerprint), and travels with the plan when it is pickled.
    """

    config: RunConfig
    settings: profiles.DatasetSettings
    device: torch.device
    precision: str
    n_train: int | None
    steps: int | None
    epochs: int
    eps_eval: float

    @property
    def data_options(self) -> dict:
        """Loader options of lib.data.load: the profile's, with the config's variant."""
        options = dict(self.settings.data)
        if self.config.variant is not None:
            options["variant"] = self.config.variant
        return options

    def __repr__(self) -> str:  # the config names it: the rest follows from it
        return f"Plan({self.config!r}, device={str(self.device)!r})"

    @cached_property
    def key_settings(self) -> dict:
        """What keys the store: the schema below (:func:`_key_settings`)."""
        return _key_settings(self)

    @cached_property
    def key(self) -> str:
        """The run's store key: the hash of :attr:`key_settings`."""
        return key_of(self.key_settings)


# --------------------------------------------------------------------------
# The store-key schema: the one place that says what keys a run
#
# A run's key is a hash of the dict below: the config's fields, what the
# profile resolved them to, and the profile's settings. Stability rule: a
# field or setting added after runs were stored enters the dict only when it
# differs from the value every earlier run had implicitly (RunConfig.variant
# when set and not the profile's own; the profile's ``data`` and
# ``eval_batch_size`` when not at their defaults), so the keys of those runs
# stay the same. tests/test_keys.py pins known keys.

#: Profile settings added after runs were stored, with the value earlier runs had.
_ADDED_SETTINGS = {
    "data": {},
    "eval_batch_size": 500,
    "eps_ramp": 0.0,
    "n_test_robust": None,
    "min_steps": 0,
}

#: The version of what trains and evaluates a run, in every store key. Bump it
#: when a change to lib (the loop, an attack, the evaluation) changes the
#: numbers a run produces, so that no stored run made by older code is served.
#: 2: issue 14 (eps ramp, min_steps, robust accuracy on n_test_robust images).
RECIPE_VERSION = 2

#: Per architecture, the version of its own code, in the keys of its runs when
#: not 1 (what every run stored before had): a change to a model that changes
#: its numbers retrains that model's runs only. mnist_cnn 2: the first conv's
#: input gradient by a depthwise conv (lib.models.InputConv2d; rounding only).
ARCH_VERSIONS = {"mnist_cnn": 2}


def _settings_dict(settings: profiles.DatasetSettings) -> dict:
    d = settings.to_dict()
    for name, default in _ADDED_SETTINGS.items():
        if d[name] == default:
            del d[name]
    return d


def _key_settings(plan: Plan) -> dict:
    run = plan.config.key_dict()  # variant only when set
    if "variant" in run and run["variant"] == plan.settings.data.get("variant"):
        del run["variant"]  # the profile's own variant, named: the same run
    arch = ARCH_VERSIONS.get(plan.settings.arch, 1)
    return {
        # What the settings cannot say: the version of the code's recipe (and
        # of the model's, when not 1) and which data the run met (so a run on
        # other data is never reused).
        "recipe": RECIPE_VERSION,
        **({"arch_version": arch} if arch != 1 else {}),
        "data": data_lib.fingerprints(plan.config.dataset, **plan.data_options),
        "run": {
            **run,
            "precision": plan.precision,
            "n_train": plan.n_train,
            "max_steps": plan.steps,
            "epochs": plan.epochs,
            "eps_eval": plan.eps_eval,
        },
        "profile_settings": _settings_dict(plan.settings),
    }


def plan_of(config: RunConfig | Plan, device=None) -> Plan:
    """``config`` resolved against its profile and device: what will run, and its key.

    A :class:`Plan` is returned as it is (it was made for its device; naming
    another device is an error), so a caller handed a plan never plans again.
    """
    if isinstance(config, Plan):
        if device is not None and torch.device(device) != config.device:
            raise ValueError(f"a plan made for {config.device} cannot run on {device}")
        return config
    device = torch.device(device) if device is not None else runtime.default_device()
    settings = profiles.settings(config.dataset, config.profile)
    eps_eval = config.eps_eval
    if eps_eval is None:
        eps_eval = config.eps_train or profiles.table2_eps(config.dataset, config.norm)
    return Plan(
        config=config,
        settings=settings,
        device=device,
        precision=runtime.resolve_precision(config.precision, device),
        n_train=config.n_train if config.n_train is not None else settings.n_train,
        steps=config.max_steps if config.max_steps is not None else settings.steps,
        epochs=settings.epochs,
        eps_eval=eps_eval,
    )


def run_key(config: RunConfig, device=None) -> str:
    """The store key of ``config`` on ``device``, without training anything (a
    caller that holds the run's :class:`Plan` reads ``plan.key``)."""
    return plan_of(config, device).key


def run_data(
    config: RunConfig | Plan,
    split: str,
    *,
    device: torch.device | str | None = None,
    whole: bool = False,
) -> data_lib.Batches:
    """The data a run of ``config`` trains on (``"train"``) or is evaluated on (``"test"``).

    ``whole=True``: the whole split, read the same way (for figures that pick
    their own images), instead of the run's subset.
    """
    return plan_split(plan_of(config, device), split, whole=whole)


def train_run(
    config: RunConfig | Plan,
    *,
    store: Store | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, Run]:
    """The model and stored run of ``config``: loaded if stored, else trained, evaluated and saved.

    Training follows the profile's recipe (model, optimizer, schedule, training
    attack); then the standard test accuracy, and the robust one against the
    profile's evaluation attack (stronger than the training one) at ``eps_eval``.

    Args:
        config (RunConfig | Plan): what to train (a plan: as planned, key
            included). Required.
        store (Store | None): where runs are kept. (Default: None: ``Store()``)
        device (torch.device | str | None): (Default: None: CUDA when there is one)
        progress (bool): show a progress bar while training. (Default: True)

    Returns:
        tuple[nn.Module, Run]: the model (eval mode) and its stored run:
        ``run.metrics`` holds ``std_acc``, ``adv_acc`` (and ``*_balanced``).

    Example:
        >>> from lib.experiments.runs import RunConfig, train_run
        >>> model, run = train_run(RunConfig("mnist", "smoke"))
        >>> run.metrics["std_acc"]
    """
    store = store or Store()
    plan = plan_of(config, device)  # a plan handed in is used as it is, key included
    run = store.get_or_run(
        plan.key_settings,
        lambda: make_run(plan, progress=progress),
        valid=lambda r: usable_run(r, plan),
        key=plan.key,
    )
    model = models.build(plan.settings.arch, **plan.settings.model_kwargs)
    model.load_state_dict(run.state_dict())
    return model.to(plan.device).eval(), run
