"""Training in bf16: the ZO closure's loss is float32, and the built optimizers take the exact modes that
leave the weights unchanged at lr = 0 on the tiny encoder and decoder (Conv1D, tied LM head, prompt scoring)."""

import pytest
import torch

from common.runspec import RunSpec
from worker.train.loop import _batch, prepare, train_step
from worker.train.optimizers import build_optimizer


class _SpyOptimizer:
    """Calls the closure once, like a ZO step would, and keeps what it returned."""

    def __init__(self):
        self.losses = []

    def step(self, closure):
        self.losses.append(closure())
        return float(self.losses[-1])


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
def test_the_zo_closure_loss_is_float32_when_the_model_is_bf16(model):
    spec = RunSpec(method="lozo", model=model, dtype="bfloat16", device="cpu", batch_size=4)
    prep = prepare(spec)
    assert next(prep.loaded.model.parameters()).dtype == torch.bfloat16
    enc, y = _batch(prep.loaded, prep.task, [0, 1, 2, 3])
    spy = _SpyOptimizer()
    train_step(spec, prep.loaded.model, spy, enc, y)
    assert spy.losses[0].dtype == torch.float32


@pytest.mark.parametrize("method", ["lozo", "lozo_m", "mezo"])
@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
def test_bf16_training_at_lr_0_leaves_the_weights_bit_for_bit(model, method):
    spec = RunSpec(method=method, model=model, dtype="bfloat16", device="cpu", batch_size=4, nu=3)
    prep = prepare(spec)
    net = prep.loaded.model
    start = {k: v.clone() for k, v in net.state_dict().items()}
    opt = build_optimizer(spec, net, 0.0)
    assert opt.precision == ("master" if method == "mezo" else "exact")
    plus_minus = []
    for step in range(7):
        enc, y = _batch(
            prep.loaded, prep.task, [(4 * step + i) % len(prep.task.train_texts) for i in range(4)]
        )
        train_step(spec, net, opt, enc, y)
        plus_minus.append(opt.last_projected_grad)
    opt.merge()
    assert all(torch.equal(v, start[k]) for k, v in net.state_dict().items())
    assert sum(c != 0 for c in plus_minus) >= 5  # the steps measured something


def test_bf16_lozo_learns_with_the_exact_mode():
    spec = RunSpec(method="lozo", model="tiny-bert", dtype="bfloat16", device="cpu", batch_size=8, nu=5)
    prep = prepare(spec)
    net = prep.loaded.model
    opt = build_optimizer(spec, net, 1e-2)
    rows = list(range(8))
    enc, y = _batch(prep.loaded, prep.task, rows)
    with torch.inference_mode():
        before = torch.nn.functional.cross_entropy(net(**enc).float(), y).item()
    for _ in range(60):
        train_step(spec, net, opt, enc, y)
    with torch.inference_mode():  # evaluation sees the pending low-rank updates through the hooks
        after = torch.nn.functional.cross_entropy(net(**enc).float(), y).item()
    assert after < before
