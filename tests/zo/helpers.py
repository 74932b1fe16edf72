"""Helpers for the optimizer tests: tiny problems and a closure that records what it saw."""

from __future__ import annotations

import torch


class RecordingClosure:
    """A closure that returns ``loss_fn()`` and keeps a copy of every parameter at each call.

    ``snapshots[k][i]`` is parameter i at call k; with a two-point ZO step, call 0 sees θ + εZ and call 1
    sees θ − εZ, so Z = (snapshots[0] − snapshots[1]) / (2ε) and θ = (snapshots[0] + snapshots[1]) / 2.
    """

    def __init__(self, params, loss_fn):
        self.params = list(params)
        self.loss_fn = loss_fn
        self.snapshots: list[list[torch.Tensor]] = []
        self.grad_enabled: list[bool] = []

    def __call__(self):
        self.grad_enabled.append(torch.is_grad_enabled())
        self.snapshots.append([p.detach().clone() for p in self.params])
        return self.loss_fn()

    def direction(self, step: int, eps: float) -> list[torch.Tensor]:
        """The perturbation direction Z of ``step`` (0-based), per parameter."""
        plus, minus = self.snapshots[2 * step], self.snapshots[2 * step + 1]
        return [(a - b) / (2 * eps) for a, b in zip(plus, minus, strict=True)]


class Quadratic(torch.nn.Module):
    """L(W, b) = ½‖A·vec(W) − y‖² / N + ½‖b − b*‖².

    The gradient is known in closed form, and central differences are exact on a quadratic.
    """

    def __init__(self, m: int = 6, n: int = 5, dtype=torch.float64, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = torch.nn.Parameter(torch.randn(m, n, generator=g, dtype=dtype))
        self.bias = torch.nn.Parameter(torch.randn(m, generator=g, dtype=dtype))
        self.register_buffer("A", torch.randn(3 * m * n, m * n, generator=g, dtype=dtype))
        self.register_buffer("y", torch.randn(3 * m * n, generator=g, dtype=dtype))
        self.register_buffer("b_star", torch.randn(m, generator=g, dtype=dtype))

    def forward(self) -> torch.Tensor:
        r = self.A @ self.weight.reshape(-1) - self.y
        return 0.5 * (r @ r) / self.A.shape[0] + 0.5 * ((self.bias - self.b_star) ** 2).sum()

    def true_grad(self) -> list[torch.Tensor]:
        with torch.no_grad():
            r = self.A @ self.weight.reshape(-1) - self.y
            gw = (self.A.T @ r / self.A.shape[0]).reshape(self.weight.shape)
            gb = self.bias - self.b_star
        return [gw, gb]


def tiny_mlp(seed: int = 0, dtype=torch.float32) -> torch.nn.Module:
    """Linear-Tanh-Linear with a 1-D LayerNorm: 2-D weights and 1-D parameters of several sizes."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.LayerNorm(16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
    ).to(dtype)


def regression_batch(dtype=torch.float32, n: int = 64):
    g = torch.Generator().manual_seed(123)
    x = torch.randn(n, 8, generator=g).to(dtype)
    return x, x.sum(1, keepdim=True)
