"""The registry of optimisation methods: the one place a method is described.

Everything else derives from it: the engine's spec validation, the API's ``/api/methods`` (and through it the
launch form, the chart colours and labels of the dashboard), the reports, the memory forecast and the ROI.
A method registered here appears in all of them: built in, or from a plug-in module named in
``ZOPOC_METHOD_PLUGINS`` that calls :func:`register_method` when imported; its ``optimizer`` names the
function the engine builds its optimizer with (``worker.train.optimizers``).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

MethodKind = Literal["zeroth_order", "first_order"]


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter a method takes: its default and the range the product accepts.

    ``default`` None means "chosen by the engine" (the learning rate: measured for a built-in model, else by
    model size, reported in the run's ``started`` event).
    """

    name: str
    default: float | int | None
    low: float
    high: float
    integer: bool = False
    description: str = ""

    @property
    def fixed_default(self) -> float:
        """The default of a hyperparameter that has one (every one but the engine-chosen learning rate)."""
        if self.default is None:
            raise ValueError(f"{self.name} has no fixed default: the engine chooses it")
        return self.default


@dataclass(frozen=True)
class MemoryProfile:
    """What a method keeps in memory beside one copy of the weights (read by the memory forecast).

    Sizes are in units of the parameter dtype: ``gradients`` and ``full_copies`` in multiples of the whole
    model, the low-rank terms per weight matrix (m × n) with rank r.
    """

    backprop: bool = False  # gradients of every parameter, activations kept for backward
    optimizer_state_copies: float = 0.0  # full-size optimizer state (AdamW: two moments)
    step_workspace_copies: float = 0.0  # full-size temporaries while stepping (torch's foreach AdamW: one)
    low_rank_factors: bool = False  # V (n × r) per matrix for a period, U (m × r) per step (LOZO)
    low_rank_momentum: bool = False  # an m × r momentum per matrix and a full one per 1-D parameter (LOZO-M)
    full_noise: bool = False  # a regenerated full-size z, one tensor at a time (MeZO)
    # LoRA: gradients, optimizer state and step workspace cover only the adapters (r × (n_in + n_out) per
    # adapted linear layer), while the activations of every layer are still kept for backward
    lora_adapters: bool = False


@dataclass(frozen=True)
class MethodInfo:
    """An optimisation method a PoC can run."""

    name: str  # the id used everywhere: API, run spec, metric rows
    label: str  # how people see it
    kind: MethodKind
    description: str
    color: str  # one colour per method on every chart, badge, table and report ("#rrggbb")
    order: int  # display order: the method the product is about first, its baseline next
    hyperparameters: tuple[Hyperparameter, ...]
    # Cost of one step in forward-pass equivalents (ROI): a backward pass costs about two forwards; ZO adds
    # the regeneration of its noise (measured on CPU, benchmarks/step_cost.py; conservative on a GPU).
    step_cost_forwards: float
    memory: MemoryProfile = field(default_factory=MemoryProfile)
    # First-order methods: the learning rate used when the user gives none (ZO methods: measured for a
    # built-in model, else by model size).
    default_lr: float | None = None
    # Where the engine finds the optimizer of a plug-in method: "package.module:function", called as
    # function(trainable parameters, run spec, learning rate). Imported by the training process only, so
    # the module may import torch while the plug-in registering the method does not.
    optimizer: str | None = None
    # "lora": the engine freezes the pretrained weights and trains LoRA adapters (peft) instead
    adapters: Literal["lora"] | None = None

    @property
    def zeroth_order(self) -> bool:
        return self.kind == "zeroth_order"

    @property
    def forward_passes_per_step(self) -> int:
        """Forward passes on a training batch per step: two for ZO (±ε), one for backprop."""
        return 2 if self.zeroth_order else 1

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    @property
    def defaults(self) -> dict[str, float | int | None]:
        return {h.name: h.default for h in self.hyperparameters}

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        return {h.name: (h.low, h.high) for h in self.hyperparameters}


# --- hyperparameters shared by several methods ------------------------------------------------------

ZO_EPS = Hyperparameter("zo_eps", 1e-3, 1e-6, 1e-1, description="perturbation scale ε")
WEIGHT_DECAY = Hyperparameter("weight_decay", 0.0, 0.0, 0.1, description="λ, on weight matrices only")
ZO_LR = Hyperparameter(
    "lr",
    None,
    1e-9,
    1e-2,
    description="learning rate η; empty: measured for a built-in model, else by model size",
)
RANK = Hyperparameter("rank", 2, 1, 64, integer=True, description="rank r of the perturbation U Vᵀ")
NU = Hyperparameter("nu", 50, 1, 100_000, integer=True, description="steps ν between redraws of V")
BETA = Hyperparameter("beta", 0.9, 0.0, 0.999, description="momentum β")
LORA_RANK = Hyperparameter("lora_rank", 8, 1, 256, integer=True, description="rank r of each LoRA adapter")
LORA_ALPHA = Hyperparameter(
    "lora_alpha", 16, 1, 1024, integer=True, description="LoRA scale α (the update is α/r · BA)"
)

_ZO = (ZO_LR, ZO_EPS, WEIGHT_DECAY)
_LOW_RANK = (RANK, NU)

BUILTIN_METHODS: tuple[MethodInfo, ...] = (
    MethodInfo(
        "lozo",
        "LOZO",
        "zeroth_order",
        "low-rank zeroth-order SGD (Chen et al., ICLR 2025): forward passes only",
        color="#0072B2",
        order=10,
        hyperparameters=(*_ZO, *_LOW_RANK),
        step_cost_forwards=2.2,
        memory=MemoryProfile(low_rank_factors=True),
    ),
    MethodInfo(
        "adamw",
        "AdamW",
        "first_order",
        "backpropagation with AdamW (the baseline)",
        color="#D55E00",
        order=20,
        hyperparameters=(Hyperparameter("lr", None, 1e-8, 1e-1, description="learning rate"), WEIGHT_DECAY),
        step_cost_forwards=3.0,
        memory=MemoryProfile(backprop=True, optimizer_state_copies=2.0, step_workspace_copies=1.0),
        default_lr=1e-5,
    ),
    MethodInfo(
        "lozo_m",
        "LOZO-M",
        "zeroth_order",
        "LOZO with momentum kept in the low-rank subspace",
        color="#CC79A7",
        order=30,
        hyperparameters=(*_ZO, *_LOW_RANK, BETA),
        step_cost_forwards=2.2,
        memory=MemoryProfile(low_rank_factors=True, low_rank_momentum=True),
    ),
    MethodInfo(
        "mezo",
        "MeZO",
        "zeroth_order",
        "zeroth-order SGD with full-rank Gaussian noise (Malladi et al., NeurIPS 2023)",
        color="#009E73",
        order=40,
        hyperparameters=_ZO,
        step_cost_forwards=3.0,
        memory=MemoryProfile(full_noise=True),
    ),
    MethodInfo(
        "sgd",
        "SGD",
        "first_order",
        "backpropagation with plain SGD",
        color="#8C6D00",
        order=50,
        hyperparameters=(Hyperparameter("lr", None, 1e-8, 1.0, description="learning rate"), WEIGHT_DECAY),
        step_cost_forwards=3.0,
        memory=MemoryProfile(backprop=True),
        default_lr=1e-3,
    ),
    MethodInfo(
        "lora",
        "LoRA",
        "first_order",
        "low-rank adapters trained with AdamW (Hu et al., ICLR 2022): the usual memory-saving alternative",
        color="#56B4E9",
        order=25,
        hyperparameters=(
            Hyperparameter("lr", None, 1e-7, 1e-1, description="learning rate"),
            WEIGHT_DECAY,
            LORA_RANK,
            LORA_ALPHA,
        ),
        step_cost_forwards=3.0,
        memory=MemoryProfile(
            backprop=True, optimizer_state_copies=2.0, step_workspace_copies=1.0, lora_adapters=True
        ),
        # LoRA's adapters start at zero and need a larger step than full fine-tuning (1e-4 is the common
        # choice for 100M-10B models in the LoRA and QLoRA papers' setups)
        default_lr=1e-4,
        adapters="lora",
    ),
)

_REGISTRY: dict[str, MethodInfo] = {m.name: m for m in BUILTIN_METHODS}

# What a PoC runs when it names no methods: the method the product is about and its baseline.
DEFAULT_METHODS = ("lozo", "adamw")
# The first-order baseline a ZO method is compared with (verdicts, memory savings).
BASELINE_METHOD = "adamw"


class UnknownMethodError(ValueError):
    """A method name that is not in the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown method {name!r}; choose one of {', '.join(method_names())}")
        self.name = name


def all_methods() -> list[MethodInfo]:
    """Every registered method, in display order."""
    return sorted(_REGISTRY.values(), key=lambda m: (m.order, m.name))


def method_names() -> tuple[str, ...]:
    """The registered method names, in display order."""
    return tuple(m.name for m in all_methods())


def zeroth_order_names() -> tuple[str, ...]:
    """The registered zeroth-order methods, in display order (the first is the one the product is about)."""
    return tuple(m.name for m in all_methods() if m.zeroth_order)


def get_method(name: str) -> MethodInfo:
    """The method called ``name``; raises UnknownMethodError."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(name) from None


def is_method(name: str) -> bool:
    return name in _REGISTRY


# The colour of a method that is no longer registered (a plug-in removed since its runs).
UNKNOWN_METHOD_COLOR = "#555555"


def method_color(name: str) -> str:
    """The method's colour, or a neutral grey for a name not (or no longer) registered."""
    method = _REGISTRY.get(name)
    return method.color if method else UNKNOWN_METHOD_COLOR


def register_method(method: MethodInfo) -> MethodInfo:
    """Add ``method`` to the registry (a plug-in module does this when imported); refuses a clash."""
    if method.name in _REGISTRY:
        raise ValueError(f"a method called {method.name!r} is already registered")
    if not _is_colour(method.color):
        raise ValueError(f"colour of {method.name!r} must be '#rrggbb', not {method.color!r}")
    _REGISTRY[method.name] = method
    return method


@contextlib.contextmanager
def registered(method: MethodInfo) -> Iterator[MethodInfo]:
    """Register ``method`` for the duration of a ``with`` block (unit tests)."""
    register_method(method)
    try:
        yield method
    finally:
        del _REGISTRY[method.name]


def load_method_plugins(modules: list[str] | tuple[str, ...]) -> None:
    """Import each plug-in module once; importing it registers its methods (``ZOPOC_METHOD_PLUGINS``)."""
    for module in modules:
        if module not in _LOADED_PLUGINS:
            importlib.import_module(module)
            _LOADED_PLUGINS.add(module)


_LOADED_PLUGINS: set[str] = set()


def _is_colour(text: str) -> bool:
    return len(text) == 7 and text[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in text[1:])
