"""The torch-style contract: validation, the closure protocol, param groups, determinism, resume, dtypes."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch

from tests.zo.helpers import RecordingClosure, regression_batch, tiny_mlp
from worker.zo import LOZO, LOZOM, MeZO, ZOOptimizer

MAKERS = {
    "mezo": lambda p, **kw: MeZO(p, **{"lr": 1e-2, **kw}),
    "lozo": lambda p, **kw: LOZO(p, **{"lr": 1e-2, "step_interval": 4, **kw}),
    "lozo_m": lambda p, **kw: LOZOM(p, **{"lr": 1e-2, "step_interval": 4, **kw}),
}


def _loss_fn(model, dtype=torch.float32):
    x, y = regression_batch(dtype)
    return lambda: torch.nn.functional.mse_loss(model(x), y)


def _params_equal(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# -- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (MeZO, {"lr": -1.0}, "Invalid lr: -1.0 (must be >= 0)"),
        (MeZO, {"lr": math.nan}, "Invalid lr: nan"),
        (MeZO, {"zo_eps": -1}, "Invalid zo_eps: -1 (must be > 0)"),
        (MeZO, {"zo_eps": 0.0}, "Invalid zo_eps: 0.0 (must be > 0)"),
        (MeZO, {"weight_decay": -0.1}, "Invalid weight_decay: -0.1 (must be >= 0)"),
        (MeZO, {"seed": -3}, "Invalid seed: -3 (must be an integer >= 0)"),
        (MeZO, {"seed": 1.5}, "Invalid seed: 1.5"),
        (LOZO, {"rank": 0}, "Invalid rank: 0 (must be an integer >= 1)"),
        (LOZO, {"rank": 2.0}, "Invalid rank: 2.0 (must be an integer >= 1)"),
        (LOZO, {"step_interval": 0}, "Invalid step_interval: 0 (must be an integer >= 1)"),
        (LOZO, {"zo_eps": math.inf}, "Invalid zo_eps: inf (must be > 0)"),
        (LOZO, {"scale_by_rank": "yes"}, "Invalid scale_by_rank: 'yes' (must be True or False)"),
        (LOZOM, {"beta": 1.0}, r"Invalid beta: 1.0 (must be in [0, 1))"),
        (LOZOM, {"beta": -0.1}, r"Invalid beta: -0.1 (must be in [0, 1))"),
        (LOZOM, {"rank": -2}, "Invalid rank: -2 (must be an integer >= 1)"),
    ],
)
def test_invalid_hyperparameters_are_refused_with_a_clear_message(cls, kwargs, message):
    with pytest.raises(ValueError) as info:
        cls(tiny_mlp().parameters(), **kwargs)
    assert str(info.value).startswith(message)


def test_param_groups_are_validated_too():
    model = tiny_mlp()
    with pytest.raises(ValueError, match=r"Invalid zo_eps: 0.01 \(every param group must share one zo_eps"):
        MeZO([{"params": model[0].parameters()}, {"params": model[3].parameters(), "zo_eps": 1e-2}])
    with pytest.raises(ValueError, match=r"Invalid rank: 0"):
        LOZO([{"params": model[0].parameters()}, {"params": model[3].parameters(), "rank": 0}])
    with pytest.raises(ValueError, match=r"Invalid beta: 2"):
        LOZOM([{"params": model[0].parameters()}, {"params": model[3].parameters(), "beta": 2}])
    with pytest.raises(ValueError, match=r"Invalid lr: -1"):
        LOZO([{"params": model[0].parameters(), "lr": -1}])


def test_step_without_closure_is_refused():
    with pytest.raises(ValueError, match="needs a closure"):
        MeZO(tiny_mlp().parameters()).step()


def test_all_are_torch_optimizers():
    for make in MAKERS.values():
        opt = make(tiny_mlp().parameters())
        assert isinstance(opt, ZOOptimizer) and isinstance(opt, torch.optim.Optimizer)
        assert opt.defaults["lr"] == 1e-2


# -- the closure protocol ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MAKERS)
def test_closure_is_called_exactly_twice_per_step_without_grad_and_step_returns_the_plus_loss(name):
    model = tiny_mlp()
    closure = RecordingClosure(model.parameters(), _loss_fn(model))
    returned = []

    def remembering():
        loss = closure()
        returned.append(loss)
        return loss

    opt = MAKERS[name](model.parameters())
    for step in range(1, 4):
        loss = opt.step(remembering)
        assert len(closure.snapshots) == 2 * step
        assert opt.forward_passes == 2 * step
        assert isinstance(loss, float)
        assert loss == returned[-2].item()  # the first call's loss: θ + εZ
    assert closure.grad_enabled == [False] * 6
    assert all(p.grad is None for p in model.parameters())


def test_closure_may_return_a_python_float():
    model = tiny_mlp()
    loss_fn = _loss_fn(model)
    opt = MeZO(model.parameters(), lr=1e-2)
    assert isinstance(opt.step(lambda: loss_fn().item()), float)
    assert math.isfinite(opt.last_projected_grad)


@pytest.mark.parametrize("name", MAKERS)
def test_a_non_finite_loss_leaves_the_weights_restored_and_unchanged(name):
    model = tiny_mlp()
    start = copy.deepcopy(model)
    opt = MAKERS[name](model.parameters())
    calls = iter([torch.tensor(1.0), torch.tensor(math.nan)])
    loss = opt.step(lambda: next(calls))
    assert loss == 1.0 and math.isnan(opt.last_projected_grad)
    for p, q in zip(model.parameters(), start.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert opt.num_steps == 1


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("failing_call", [1, 2])
def test_a_closure_that_raises_leaves_the_weights_restored(name, failing_call):
    model = tiny_mlp()
    start = copy.deepcopy(model)
    opt = MAKERS[name](model.parameters())
    calls = {"n": 0}

    def closure():
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise RuntimeError("out of memory (simulated)")
        return torch.tensor(1.0)

    with pytest.raises(RuntimeError, match="simulated"):
        opt.step(closure)
    for p, q in zip(model.parameters(), start.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert opt.num_steps == 0


def test_frozen_parameters_are_not_touched():
    model = tiny_mlp()
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.detach().clone()
    for make in MAKERS.values():
        opt = make(model.parameters())
        for _ in range(3):
            opt.step(_loss_fn(model))
        assert torch.equal(model[0].weight, frozen)


# -- determinism, groups, resume ---------------------------------------------------------------------------


def _run(name, model, steps, groups=None, loss_fn=None, **kw):
    opt = MAKERS[name](groups if groups is not None else model.parameters(), **kw)
    loss_fn = loss_fn or _loss_fn(model)
    losses = [opt.step(loss_fn) for _ in range(steps)]
    return opt, losses


@pytest.mark.parametrize("name", MAKERS)
def test_same_seed_gives_bitwise_identical_trajectories(name):
    a, b, c = tiny_mlp(), tiny_mlp(), tiny_mlp()
    _, losses_a = _run(name, a, 10, seed=7)
    _, losses_b = _run(name, b, 10, seed=7)
    _, losses_c = _run(name, c, 10, seed=8)
    assert losses_a == losses_b and _params_equal(a, b)
    assert losses_a != losses_c and not _params_equal(a, c)


@pytest.mark.parametrize("name", MAKERS)
def test_splitting_params_into_groups_does_not_change_the_trajectory(name):
    a, b = tiny_mlp(), tiny_mlp()
    _run(name, a, 9, seed=3, weight_decay=0.01)
    groups = [
        {"params": list(b[0].parameters())},
        {"params": list(b[1].parameters()) + list(b[3].parameters())},
    ]
    _run(name, b, 9, groups=groups, seed=3, weight_decay=0.01)
    assert _params_equal(a, b)


def test_groups_may_have_their_own_learning_rate():
    model = tiny_mlp()
    frozen_by_lr = [p.detach().clone() for p in model[0].parameters()]
    groups = [{"params": list(model[0].parameters()), "lr": 0.0}, {"params": list(model[3].parameters())}]
    _run("lozo", model, 5, groups=groups)
    for p, q in zip(model[0].parameters(), frozen_by_lr, strict=True):
        torch.testing.assert_close(p.detach(), q, rtol=0, atol=1e-6)
    assert not torch.equal(model[3].weight, tiny_mlp()[3].weight)


@pytest.mark.parametrize("name", MAKERS)
def test_state_dict_round_trip_resumes_bit_identically(name):
    """7 steps, checkpoint (through torch.save), 6 more == 13 uninterrupted (V redrawn at 8 and 12)."""
    straight = tiny_mlp()
    _, straight_losses = _run(name, straight, 13, seed=5)

    first = tiny_mlp()
    opt, losses = _run(name, first, 7, seed=5)
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    resumed = tiny_mlp(seed=99)  # different weights, overwritten by the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = MAKERS[name](resumed.parameters(), seed=1234)  # the seed is restored from the checkpoint too
    opt2.load_state_dict(saved["opt"])
    assert opt2.num_steps == 7 and opt2.forward_passes == 14 and opt2.seed == 5
    loss_fn = _loss_fn(resumed)
    losses += [opt2.step(loss_fn) for _ in range(6)]
    assert losses == straight_losses
    assert _params_equal(resumed, straight)


def test_load_state_dict_refuses_a_foreign_state():
    opt = MeZO(tiny_mlp().parameters())
    other = torch.optim.SGD(tiny_mlp().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="'zo' entry is missing"):
        opt.load_state_dict(other.state_dict())


def test_deepcopy_keeps_the_counters():
    model = tiny_mlp()
    opt, _ = _run("lozo_m", model, 3)
    clone = copy.deepcopy(opt)
    assert (clone.num_steps, clone.forward_passes, clone.seed) == (3, 6, 0)


# -- training and dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MAKERS)
def test_loss_falls_on_a_small_regression(name):
    model = tiny_mlp()
    loss_fn = _loss_fn(model)
    start = loss_fn().item()
    _run(name, model, 300, seed=1)
    assert loss_fn().item() < 0.5 * start


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", MAKERS)
def test_half_precision_params_on_cpu(name, dtype):
    model = tiny_mlp(dtype=dtype)
    loss_fn = _loss_fn(model, dtype)
    start_params = [p.detach().clone() for p in model.parameters()]
    # half precision picks the exact modes (LOZO's needs the model to hook): at lr = 0 the weights come
    # back bit for bit
    kw = {} if name == "mezo" else {"model": model}
    opt = MAKERS[name](model.parameters(), lr=0.0, zo_eps=1e-2, **kw)
    assert opt.precision == ("master" if name == "mezo" else "exact")
    for _ in range(3):
        opt.step(loss_fn)
    opt.detach()
    for p, q in zip(model.parameters(), start_params, strict=True):
        assert p.dtype == dtype
        assert torch.equal(p, q)
    start = loss_fn().float().item()
    opt = MAKERS[name](model.parameters(), seed=1, zo_eps=1e-2, **kw)
    for _ in range(200):
        opt.step(loss_fn)
    opt.merge()
    assert all(p.dtype == dtype for p in model.parameters())
    assert loss_fn().float().item() < 0.7 * start


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("name", MAKERS)
def test_cuda_matches_the_protocol(name):
    model = tiny_mlp().cuda()
    x, y = (t.cuda() for t in regression_batch())
    opt = MAKERS[name](model.parameters())
    start = torch.nn.functional.mse_loss(model(x), y).item()
    for _ in range(300):
        opt.step(lambda: torch.nn.functional.mse_loss(model(x), y))
    assert torch.nn.functional.mse_loss(model(x), y).item() < 0.5 * start
    for state in opt.state.values():
        assert all(v.is_cuda for v in state.values() if torch.is_tensor(v))


def test_learning_rate_schedulers_drive_the_step_size():
    """A torch scheduler changes group['lr']; the next update must use it (lr 0 after the first step)."""
    model = tiny_mlp()
    opt = MAKERS["lozo"](model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 if step == 0 else 0.0)
    loss_fn = _loss_fn(model)
    opt.step(loss_fn)
    scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.0
    after_first = [p.detach().clone() for p in model.parameters()]
    opt.step(loss_fn)
    for p, q in zip(model.parameters(), after_first, strict=True):
        torch.testing.assert_close(p.detach(), q, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", MAKERS)
def test_a_failed_step_can_be_retried_as_if_it_never_happened(name):
    """The closure raises at step 4 (a V-redraw step for LOZO with ν = 4); retrying gives the same run."""
    straight = tiny_mlp()
    _, straight_losses = _run(name, straight, 6, seed=2)

    model = tiny_mlp()
    opt = MAKERS[name](model.parameters(), seed=2)
    loss_fn = _loss_fn(model)
    losses = [opt.step(loss_fn) for _ in range(4)]

    def failing():
        raise RuntimeError("transient")

    with pytest.raises(RuntimeError):
        opt.step(failing)
    losses += [opt.step(loss_fn) for _ in range(2)]
    # the failed step's ±εZ leaves rounding-level differences, hence approx rather than bitwise
    assert losses == pytest.approx(straight_losses, rel=1e-5)
    for p, q in zip(model.parameters(), straight.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
