"""Memory probes, each figure named by its kind (common/memory_kinds.py).

A run records its baseline and its peak in one kind, its *headline* kind: ``host_rss`` on CPU,
``cuda_allocated`` on CUDA; the other kinds are recorded beside it where available. "Training adds" is
peak − baseline of the headline kind, never a mix.

CPU: torch has no allocator statistics there, so the figure is the process's resident set size. The weights
of a model loaded from a safetensors file are memory-mapped and become resident only when touched, so the
baseline is taken after every weight page was read (``make_weights_resident``): otherwise the weights paging
in during training would count as what training added. The peak is the kernel's high-water mark VmHWM, reset
with /proc/self/clear_refs after the baseline (elsewhere getrusage ru_maxrss since the process started).
GPU: torch.cuda.memory_allocated() after the model loaded as the baseline, max_memory_allocated() per phase
after reset_peak_memory_stats() as the peak (tensors only, what the papers report); beside it the allocator's
reserve (max_memory_reserved), this process's own device memory as NVML accounts it (not the whole
device's), and the host RSS.

The loop reads memory only through a probe (``probe_for``); tests substitute one with ``set_probe_factory``.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from typing import Any, Protocol

import psutil
import torch

from common.memory_kinds import METRIC_OF_KIND, MemoryKind, added_mb

MB = 1024 * 1024


def current_rss_mb() -> float:
    """Resident set size of this process now, in MiB."""
    return psutil.Process().memory_info().rss / MB


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Start a new CPU memory phase (Linux: clear_refs resets VmHWM); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident set size in MiB: since the last reset_peak_rss on Linux, else since the process started."""
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / MB if sys.platform == "darwin" else peak / 1024


def make_weights_resident(model: torch.nn.Module) -> None:
    """Read every page of every parameter and buffer, so all of the weights count in the RSS.

    transformers maps the safetensors file: a weight's pages become resident only when touched. Inference
    reads only the embedding rows of the tokens it sees, while a method that updates the weights writes every
    page; a baseline taken before would count the weights paging in as training's own memory. Reading
    (rather than copying) keeps tied weights tied and needs no second copy.
    """
    seen: set[int] = set()
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.device.type != "cpu" or tensor.numel() == 0:
                continue
            key = tensor.untyped_storage().data_ptr()
            if key in seen:
                continue
            seen.add(key)
            flat = tensor.detach().reshape(-1)
            # One element per page is enough to fault the page in; a stride keeps this cheap on big models.
            per_page = max(1, 4096 // max(1, flat.element_size()))
            flat[::per_page].to(torch.float32).sum().item()


def nvml_handle(pynvml: Any, cuda_index: int, visible: str | None) -> Any:
    """The NVML handle of CUDA device ``cuda_index``. NVML numbers every device of the machine, CUDA only
    the visible ones: a process given one device of several (``CUDA_VISIBLE_DEVICES=2``, a worker's slot)
    is on NVML's device 2 while CUDA calls it 0."""
    devices = [d.strip() for d in (visible or "").split(",") if d.strip()]
    if cuda_index < len(devices):
        entry = devices[cuda_index]
        if entry.isdigit():
            return pynvml.nvmlDeviceGetHandleByIndex(int(entry))
        return pynvml.nvmlDeviceGetHandleByUUID(entry)
    return pynvml.nvmlDeviceGetHandleByIndex(cuda_index)


def nvml_process_mb(device: torch.device) -> float | None:
    """This process's own device memory as the driver accounts it (NVML, per process), in MiB.

    Not the device's used memory: other processes on the same GPU are not counted. None without NVML, a
    driver, or where the driver cannot see this process's id (some containers).
    """
    if device.type != "cuda":
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            index = device.index if device.index is not None else torch.cuda.current_device()
            handle = nvml_handle(pynvml, index, os.environ.get("CUDA_VISIBLE_DEVICES"))
            pid = os.getpid()
            for process in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if process.pid == pid and process.usedGpuMemory is not None:
                    return process.usedGpuMemory / MB
            return None
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver library, or nvidia-ml-py not installed: the figure is optional
        return None


Figures = dict[MemoryKind, float | None]


class MemoryProbe(Protocol):
    """Where a run reads its memory figures. ``headline`` is the kind baseline and peak are recorded in."""

    device_kind: str
    headline: MemoryKind

    def make_resident(self, model: torch.nn.Module) -> None:
        """Make the loaded weights count in the baseline."""

    def current(self) -> Figures:
        """Each kind's figure now (the baseline, right after the model loaded)."""

    def reset_peaks(self) -> None:
        """Start the training phase: every later peak covers only what follows."""

    def start_segment(self) -> None:
        """Start a training segment after an evaluation (peaks that can be reset cover training only)."""

    def peaks(self) -> Figures:
        """Each kind's peak since the last reset (since ``start_segment`` where it can be reset)."""


class CpuProbe:
    device_kind = "cpu"
    headline: MemoryKind = "host_rss"

    def make_resident(self, model: torch.nn.Module) -> None:
        make_weights_resident(model)

    def current(self) -> Figures:
        return {"host_rss": current_rss_mb()}

    def reset_peaks(self) -> None:
        reset_peak_rss()

    def start_segment(self) -> None:
        pass  # VmHWM cannot be read per segment; evaluation's activations are small beside the weights

    def peaks(self) -> Figures:
        return {"host_rss": peak_rss_mb()}


class CudaProbe:
    device_kind = "cuda"
    headline: MemoryKind = "cuda_allocated"

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def make_resident(self, model: torch.nn.Module) -> None:
        pass  # the weights were copied to the device: all of them are allocated

    def current(self) -> Figures:
        torch.cuda.synchronize(self.device)
        return {
            "cuda_allocated": torch.cuda.memory_allocated(self.device) / MB,
            "cuda_reserved": torch.cuda.memory_reserved(self.device) / MB,
            "nvml_process": nvml_process_mb(self.device),
            "host_rss": current_rss_mb(),
        }

    def reset_peaks(self) -> None:
        reset_peak_rss()
        self.start_segment()

    def start_segment(self) -> None:
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)

    def peaks(self) -> Figures:
        return {
            "cuda_allocated": torch.cuda.max_memory_allocated(self.device) / MB,
            "cuda_reserved": torch.cuda.max_memory_reserved(self.device) / MB,
            "nvml_process": nvml_process_mb(self.device),  # no peak from the driver: sampled each step
            "host_rss": peak_rss_mb(),
        }


_probe_factory: Callable[[torch.device], MemoryProbe] | None = None


def set_probe_factory(factory: Callable[[torch.device], MemoryProbe] | None) -> None:
    """Read memory through ``factory(device)`` instead of the device's own probe (None: the default)."""
    global _probe_factory
    _probe_factory = factory


def probe_for(device: torch.device) -> MemoryProbe:
    if _probe_factory is not None:
        return _probe_factory(device)
    return CudaProbe(device) if device.type == "cuda" else CpuProbe()


class MemoryRecord:
    """A run's memory: baselines after the model loaded, running peaks of training, all named by kind."""

    def __init__(self, probe: MemoryProbe) -> None:
        self.probe = probe
        self.headline: MemoryKind = probe.headline
        self.baselines: Figures = {}
        self.peak: Figures = {}

    @classmethod
    def for_device(cls, device: torch.device) -> MemoryRecord:
        return cls(probe_for(device))

    def start(self, model: torch.nn.Module) -> dict[str, Any]:
        """Take the baselines (weights resident) and start the training phase; the ``started`` block."""
        self.probe.make_resident(model)
        self.baselines = {k: v for k, v in self.probe.current().items() if v is not None}
        self.probe.reset_peaks()
        return {
            "device_kind": self.probe.device_kind,
            "kind": self.headline,
            "baseline_mb": self.baselines.get(self.headline),
            "baselines": dict(self.baselines),
            "baseline_rss_mb": self.baselines.get("host_rss"),
            "baseline_meaning": f"{self.headline} after the model loaded and its weights were made resident",
            "peak_meaning": f"peak {self.headline} of training since the baseline",
        }

    def sample(self) -> dict[str, float]:
        """Update the running peaks; the live metrics, one per kind available (names follow the kind)."""
        for kind, value in self.probe.peaks().items():
            if value is not None:
                self.peak[kind] = max(self.peak.get(kind) or 0.0, value)
        return {METRIC_OF_KIND[kind]: value for kind, value in self.peak.items() if value is not None}

    def start_segment(self) -> None:
        self.probe.start_segment()

    def summary(self) -> dict[str, Any]:
        """The ``finished`` summary's memory fields: headline kind, baseline, peak, adds, and every kind."""
        self.sample()
        baseline, peak = self.baselines.get(self.headline), self.peak.get(self.headline)
        kinds = sorted(set(self.baselines) | set(self.peak))
        return {
            "memory_kind": self.headline,
            "baseline_mb": baseline,
            "peak_mb": peak,
            "added_mb": added_mb(peak, baseline),
            "memory": {k: {"baseline_mb": self.baselines.get(k), "peak_mb": self.peak.get(k)} for k in kinds},
            # The figures of earlier versions, each of the kind its name says.
            "peak_rss_mb": self.peak.get("host_rss", peak_rss_mb()),
            "baseline_rss_mb": self.baselines.get("host_rss"),
            "cuda_peak_allocated_mb": self.peak.get("cuda_allocated"),
        }


def empty_summary() -> dict[str, Any]:
    """The memory fields of a run that failed before its baseline was taken: no kind, no figures."""
    return {
        "memory_kind": None,
        "baseline_mb": None,
        "peak_mb": None,
        "added_mb": None,
        "memory": {},
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": None,
        "cuda_peak_allocated_mb": None,
    }
