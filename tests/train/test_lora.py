"""LoRA through peft: frozen pretrained weights, trainable adapters (and head), the shared start kept."""

import pytest
import torch

from backend.estimates import memory, shapes
from common.runspec import RunSpec
from worker.train.adapters import adapted_layer_names, add_lora
from worker.train.events import EventWriter
from worker.train.loop import prepare, run

TINY = dict(dataset="demo-sentiment", steps=6, eval_every=3, batch_size=8, device="cpu", seed=3)


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-gpt2"])
def test_lora_trains_only_its_adapters_and_starts_where_the_others_start(model):
    prep = prepare(RunSpec(method="lora", model=model, **TINY))
    net = prep.loaded.model
    base = {k: v.detach().clone() for k, v in net.state_dict().items()}
    rank = 4
    backbone = net.encoder if model == "tiny-bert" else net.lm
    names = adapted_layer_names(backbone)
    adapter_params = rank * sum(sum(dict(backbone.named_modules())[n].weight.shape) for n in names)
    trainable = add_lora(net, rank=rank, alpha=8, seed=3)
    modules = dict(backbone.named_modules())
    head_params = sum(p.numel() for p in net.head.parameters()) if model == "tiny-bert" else 0
    assert trainable == adapter_params + head_params
    assert add_lora(net, rank=rank, alpha=8, seed=3) == trainable  # a second call adds nothing
    frozen = [n for n, p in net.named_parameters() if not p.requires_grad]
    assert frozen and all("lora_" not in n for n in frozen)
    # B starts at zero: the adapted model computes exactly what the base model computes
    enc = prep.loaded.encode(prep.task.eval_texts[:8])
    adapted = net(**enc)
    for n in names:
        modules[n].enable_adapters(False)
    assert torch.equal(adapted, net(**enc))
    # the pretrained weights are kept as they were, under the adapted layers' base_layer
    after = net.state_dict()
    for key, value in base.items():
        layer, _, leaf = key.rpartition(".")
        moved = f"{layer}.base_layer.{leaf}"
        assert torch.equal(value, after[moved] if moved in after else after[key])


def test_a_lora_run_changes_adapters_not_the_pretrained_weights(monkeypatch):
    from worker.train import loop

    kept: dict = {}
    build = loop.build_optimizer

    def remember(spec, model, lr):
        kept["model"] = model
        kept["before"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return build(spec, model, lr)

    monkeypatch.setattr(loop, "build_optimizer", remember)
    writer = EventWriter(None)
    finished = run(RunSpec(method="lora", model="tiny-bert", lr=1e-2, **TINY), writer)
    assert finished["event"] == "finished", finished
    after = kept["model"].state_dict()
    changed = {k for k, v in kept["before"].items() if not torch.equal(v, after[k])}
    assert changed and all("lora_" in k or k.startswith("head.") for k in changed)
    assert any("lora_B" in k for k in changed)
    started = next(e for e in writer.events if e["event"] == "started")
    assert started["model"]["n_trainable"] < started["model"]["n_params"] / 10


def test_the_forecast_counts_lora_as_far_below_full_fine_tuning():
    shape = shapes.model_shape("7b")
    work = memory.Workload(dtype="bfloat16", recipe="mixed", batch_size=4, seq_len=512, lora_rank=8)
    lora = memory.estimate(shape, "lora", work).bytes
    adamw = memory.estimate(shape, "adamw", work).bytes
    adapters = 8 * shape.linear_dims
    assert lora["gradients"] == 2 * adapters and lora["weights"] == 2 * (shape.n_params + adapters)
    assert lora["optimizer_states"] == (4 + 8) * adapters  # fp32 master and two fp32 moments
    assert lora["activations"] == adamw["activations"]  # backprop keeps every layer's activations
    assert lora["total"] < adamw["total"] / 3
