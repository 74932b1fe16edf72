"""How many runs one worker trains at once (its *slots*), and each run's share of the machine.

Pure arithmetic, shared by the worker (which resolves its slots at start and gives every training process
its share) and the tests. Counting CUDA devices needs torch and is the worker's business
(``worker.slots``); here the count is an argument.
"""

from __future__ import annotations

import os

AUTO = "auto"


def resolve_slots(
    setting: int | str, *, gpu: bool, cuda_devices: int, cpus: int, threads_per_run: int
) -> int:
    """The slots of a worker: ``setting`` when it is a number; for ``auto`` one per CUDA device it sees
    when it consumes the GPU queue, else one per ``threads_per_run`` cores (at least one either way)."""
    if setting != AUTO:
        slots = int(setting)
        if slots < 1:
            raise ValueError(f"worker slots must be a positive integer or {AUTO!r}, got {setting!r}")
        return slots
    if gpu:
        return max(1, cuda_devices)
    return max(1, cpus // max(1, threads_per_run))


def threads_per_slot(cpus: int, slots: int) -> int:
    """CPU threads of one run when ``slots`` runs share ``cpus`` cores: runs that oversubscribe the cores
    slow one another down more than they gain."""
    return max(1, cpus // max(1, slots))


def cuda_device_of_slot(slot: int, visible: str | None) -> str:
    """The CUDA device (as ``CUDA_VISIBLE_DEVICES`` names it) of pool process ``slot``: the slot-th device
    this worker sees, so runs of one worker never share a GPU. ``visible`` is the worker's own
    ``CUDA_VISIBLE_DEVICES`` (None or empty: every device, numbered from 0)."""
    devices = [d.strip() for d in (visible or "").split(",") if d.strip()]
    if not devices:
        return str(slot)
    return devices[slot % len(devices)]


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
