"""This worker's slots (runs trained at once) and the share of the machine each run's process gets.

The worker resolves its slots once, at start, in its main process (``worker.celery_app``), before the
prefork pool starts one process per slot; the pool processes inherit the number. Each run then gets
``cores // slots`` CPU threads and, on a GPU, the device of its pool process (its slot): concurrent runs
never share a GPU. The arithmetic is ``common.slots``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass

from backend.core.config import Settings
from common.slots import cuda_device_of_slot, resolve_slots, threads_per_slot, usable_cpus

log = logging.getLogger(__name__)

_slots = 1  # this worker's slots; set at start, before the pool forks


def count_cuda_devices() -> int:
    """The CUDA devices this worker sees (honours ``CUDA_VISIBLE_DEVICES``); 0 when torch says none.

    Counted in a short-lived interpreter: the worker's main process, which forks the pool, neither loads
    torch nor initialises the CUDA driver.
    """
    probe = "import torch; print(torch.cuda.device_count())"
    try:
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
        )
        return int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        log.warning("could not count CUDA devices (%s); taking one slot", error)
        return 0


def consumes_gpu(queues: list[str], settings: Settings) -> bool:
    """Whether any of ``queues`` (full queue names or device kinds) is this deployment's GPU queue."""
    return any(q in (f"{settings.queue_prefix}gpu", "gpu") for q in queues)


def resolve_worker_slots(settings: Settings, queues: list[str]) -> int:
    """``worker_slots`` for a worker consuming ``queues``; devices are counted only when ``auto`` needs
    them."""
    gpu = consumes_gpu(queues, settings)
    needs_count = settings.worker_slots == "auto" and gpu
    return resolve_slots(
        settings.worker_slots,
        gpu=gpu,
        cuda_devices=count_cuda_devices() if needs_count else 0,
        cpus=usable_cpus(),
        threads_per_run=settings.threads_per_run,
    )


def set_worker_slots(slots: int) -> None:
    global _slots
    _slots = max(1, int(slots))


def worker_slots() -> int:
    """The slots of this worker (1 outside a worker, e.g. a run executed directly)."""
    return _slots


def slot_index() -> int:
    """The slot of the current pool process (billiard numbers them 0 .. slots-1); 0 outside a pool."""
    from billiard.process import current_process

    index = getattr(current_process(), "index", None)
    return index if isinstance(index, int) else 0


@dataclass(frozen=True)
class RunShare:
    """What one run's training process gets: CPU threads (None: the libraries' defaults) and, for a GPU run
    on a worker of several slots, the one CUDA device it sees (None: as the worker)."""

    threads: int | None
    cuda_device: str | None


def run_share(
    settings: Settings, device_kind: str, slots: int | None = None, slot: int | None = None
) -> RunShare:
    """This run's share: ``train_threads`` when set, else cores // slots once several runs share the
    machine; a GPU run of a multi-slot worker sees only its slot's device."""
    slots = worker_slots() if slots is None else slots
    slot = slot_index() if slot is None else slot
    threads = settings.train_threads or (threads_per_slot(usable_cpus(), slots) if slots > 1 else None)
    cuda = None
    if device_kind == "gpu" and slots > 1:
        cuda = cuda_device_of_slot(slot, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return RunShare(threads=threads, cuda_device=cuda)
