"""One vocabulary for memory figures, shared by the engine, the service, the dashboard and the reports.

A memory figure is only comparable with another of the same kind: a CUDA allocation peak minus a host RSS
baseline means nothing. Every figure the product stores or shows therefore names its kind:

- ``cuda_allocated``: bytes held by tensors, ``torch.cuda.max_memory_allocated`` (what the MeZO/LOZO papers
  report; excludes the CUDA context and the caching allocator's unused reserve);
- ``cuda_reserved``: what torch's caching allocator holds from the driver, ``torch.cuda.max_memory_reserved``
  (tensors plus the allocator's reserve; still without the CUDA context);
- ``nvml_process``: this process's own use of the device as the driver accounts it (NVML's per-process
  figure: context + allocator + everything else the process holds), never the whole device's;
- ``host_rss``: resident set size of the run's process in host memory.

A run's *headline* kind is the one its baseline and peak are recorded in: ``host_rss`` on CPU, and
``cuda_allocated`` on a GPU (the others are recorded beside it where available). "Training adds" is
peak − baseline of the headline kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

MemoryKind = Literal["cuda_allocated", "cuda_reserved", "nvml_process", "host_rss"]
MEMORY_KINDS: tuple[MemoryKind, ...] = get_args(MemoryKind)


@dataclass(frozen=True)
class MemoryKindInfo:
    kind: MemoryKind
    label: str  # short English label; the dashboard and the reports translate by kind
    description: str
    metric: str  # name of the live metric that carries this kind's running peak
    device: Literal["cpu", "cuda"]  # where the memory lives


KIND_INFO: dict[MemoryKind, MemoryKindInfo] = {
    "cuda_allocated": MemoryKindInfo(
        "cuda_allocated",
        "GPU memory allocated by tensors",
        "peak of torch.cuda.max_memory_allocated: the tensors the run holds, without the CUDA context "
        "and the caching allocator's reserve",
        "memory/cuda_peak_allocated_mb",
        "cuda",
    ),
    "cuda_reserved": MemoryKindInfo(
        "cuda_reserved",
        "GPU memory reserved by the allocator",
        "peak of torch.cuda.max_memory_reserved: tensors plus the caching allocator's reserve, without the "
        "CUDA context",
        "memory/cuda_peak_reserved_mb",
        "cuda",
    ),
    "nvml_process": MemoryKindInfo(
        "nvml_process",
        "GPU memory of the run's process (driver)",
        "this process's own device memory as the driver accounts it (NVML, per process): context, "
        "allocator and tensors; other processes on the device are not counted",
        "memory/nvml_process_mb",
        "cuda",
    ),
    "host_rss": MemoryKindInfo(
        "host_rss",
        "host memory (RSS) of the run's process",
        "resident set size of the run's process; the baseline is taken after every weight page is resident",
        "memory/peak_rss_mb",
        "cpu",
    ),
}

METRIC_OF_KIND: dict[MemoryKind, str] = {kind: info.metric for kind, info in KIND_INFO.items()}
KIND_OF_METRIC: dict[str, MemoryKind] = {info.metric: kind for kind, info in KIND_INFO.items()}


def is_memory_kind(value: object) -> bool:
    return isinstance(value, str) and value in KIND_INFO


def device_kind(device: str | None) -> Literal["cpu", "cuda"]:
    """'cuda' for a CUDA device name ("cuda", "cuda:1") or the service's queue name "gpu"; else 'cpu'."""
    text = (device or "cpu").lower()
    return "cuda" if text.startswith("cuda") or text == "gpu" else "cpu"


def headline_kind(device: str | None) -> MemoryKind:
    """The kind a run on ``device`` records its baseline and peak in."""
    return "cuda_allocated" if device_kind(device) == "cuda" else "host_rss"


def memory_metric(kind: str | None, device: str | None = None) -> str:
    """The live metric that plots ``kind`` (else the headline kind of ``device``)."""
    if is_memory_kind(kind):
        return METRIC_OF_KIND[kind]  # type: ignore[index]
    return METRIC_OF_KIND[headline_kind(device)]


def added_mb(peak_mb: float | None, baseline_mb: float | None) -> float | None:
    """What training added: peak − baseline of one kind (never negative); None when either is missing."""
    if peak_mb is None or baseline_mb is None:
        return None
    return max(0.0, peak_mb - baseline_mb)
