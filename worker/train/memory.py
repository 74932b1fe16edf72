"""Memory probes, each labelled with what it means.

CPU: torch has no allocator statistics there, so we report the process's resident set size (RSS): a baseline
taken right after the model loaded, then the peak of the training phase (Linux: the kernel's high-water mark
VmHWM, reset with /proc/self/clear_refs after the baseline, so loading's transient peak does not mask the
method's own; elsewhere getrusage ru_maxrss since the process started). "peak − baseline" is what training
added. Each run is its own process, so the peak is the run's own.
GPU: torch.cuda.max_memory_allocated() per phase after reset_peak_memory_stats() (what the papers report:
tensors only), plus the device total from NVML (includes the CUDA context and the caching allocator, which
is why nvidia-smi shows more), when nvidia-ml-py and a driver are there.
"""

from __future__ import annotations

import resource
import sys

import psutil
import torch

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


def cuda_reset_peak(device: torch.device) -> None:
    """Start a new phase: the next cuda_peak_allocated_mb covers only what follows."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def cuda_peak_allocated_mb(device: torch.device) -> float | None:
    """torch.cuda.max_memory_allocated since the last reset, in MiB; None off CUDA."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / MB


def nvml_used_mb(device: torch.device) -> float | None:
    """Device memory in use as the driver sees it (nvidia-smi's number), in MiB; None when unavailable."""
    if device.type != "cuda":
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            index = device.index if device.index is not None else torch.cuda.current_device()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            return pynvml.nvmlDeviceGetMemoryInfo(handle).used / MB
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver library, or nvidia-ml-py not installed: the figure is optional
        return None
