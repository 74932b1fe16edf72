"""The ZO estimate against the true gradient of a quadratic, where central differences are exact."""

from __future__ import annotations

import pytest
import torch

from tests.zo.helpers import Quadratic, RecordingClosure
from worker.zo import LOZO, MeZO

EPS = 1e-3


def _flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


@pytest.mark.parametrize(
    "make",
    [
        lambda p: MeZO(p, lr=0.0, zo_eps=EPS, seed=0),
        lambda p: LOZO(p, lr=0.0, zo_eps=EPS, step_interval=2, seed=0),
    ],
    ids=["mezo", "lozo"],
)
def test_projected_gradient_equals_the_directional_derivative(make):
    model = Quadratic()
    grad = _flat(model.true_grad())
    closure = RecordingClosure(model.parameters(), model)
    opt = make(model.parameters())
    for step in range(6):
        opt.step(closure)
        z = _flat(closure.direction(step, EPS))
        directional = (grad @ z).item()
        assert opt.last_projected_grad == pytest.approx(directional, rel=1e-6)


class _LastPairClosure(RecordingClosure):
    """Keeps only the last step's two snapshots (direction(step) reads index 0 and 1)."""

    def direction(self, step, eps):
        return super().direction(0, eps)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: MeZO(p, lr=0.0, zo_eps=EPS, seed=11),
        # ν = 1: every step a fresh subspace, so the running mean converges like MeZO's; with a fixed V the
        # estimate is unbiased only for the projection of ∇L onto span(V) (averaging over periods fixes it)
        lambda p: LOZO(p, lr=0.0, zo_eps=EPS, rank=2, step_interval=1, seed=11),
        lambda p: LOZO(p, lr=0.0, zo_eps=EPS, rank=2, step_interval=10, seed=11),
    ],
    ids=["mezo", "lozo_nu1", "lozo_nu10"],
)
def test_mean_of_many_estimates_points_along_the_true_gradient(make):
    model = Quadratic()  # 36 parameters (6×5 weight + 6 bias)
    opt = make(model.parameters())
    grad = _flat(model.true_grad())
    closure = _LastPairClosure(model.parameters(), model)
    total = torch.zeros_like(grad)
    cosines = {}
    for step in range(1, 2001):
        closure.snapshots.clear()
        opt.step(closure)
        total += opt.last_projected_grad * _flat(closure.direction(0, EPS))
        if step in (20, 200, 2000):
            cosines[step] = torch.nn.functional.cosine_similarity(total, grad, dim=0).item()
    assert cosines[20] > 0.3
    assert cosines[20] < cosines[200] < cosines[2000]
    assert cosines[2000] > 0.95
