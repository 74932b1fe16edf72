"""LOZO's exact form for half-precision weights: the low-rank part of W lives in the forward pass.

In bf16/fp16, adding +εUVᵀ, −2εUVᵀ, +εUVᵀ to W in place rounds W three times a step; at lr = 0 the
weights of a bf16 layer drift by ~100× what the learning moves them. With V fixed for a period,

    x (γ·W + A Vᵀ)ᵀ = γ·x Wᵀ + (x V) Aᵀ

so the optimizer never writes W during a period: it keeps an fp32 m × r factor A = D + αU (D: the period's
accumulated updates, αU: the perturbation in force, α ∈ {+ε, −ε, 0}) and a decay factor γ (the product of
the period's weight-decay shrinks), and a forward hook on every module that uses W adds the low-rank term
in float32 before the output is rounded once to the model's dtype. At the end of a period
W ← round(γ·W + D Vᵀ): one rounding per ν steps instead of three per step.

Supported users of a weight (anything else is refused by ``attach`` with its name):
- ``nn.Linear`` (W: out × in): out = γ·(x Wᵀ) + b + (x V) Aᵀ.
- ``nn.Embedding`` (W: vocab × d): out = γ·W[ids] + A[ids] Vᵀ: the exact form of a row lookup.
- transformers' ``Conv1D`` (GPT-2; W: in × out, viewed as (in, out) like every weight):
  out = γ·(x W) + b + (x A) Vᵀ.
Code that reads a weight directly instead of calling its module (a tied LM head read at a few rows) asks
:func:`effective_weight` for the rows the optimizer currently means.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# Rows merged at a time at the end of a period: bounds the float32 temporary (an embedding of 30522 × 384
# would otherwise need 47 MB at once).
MERGE_ROWS = 2048


@dataclass(eq=False)
class LowRankTerm:
    """The low-rank part of one weight W (viewed as m × n): W_effective = gamma·W + factor @ V.T."""

    param: torch.Tensor
    V: torch.Tensor  # n × r, float32
    factor: torch.Tensor  # m × r, float32: D + αU in a step, D between steps
    gamma: float = 1.0
    handles: list[Any] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.gamma != 1.0 or bool(self.factor.abs().max() > 0)

    def matrix(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """gamma·W + factor Vᵀ in float32, for all rows of W's matrix view or the given ones."""
        W = self.param.view(self.param.shape[0], -1)
        factor = self.factor
        if rows is not None:
            W, factor = W[rows], factor[rows]
        return torch.addmm(W.to(self.V.dtype), factor, self.V.T, beta=self.gamma)

    def merge_(self) -> None:
        """W ← round(gamma·W + factor Vᵀ), row block by row block; then gamma = 1 and factor = 0."""
        if not self.active:
            return
        W = self.param.view(self.param.shape[0], -1)
        with torch.no_grad():
            for start in range(0, W.shape[0], MERGE_ROWS):
                block = W[start : start + MERGE_ROWS]
                exact = torch.addmm(
                    block.to(self.V.dtype), self.factor[start : start + MERGE_ROWS], self.V.T, beta=self.gamma
                )
                block.copy_(exact)
        self.gamma = 1.0
        self.factor.zero_()


# Terms by the id of their parameter, for effective_weight (weak: an optimizer that is dropped leaves none).
_TERMS: weakref.WeakValueDictionary[int, LowRankTerm] = weakref.WeakValueDictionary()


def effective_weight(weight: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """The weight (or its ``rows``) as the model currently means it, in float32 (float64 stays float64).

    A weight trained by an exact-mode LOZO carries a low-rank term outside its storage; any code that reads
    the tensor directly instead of calling its module must read it through here.
    """
    term = _TERMS.get(id(weight))
    if term is not None and term.param is weight and term.active:
        return term.matrix(rows).view(-1, *weight.shape[1:])
    return (weight if rows is None else weight[rows]).float()


def _is_conv1d(module: nn.Module) -> bool:
    # transformers.pytorch_utils.Conv1D, recognised by name so worker.zo does not import transformers
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf") and hasattr(module, "weight")


def _linear_hook(term: LowRankTerm) -> Callable:
    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not term.active:
            return None
        x, wide = args[0], term.V.dtype
        low_rank = (x.to(wide) @ term.V) @ term.factor.T
        if term.gamma == 1.0:  # the common case: add in place, computed in `wide`, rounded once
            return output.add_(low_rank)
        # γ scales x Wᵀ, not the bias (1-D: no weight decay)
        bias: torch.Tensor | None = getattr(module, "bias", None)
        out = output.to(wide)
        out = out * term.gamma if bias is None else (out - bias.to(wide)) * term.gamma + bias.to(wide)
        return (out + low_rank).to(output.dtype)

    return hook


def _conv1d_hook(term: LowRankTerm) -> Callable:
    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not term.active:
            return None
        x, wide = args[0], term.V.dtype
        low_rank = (x.to(wide) @ term.factor) @ term.V.T
        if term.gamma == 1.0:
            return output.add_(low_rank)
        bias: torch.Tensor = getattr(module, "bias")  # noqa: B009 (typed as a tensor)
        out = (output.to(wide) - bias.to(wide)) * term.gamma + bias.to(wide)
        return (out + low_rank).to(output.dtype)

    return hook


def _embedding_hook(term: LowRankTerm) -> Callable:
    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not term.active:
            return None
        low_rank = F.embedding(args[0], term.factor) @ term.V.T
        if term.gamma == 1.0:
            return output.add_(low_rank)
        return (output.to(low_rank.dtype) * term.gamma + low_rank).to(output.dtype)

    return hook


def supported_owner(module: nn.Module) -> bool:
    """Whether the exact form knows how ``module`` uses its ``weight``."""
    return isinstance(module, (nn.Linear, nn.Embedding)) or _is_conv1d(module)


def register(term: LowRankTerm) -> None:
    _TERMS[id(term.param)] = term


def attach_hooks(model: nn.Module, terms: dict[int, LowRankTerm]) -> list[str]:
    """Hook every module of ``model`` whose ``weight`` has a term; returns the names of weights it cannot serve.

    ``terms`` is keyed by ``id(param)``. A weight used by several modules (tied embeddings) gets a hook on
    each. A module of a kind the exact form does not know, owning a weight with a term, is reported.
    """
    unsupported = []
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        term = terms.get(id(weight)) if isinstance(weight, torch.Tensor) else None
        if term is None:
            continue
        if isinstance(module, nn.Linear):
            hook = _linear_hook(term)
        elif isinstance(module, nn.Embedding):
            hook = _embedding_hook(term)
        elif _is_conv1d(module):
            hook = _conv1d_hook(term)
        else:
            unsupported.append(f"{name}.weight ({type(module).__name__})")
            continue
        term.handles.append(module.register_forward_hook(hook))
    return unsupported
