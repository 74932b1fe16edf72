"""zo_clip: a projected gradient far above the usual is bounded, the bound follows the applied estimates,
and a clipped run resumes from its state dict and replays from its step log exactly."""

from __future__ import annotations

import math

import pytest
import torch

from tests.zo.helpers import tiny_mlp
from worker.zo import LOZO, LOZOM, MeZO
from worker.zo.base import CLIP_WARMUP_STEPS

MAKERS = {
    "mezo": lambda p, **kw: MeZO(p, lr=1e-3, seed=3, **kw),
    "lozo": lambda p, **kw: LOZO(p, lr=1e-3, step_interval=4, seed=3, **kw),
    "lozo_m": lambda p, **kw: LOZOM(p, lr=1e-3, step_interval=4, seed=3, **kw),
}
EPS = 1e-3


def _scripted(c: float):
    """A closure whose two calls measure the projected gradient c (ℓ₊ − ℓ₋ = 2εc)."""
    calls = iter((c * EPS, -c * EPS))
    return lambda: next(calls)


def _steps(opt, cs):
    for c in cs:
        opt.step(_scripted(c))


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("method", sorted(MAKERS))
def test_an_outlier_estimate_is_bounded_by_the_rms_of_the_applied_ones(method):
    usual = [3.0, -4.0] * (CLIP_WARMUP_STEPS // 2) + [5.0]
    opt = MAKERS[method](tiny_mlp().parameters(), zo_clip=2.0)
    _steps(opt, usual)
    assert opt.last_applied_grad == opt.last_projected_grad == 5.0  # within the bound: untouched
    rms = math.sqrt(sum(c * c for c in usual) / len(usual))
    opt.step(_scripted(-100.0))
    assert opt.last_projected_grad == -100.0
    assert opt.last_applied_grad == pytest.approx(-2.0 * rms)
    # the bound after the outlier is computed from the clipped value, not from -100
    rms_after = math.sqrt((sum(c * c for c in usual) + 4.0 * rms * rms) / (len(usual) + 1))
    opt.step(_scripted(100.0))
    assert opt.last_applied_grad == pytest.approx(2.0 * rms_after)


@pytest.mark.parametrize("method", sorted(MAKERS))
def test_a_clipped_step_moves_the_weights_as_the_bounded_estimate_would(method):
    """The update applied is the one of c = bound, not of the measured c."""
    history = [3.0, -4.0] * (CLIP_WARMUP_STEPS // 2)
    clipped_model, plain_model = tiny_mlp(), tiny_mlp()
    clipped = MAKERS[method](clipped_model.parameters(), zo_clip=2.0)
    plain = MAKERS[method](plain_model.parameters())
    _steps(clipped, history + [-100.0])
    _steps(plain, history + [clipped.last_applied_grad])
    for a, b in zip(_weights(clipped_model), _weights(plain_model), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-7)
    unclipped_model = tiny_mlp()
    _steps(MAKERS[method](unclipped_model.parameters()), history + [-100.0])
    assert not all(
        torch.allclose(a, b) for a, b in zip(_weights(clipped_model), _weights(unclipped_model), strict=True)
    )


def test_no_estimate_is_clipped_before_the_warmup_steps_nor_without_zo_clip():
    opt = MAKERS["lozo"](tiny_mlp().parameters(), zo_clip=1.0)
    _steps(opt, [1.0] * (CLIP_WARMUP_STEPS - 1) + [50.0])
    assert opt.last_applied_grad == 50.0
    off = MAKERS["lozo"](tiny_mlp().parameters())
    _steps(off, [1.0] * CLIP_WARMUP_STEPS + [50.0])
    assert off.last_applied_grad == 50.0


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan])
def test_zo_clip_must_be_positive(value):
    with pytest.raises(ValueError, match="Invalid zo_clip"):
        MeZO(tiny_mlp().parameters(), zo_clip=value)


@pytest.mark.parametrize("method", sorted(MAKERS))
def test_a_clipped_run_resumes_from_its_state_dict_bit_identically(method):
    cs = [3.0, -4.0, 2.5, -1.0, 6.0, -2.0, 1.5, 3.5, -3.0, 2.0, 80.0, -1.0, -90.0, 4.0]
    whole_model = tiny_mlp()
    whole = MAKERS[method](whole_model.parameters(), zo_clip=2.0)
    _steps(whole, cs)
    first_model = tiny_mlp()
    first = MAKERS[method](first_model.parameters(), zo_clip=2.0)
    _steps(first, cs[:11])
    saved = first.state_dict()
    resumed = MAKERS[method](first_model.parameters())  # zo_clip comes back from the state
    resumed.load_state_dict(saved)
    assert resumed.zo_clip == 2.0
    _steps(resumed, cs[11:])
    assert resumed.last_applied_grad == whole.last_applied_grad
    for a, b in zip(_weights(whole_model), _weights(first_model), strict=True):
        assert torch.equal(a, b)
