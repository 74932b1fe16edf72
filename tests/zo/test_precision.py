"""Half precision: exact restore at lr = 0, the exact form's mathematics, bf16 updates that track float32,
one merge per period, float32 state through a checkpoint, and what the exact mode refuses."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from tests.zo.helpers import regression_batch, tiny_mlp
from worker.zo import LOZO, LOZOM, MeZO
from worker.zo.exact import effective_weight

DTYPES = [torch.bfloat16, torch.float16, torch.float32]


def _make(name, model, mode=None, **kw):
    """The optimizer ``name`` in its half-precision mode (or ``mode``) over ``model``."""
    if name == "mezo":
        return MeZO(model.parameters(), precision=mode or "master", **kw)
    cls = LOZO if name == "lozo" else LOZOM
    return cls(model.parameters(), precision=mode or "exact", model=model, step_interval=3, **kw)


def _loss_fn(model, dtype):
    x, y = regression_batch(torch.float32)
    return lambda: nn.functional.mse_loss(model(x.to(dtype)).float(), y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["lozo", "lozo_m", "mezo"])
def test_at_lr_0_the_weights_come_back_bit_for_bit(name, dtype):
    """8 steps cross two period boundaries (ν = 3): merges included, every weight is unchanged exactly."""
    model = tiny_mlp(dtype=dtype)
    start = [p.detach().clone() for p in model.parameters()]
    opt = _make(name, model, lr=0.0, zo_eps=1e-3, weight_decay=0.1, seed=2)
    loss_fn = _loss_fn(model, dtype)
    pairs = []

    def closure():
        pairs.append(loss_fn().item())
        return pairs[-1]

    for _ in range(8):
        opt.step(closure)
    opt.merge()
    for before, p in zip(start, model.parameters(), strict=True):
        assert p.dtype == dtype and torch.equal(p, before)
    # the closure did see perturbed weights: the two losses of a step differ
    assert sum(a != b for a, b in zip(pairs[0::2], pairs[1::2], strict=True)) >= 6


def test_the_in_place_path_drifts_in_bf16_which_is_what_the_exact_mode_fixes():
    """The reason for the exact mode, kept measurable: in place, bf16 weights move at lr = 0."""
    model = tiny_mlp(dtype=torch.bfloat16)
    start = [p.detach().clone() for p in model.parameters()]
    opt = LOZO(model.parameters(), lr=0.0, precision="in_place", seed=2)
    for _ in range(8):
        opt.step(_loss_fn(model, torch.bfloat16))
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), start, strict=True))


@pytest.mark.parametrize("name", ["lozo", "lozo_m"])
def test_exact_mode_in_float64_follows_the_in_place_trajectory(name):
    """The exact form is the same algorithm: γ, the pending factor D and LOZO-M's momentum included."""
    runs = {}
    for mode in ("in_place", "exact"):
        model = tiny_mlp(dtype=torch.float64)
        opt = _make(name, model, mode, lr=1e-2, zo_eps=1e-3, weight_decay=0.3, seed=4)
        loss_fn = _loss_fn(model, torch.float64)
        losses = [opt.step(loss_fn) for _ in range(10)]
        opt.merge()
        runs[mode] = losses, [p.detach().clone() for p in model.parameters()]
    assert runs["exact"][0] == pytest.approx(runs["in_place"][0], rel=1e-9, abs=1e-12)
    for a, b in zip(runs["exact"][1], runs["in_place"][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


class _Mixed(nn.Module):
    """An embedding tied to an output Linear, and a transformers Conv1D (GPT-2's (in, out) weight)."""

    def __init__(self):
        super().__init__()
        from transformers.pytorch_utils import Conv1D

        torch.manual_seed(0)
        self.emb = nn.Embedding(11, 6)
        self.conv = Conv1D(5, 6)  # weight (6, 5): x @ W + b
        self.up = nn.Linear(5, 6)
        self.out = nn.Linear(6, 11, bias=False)
        self.out.weight = self.emb.weight  # tied

    def forward(self, ids):
        h = torch.tanh(self.conv(self.emb(ids)))
        return self.out(self.up(h)).float()


def test_embedding_conv1d_and_tied_weights_have_an_exact_form():
    ids = torch.tensor([[1, 3, 5, 7], [2, 4, 6, 10]])
    targets = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    runs = {}
    for mode in ("in_place", "exact"):
        model = _Mixed().double()
        opt = LOZO(
            model.parameters(), lr=1e-2, weight_decay=0.2, step_interval=2, precision=mode, model=model
        )

        def loss_fn(model=model):
            return nn.functional.cross_entropy(model(ids).view(-1, 11), targets)

        runs[mode] = [opt.step(loss_fn) for _ in range(5)]
        if mode == "exact":  # mid-period, a direct read sees the weight the forward pass uses
            seen = effective_weight(model.emb.weight, torch.tensor([2, 5]))
            opt.merge()
            torch.testing.assert_close(seen, model.emb.weight[[2, 5]])
    assert runs["exact"] == pytest.approx(runs["in_place"], rel=1e-9)


def test_bf16_update_tracks_the_float32_update():
    """Same start and seeds: the bf16 run's total update points where the float32 run's does."""
    updates = {}
    for dtype in (torch.float32, torch.bfloat16):
        model = tiny_mlp(dtype=torch.float32).to(dtype)
        start = [p.detach().float().clone() for p in model.parameters()]
        opt = LOZO(model.parameters(), lr=1e-3, step_interval=5, seed=1, model=model)
        assert opt.precision == ("exact" if dtype == torch.bfloat16 else "in_place")
        loss_fn = _loss_fn(model, dtype)
        for _ in range(30):
            opt.step(loss_fn)
        opt.merge()
        updates[dtype] = torch.cat(
            [(p.detach().float() - s).flatten() for p, s in zip(model.parameters(), start)]
        )
    ref, half = updates[torch.float32], updates[torch.bfloat16]
    assert torch.nn.functional.cosine_similarity(half, ref, dim=0) >= 0.95
    assert 0.9 <= float(half.norm() / ref.norm()) <= 1.1


@pytest.mark.parametrize("cls", [LOZO, LOZOM])
def test_weights_are_written_once_per_period(cls):
    """Within a period the bf16 storage of W is untouched; at t % ν == 0 it becomes round(γW + D Vᵀ)."""
    nu = 4
    model = tiny_mlp(dtype=torch.bfloat16)
    weight = model[0].weight
    opt = cls(model.parameters(), lr=1e-2, weight_decay=0.5, step_interval=nu, seed=3, model=model)
    loss_fn = _loss_fn(model, torch.bfloat16)
    changes = []
    for t in range(3 * nu):
        before = weight.detach().clone()
        state = opt.state[weight]
        expected = None
        if t > 0 and t % nu == 0:  # this step merges the period that just ended, before anything else
            expected = torch.addmm(before.float(), state["pending"], state["V"].T, beta=state["decay"])
        opt.step(loss_fn)
        changed = not torch.equal(weight, before)
        changes.append(changed)
        if expected is not None:
            assert torch.equal(weight, expected.to(torch.bfloat16))
    assert changes == [t > 0 and t % nu == 0 for t in range(3 * nu)]
    assert opt.state[weight]["pending"].dtype == torch.float32


@pytest.mark.parametrize("name", ["lozo", "lozo_m", "mezo"])
def test_checkpoint_keeps_the_float32_state_and_resumes_identically(name):
    straight = tiny_mlp(dtype=torch.bfloat16)
    opt = _make(name, straight, lr=1e-2, seed=5)
    straight_losses = [opt.step(_loss_fn(straight, torch.bfloat16)) for _ in range(7)]

    first = tiny_mlp(dtype=torch.bfloat16)
    opt = _make(name, first, lr=1e-2, seed=5)
    losses = [opt.step(_loss_fn(first, torch.bfloat16)) for _ in range(4)]
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed = tiny_mlp(dtype=torch.bfloat16, seed=9)
    resumed.load_state_dict(saved["model"])
    opt2 = _make(name, resumed, lr=1e-2, seed=0)
    opt2.load_state_dict(saved["opt"])
    kept = {k: v.dtype for s in opt2.state.values() for k, v in s.items() if torch.is_tensor(v)}
    assert kept and set(kept.values()) == {torch.float32}
    losses += [opt2.step(_loss_fn(resumed, torch.bfloat16)) for _ in range(3)]
    assert losses == straight_losses


def test_exact_mode_refuses_a_weight_it_cannot_serve_and_needs_the_model():
    conv = nn.Conv2d(3, 4, 3).to(torch.bfloat16)
    with pytest.raises(ValueError, match=r"cannot serve these weights.*weight \(Conv2d\)"):
        LOZO(conv.parameters(), model=conv)
    model = tiny_mlp(dtype=torch.bfloat16)
    opt = LOZO(model.parameters())  # no model given
    with pytest.raises(RuntimeError, match="give the model"):
        opt.step(_loss_fn(model, torch.bfloat16))
    with pytest.raises(ValueError, match="Invalid precision"):
        MeZO(model.parameters(), precision="exact")


def test_float32_keeps_the_in_place_path():
    model = tiny_mlp()
    assert LOZO(model.parameters(), model=model).precision == "in_place"
    assert MeZO(model.parameters()).precision == "in_place"
    assert LOZOM(tiny_mlp(dtype=torch.float16).parameters()).precision == "exact"
