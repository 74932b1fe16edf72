"""A first check that every optimizer trains a tiny regression (the detailed tests live beside it)."""

import pytest
import torch

from worker.zo import LOZO, LOZOM, MeZO


@pytest.mark.parametrize(
    "make",
    [
        lambda p: MeZO(p, lr=1e-2, seed=1),
        lambda p: LOZO(p, lr=1e-2, step_interval=5, seed=1),
        lambda p: LOZOM(p, lr=1e-2, step_interval=5, seed=1),
    ],
    ids=["mezo", "lozo", "lozo_m"],
)
def test_loss_falls_on_a_tiny_regression(make):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    x = torch.randn(64, 8)
    y = x.sum(1, keepdim=True)
    opt = make(model.parameters())

    def closure():
        return torch.nn.functional.mse_loss(model(x), y)

    start = closure().item()
    for _ in range(200):
        opt.step(closure)
    assert closure().item() < 0.5 * start
    assert opt.forward_passes == 400
