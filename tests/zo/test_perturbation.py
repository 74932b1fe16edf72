"""The ± perturbation: restored weights, rank of LOZO's direction, the lazy V schedule, the same U in the
update, LOZO-M's momentum."""

from __future__ import annotations

import pytest
import torch

from tests.zo.helpers import RecordingClosure, tiny_mlp
from worker.zo import LOZO, LOZOM, MeZO
from worker.zo.noise import STREAM_PERIOD, NoiseSource, derive_seed

EPS = 1e-3
OPTIMIZERS = {
    "mezo": lambda p, **kw: MeZO(p, zo_eps=EPS, **kw),
    "lozo": lambda p, **kw: LOZO(p, zo_eps=EPS, step_interval=3, **kw),
    "lozo_m": lambda p, **kw: LOZOM(p, zo_eps=EPS, step_interval=3, **kw),
}


def _mlp_closure(model):
    x = torch.randn(32, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    return RecordingClosure(model.parameters(), lambda: (model(x) ** 2).mean())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weights_restored_after_the_plus_minus_perturbation(name):
    model = tiny_mlp(dtype=torch.float64)
    start = [p.detach().clone() for p in model.parameters()]
    opt = OPTIMIZERS[name](model.parameters(), lr=0.0, seed=3)
    closure = _mlp_closure(model)
    for _ in range(5):
        opt.step(closure)
    for before, p in zip(start, model.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), before, rtol=0, atol=1e-12)
    # and each closure call really saw a perturbed point, θ ± εZ with Z of order 1
    for k in range(5):
        for z in closure.direction(k, EPS):
            assert z.abs().max() > 0.05


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_two_calls_see_theta_plus_and_minus_the_same_direction(name):
    model = tiny_mlp(dtype=torch.float64)
    start = [p.detach().clone() for p in model.parameters()]
    opt = OPTIMIZERS[name](model.parameters(), lr=0.0, seed=3)
    closure = _mlp_closure(model)
    opt.step(closure)
    plus, minus = closure.snapshots
    for theta, a, b in zip(start, plus, minus, strict=True):
        torch.testing.assert_close((a + b) / 2, theta, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_lozo_direction_of_a_2d_weight_has_rank_at_most_r_and_1d_noise_is_full(rank):
    model = tiny_mlp(dtype=torch.float64)
    opt = LOZO(model.parameters(), lr=0.0, zo_eps=EPS, rank=rank, seed=1)
    closure = _mlp_closure(model)
    for step in range(3):
        opt.step(closure)
        for p, z in zip(model.parameters(), closure.direction(step, EPS), strict=True):
            if p.dim() >= 2:
                assert torch.linalg.matrix_rank(z, atol=1e-6).item() == min(rank, *z.shape)
            else:
                assert (z != 0).all()  # a full Gaussian vector, not low rank


def test_lozo_direction_of_a_4d_weight_is_low_rank_in_its_matrix_view():
    conv = torch.nn.Conv2d(3, 8, kernel_size=3).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    closure = RecordingClosure(conv.parameters(), lambda: conv(x).pow(2).mean())
    opt = LOZO(conv.parameters(), lr=0.0, zo_eps=EPS, rank=2)
    opt.step(closure)
    z = closure.direction(0, EPS)[0]
    assert z.shape == conv.weight.shape
    assert torch.linalg.matrix_rank(z.reshape(8, -1), atol=1e-6).item() == 2


def _recover_u(z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """U from Z = U Vᵀ and a known V (least squares; exact up to rounding)."""
    return torch.linalg.lstsq(v, z.T).solution.T


@pytest.mark.parametrize("cls", [LOZO, LOZOM])
def test_v_changes_exactly_at_multiples_of_nu_and_u_every_step(cls):
    nu = 4
    model = tiny_mlp(dtype=torch.float64)
    weight = model[0].weight
    opt = cls(model.parameters(), lr=1e-3, zo_eps=EPS, step_interval=nu, seed=2)
    closure = _mlp_closure(model)
    vs, us = [], []
    for step in range(3 * nu + 1):
        opt.step(closure)
        v = opt.state[weight]["V"].clone()
        z = closure.direction(step, EPS)[0]
        torch.testing.assert_close(z, _recover_u(z, v) @ v.T)  # this step's direction lies in span(V)
        vs.append(v)
        us.append(_recover_u(z, v))
    for t in range(1, len(vs)):
        if t % nu == 0:
            assert not torch.equal(vs[t], vs[t - 1]), f"V must be redrawn at step {t}"
        else:
            assert torch.equal(vs[t], vs[t - 1]), f"V must be kept at step {t}"
        assert not torch.allclose(us[t], us[t - 1]), f"U must be redrawn at step {t}"
    # V of period k comes from its own generator stream, seeded by (run seed, k): reproducible on its own
    index = 0  # model[0].weight is the first parameter
    expected = NoiseSource().randn(tuple(vs[nu].shape), weight, derive_seed(2, STREAM_PERIOD, 1, index))
    assert torch.equal(vs[nu], expected)


@pytest.mark.parametrize("scale_by_rank", [False, True])
def test_lozo_update_uses_the_same_u_as_the_measurement(scale_by_rank):
    """The reference code's defect: on redraw steps its update replayed a different U. Ours may not.

    For every step, redraw steps (multiples of ν) included, the applied update must equal −η·c·s·Z where Z
    is the direction the two closure calls actually measured and s = 1/r or 1.
    """
    nu, lr, rank = 3, 1e-2, 2
    model = tiny_mlp(dtype=torch.float64)
    opt = LOZO(
        model.parameters(),
        lr=lr,
        zo_eps=EPS,
        rank=rank,
        step_interval=nu,
        seed=4,
        scale_by_rank=scale_by_rank,
    )
    closure = _mlp_closure(model)
    scale = 1.0 / rank if scale_by_rank else 1.0
    for step in range(2 * nu + 1):
        before = [p.detach().clone() for p in model.parameters()]
        opt.step(closure)
        c = opt.last_projected_grad
        assert c != 0
        for p, theta, z in zip(model.parameters(), before, closure.direction(step, EPS), strict=True):
            s = scale if p.dim() >= 2 else 1.0  # 1-D parameters get full Gaussian noise: no 1/r
            torch.testing.assert_close(p.detach() - theta, -lr * c * s * z, rtol=1e-6, atol=1e-12)


def test_mezo_update_is_minus_lr_c_z_and_decays_only_matrices():
    lr, wd = 1e-2, 0.1
    model = tiny_mlp(dtype=torch.float64)
    opt = MeZO(model.parameters(), lr=lr, zo_eps=EPS, weight_decay=wd, seed=9)
    closure = _mlp_closure(model)
    for step in range(3):
        before = [p.detach().clone() for p in model.parameters()]
        opt.step(closure)
        c = opt.last_projected_grad
        for p, theta, z in zip(model.parameters(), before, closure.direction(step, EPS), strict=True):
            decay = wd if p.dim() >= 2 else 0.0
            expected = theta - lr * (c * z + decay * theta)
            torch.testing.assert_close(p.detach(), expected, rtol=1e-9, atol=1e-12)


def test_lozo_weight_decay_applies_to_matrices_only():
    lr, wd = 1e-2, 0.5
    model = tiny_mlp(dtype=torch.float64)
    opt = LOZO(model.parameters(), lr=lr, zo_eps=EPS, weight_decay=wd, seed=9)
    closure = _mlp_closure(model)
    before = [p.detach().clone() for p in model.parameters()]
    opt.step(closure)
    c = opt.last_projected_grad
    for p, theta, z in zip(model.parameters(), before, closure.direction(0, EPS), strict=True):
        decay = wd if p.dim() >= 2 else 0.0
        torch.testing.assert_close(p.detach(), theta - lr * (c * z + decay * theta), rtol=1e-9, atol=1e-12)


def test_lozo_m_update_follows_its_momentum():
    """W_{t+1} − W_t = −η·M_t Vᵀ for matrices and −η·m_t for 1-D parameters, with M from the state."""
    lr = 1e-2
    model = tiny_mlp(dtype=torch.float64)
    opt = LOZOM(model.parameters(), lr=lr, zo_eps=EPS, step_interval=2, beta=0.8, seed=6)
    closure = _mlp_closure(model)
    for _ in range(5):
        before = [p.detach().clone() for p in model.parameters()]
        opt.step(closure)
        for p, theta in zip(model.parameters(), before, strict=True):
            state = opt.state[p]
            applied = state["momentum"] @ state["V"].T if p.dim() >= 2 else state["momentum"]
            torch.testing.assert_close(p.detach() - theta, -lr * applied, rtol=1e-6, atol=1e-12)


def test_lozo_m_momentum_recurrence_inside_the_optimizer():
    """M follows ZO-SPEC: c·U at t = 0, β·M + (1 − β)·c·U within a period, and at a redraw of V
    β·M V_oldᵀ V_new / n + (1 − β)·c·U — with U and z recovered from what the closure measured."""
    nu, beta = 3, 0.7
    model = tiny_mlp(dtype=torch.float64)
    opt = LOZOM(model.parameters(), lr=1e-2, zo_eps=EPS, step_interval=nu, beta=beta, seed=8)
    closure = _mlp_closure(model)
    params = list(model.parameters())
    for t in range(2 * nu + 1):
        previous = {p: (opt.state[p].get("momentum"), opt.state[p].get("V")) for p in params}
        previous = {p: tuple(None if x is None else x.clone() for x in pair) for p, pair in previous.items()}
        opt.step(closure)
        c = opt.last_projected_grad
        for p, z in zip(params, closure.direction(t, EPS), strict=True):
            m_old, v_old = previous[p]
            m_new = opt.state[p]["momentum"]
            if p.dim() < 2:
                expected = c * z if t == 0 else beta * m_old + (1 - beta) * c * z
            else:
                v_new = opt.state[p]["V"]
                u = _recover_u(z, v_new)
                if t == 0:
                    expected = c * u
                elif t % nu == 0:
                    n = v_new.shape[0]
                    expected = beta * m_old @ v_old.T @ v_new / n + (1 - beta) * c * u
                else:
                    assert torch.equal(v_new, v_old)
                    expected = beta * m_old + (1 - beta) * c * u
            torch.testing.assert_close(m_new, expected, rtol=1e-6, atol=1e-9)
