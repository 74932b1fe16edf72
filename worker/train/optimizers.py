"""How the engine builds each registered method's optimizer (the methods themselves: ``common.methods``).

Built-in methods have their factory here; a plug-in method names its factory in its registry entry
(``MethodInfo.optimizer = "module:function"``), imported here when a run of it starts, or registers one with
:func:`register_optimizer`. A method without a factory is refused when a run starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch

from common.methods import all_methods, get_method
from common.runspec import RunSpec
from worker.zo import LOZO, LOZOM, MeZO, ZOOptimizer

# factory(trainable parameters, spec, learning rate) -> optimizer
OptimizerFactory = Callable[[list[torch.nn.Parameter], RunSpec, float], torch.optim.Optimizer]


def _decay_groups(params: list[torch.nn.Parameter], weight_decay: float) -> list[dict]:
    """Weight decay on tensors with dim >= 2 only (not on biases and norms), as nanoGPT does."""
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def _zo_kwargs(spec: RunSpec, lr: float) -> dict:
    """The arguments every zeroth-order optimizer takes, from the run's spec."""
    return dict(
        lr=lr, zo_eps=spec.zo_eps, weight_decay=spec.weight_decay, seed=spec.seed, zo_clip=spec.zo_clip
    )


def _lozo(params, spec: RunSpec, lr: float) -> torch.optim.Optimizer:
    return LOZO(
        params,
        rank=spec.rank,
        step_interval=spec.nu,
        scale_by_rank=spec.scale_by_rank,
        **_zo_kwargs(spec, lr),
    )


def _lozo_m(params, spec: RunSpec, lr: float) -> torch.optim.Optimizer:
    return LOZOM(
        params,
        rank=spec.rank,
        step_interval=spec.nu,
        beta=spec.beta,
        scale_by_rank=spec.scale_by_rank,
        **_zo_kwargs(spec, lr),
    )


def _mezo(params, spec: RunSpec, lr: float) -> torch.optim.Optimizer:
    return MeZO(params, **_zo_kwargs(spec, lr))


def _adamw(params, spec: RunSpec, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(_decay_groups(params, spec.weight_decay), lr=lr)


def _sgd(params, spec: RunSpec, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(_decay_groups(params, spec.weight_decay), lr=lr)


_FACTORIES: dict[str, OptimizerFactory] = {
    "lozo": _lozo,
    "lozo_m": _lozo_m,
    "mezo": _mezo,
    "adamw": _adamw,
    "sgd": _sgd,
    "lora": _adamw,  # AdamW over the adapters (worker/train/adapters.py freezes the rest)
}


def register_optimizer(method: str, factory: OptimizerFactory) -> None:
    """Make a registered method trainable; refuses a method that is not in the registry or a clash."""
    get_method(method)
    if method in _FACTORIES:
        raise ValueError(f"an optimizer for {method!r} is already registered")
    _FACTORIES[method] = factory


def trainable_methods() -> tuple[str, ...]:
    """Methods the engine can train: those with a factory here or named in their registry entry."""
    return tuple(m.name for m in all_methods() if m.name in _FACTORIES or m.optimizer)


def optimizer_factory(method: str) -> OptimizerFactory | None:
    """The factory of ``method``: registered here, else the one its registry entry names (imported now)."""
    factory = _FACTORIES.get(method)
    target = get_method(method).optimizer
    if factory is None and target:
        module, _, name = target.partition(":")
        factory = getattr(importlib.import_module(module), name)
        _FACTORIES[method] = factory
    return factory


def build_optimizer(spec: RunSpec, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """The spec's optimizer over every trainable parameter of ``model``, attached to it if zeroth-order.

    Zeroth-order optimizers pick their precision mode from the parameters' dtype (float32: in place; bf16
    and fp16: LOZO's exact form, MeZO's float32 master; see worker/zo)."""
    factory = optimizer_factory(spec.method)
    if factory is None:
        raise ValueError(f"{get_method(spec.method).label} cannot be trained by this engine (no optimizer)")
    opt = factory([p for p in model.parameters() if p.requires_grad], spec, lr)
    if isinstance(opt, ZOOptimizer):
        opt.attach(model)  # modes that work in the forward pass (bf16/fp16 LOZO) hook the model here
    return opt
