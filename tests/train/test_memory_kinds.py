"""Memory figures named by kind: the CPU baseline holds the weights; summaries never mix kinds."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from common.memory_kinds import KIND_INFO, MEMORY_KINDS, added_mb, headline_kind, memory_metric
from worker.train import memory

# In a fresh process: RSS before loading, after loading (memory-mapped weights), and the baseline the
# engine's memory record takes (MemoryRecord.start, as the training loop does). A tiny model of the same
# architecture is loaded first, so the code that loading imports is not counted as the weights.
BASELINE_SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    import torch
    from transformers import AutoModelForCausalLM
    from worker.train import memory

    torch.set_num_threads(1)
    warm = AutoModelForCausalLM.from_pretrained(sys.argv[2]).eval()
    memory.MemoryRecord(memory.CpuProbe()).start(warm)
    del warm
    gc.collect()
    before = memory.current_rss_mb()
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval()
    after_load = memory.current_rss_mb()
    started = memory.MemoryRecord(memory.CpuProbe()).start(model)
    print(json.dumps({"before": before, "after_load": after_load, "started": started}))
    """
)


def test_cpu_baseline_includes_the_resident_weights(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=40_000, n_embd=512, n_layer=2, n_head=8, n_positions=128)
    model = GPT2LMHeadModel(config)
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / memory.MB
    assert weights_mb > 80  # large enough that the weights stand out from the interpreter's noise
    model.save_pretrained(tmp_path / "model", safe_serialization=True)
    del model
    config.vocab_size, config.n_embd = 100, 16
    GPT2LMHeadModel(config).save_pretrained(tmp_path / "warm", safe_serialization=True)
    script = [sys.executable, "-c", BASELINE_SCRIPT, str(tmp_path / "model"), str(tmp_path / "warm")]
    out = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    started = figures["started"]
    assert started["kind"] == "host_rss" and started["device_kind"] == "cpu"
    assert started["baseline_mb"] == started["baselines"]["host_rss"]
    assert started["baseline_mb"] - figures["before"] >= 0.9 * weights_mb, figures


def test_make_weights_resident_keeps_values_and_tied_weights():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(vocab_size=100, n_embd=16, n_layer=1, n_head=2, n_positions=16))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    memory.make_weights_resident(model)
    assert model.lm_head.weight is model.transformer.wte.weight
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class StepProbe:
    """A CUDA-like probe with set figures: baseline 10, a peak that follows ``level``."""

    device_kind = "cuda"
    headline = "cuda_allocated"

    def __init__(self) -> None:
        self.level = 10.0
        self.segments = 0

    def make_resident(self, model):
        pass

    def current(self):
        return {"cuda_allocated": 10.0, "cuda_reserved": 20.0, "nvml_process": None, "host_rss": 500.0}

    def reset_peaks(self):
        self.level = 10.0

    def start_segment(self):
        self.segments += 1

    def peaks(self):
        return {"cuda_allocated": self.level, "cuda_reserved": self.level + 4, "nvml_process": None}


def test_record_keeps_running_peaks_and_names_metrics_by_kind():
    probe = StepProbe()
    record = memory.MemoryRecord(probe)
    started = record.start(torch.nn.Linear(2, 2))
    assert started["kind"] == "cuda_allocated" and started["baseline_mb"] == 10.0
    assert "nvml_process" not in started["baselines"]  # unavailable figures are left out, not zero
    probe.level = 70.0
    assert record.sample() == {"memory/cuda_peak_allocated_mb": 70.0, "memory/cuda_peak_reserved_mb": 74.0}
    record.start_segment()
    probe.level = 40.0  # a later segment with a lower peak does not lower the run's peak
    assert record.sample()["memory/cuda_peak_allocated_mb"] == 70.0
    summary = record.summary()
    assert (summary["memory_kind"], summary["baseline_mb"], summary["peak_mb"]) == ("cuda_allocated", 10, 70)
    assert summary["added_mb"] == 60.0
    assert summary["memory"]["host_rss"] == {"baseline_mb": 500.0, "peak_mb": None}
    assert summary["baseline_rss_mb"] == 500.0 and summary["cuda_peak_allocated_mb"] == 70.0
    assert probe.segments == 1


def test_substituted_probe_reaches_the_training_loop():
    from common.runspec import RunSpec
    from worker.train.events import EventWriter
    from worker.train.loop import run

    memory.set_probe_factory(lambda device: StepProbe())
    try:
        writer = EventWriter(None)
        finished = run(RunSpec(method="mezo", model="tiny-bert", steps=2, eval_every=5, device="cpu"), writer)
    finally:
        memory.set_probe_factory(None)
    started = writer.events[0]
    assert started["memory"]["kind"] == "cuda_allocated" and started["memory"]["baseline_mb"] == 10.0
    live = [e["values"] for e in writer.events if e["event"] == "metrics"]
    assert all("memory/cuda_peak_allocated_mb" in v and "memory/peak_rss_mb" not in v for v in live)
    assert finished["summary"]["memory_kind"] == "cuda_allocated"


def test_vocabulary():
    assert (
        set(MEMORY_KINDS) == set(KIND_INFO) == {"cuda_allocated", "cuda_reserved", "nvml_process", "host_rss"}
    )
    assert headline_kind("cpu") == "host_rss"
    assert headline_kind("cuda:1") == headline_kind("gpu") == "cuda_allocated"
    assert memory_metric("cuda_reserved") == "memory/cuda_peak_reserved_mb"
    assert memory_metric(None, "cuda") == "memory/cuda_peak_allocated_mb"
    assert memory_metric(None, None) == "memory/peak_rss_mb"
    assert added_mb(150.0, 100.0) == 50.0 and added_mb(90.0, 100.0) == 0.0 and added_mb(None, 1.0) is None


@pytest.mark.parametrize("device", ["cpu"])
def test_default_probe_of_a_device(device):
    probe = memory.probe_for(torch.device(device))
    assert probe.headline == "host_rss" and set(probe.current()) == {"host_rss"}
