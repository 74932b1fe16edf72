"""``python -m worker.train`` whose memory is read through a stand-in CUDA probe; it trains on the CPU.

The runner starts this instead of the engine (``execute_run(command=…)``), so a run goes through the real
engine, relay and database with the figures a GPU run would report: the CUDA probe is substituted where the
engine reads memory (``worker.train.memory.set_probe_factory``), nothing else. Its figures are fixed so a
test can tell them apart from the host RSS: 100 MB allocated after the model loaded, a peak that rises by
10 MB a sample up to 150 MB, the allocator's reserve 64 MB above it and the process's NVML figure 320 above.
"""

from __future__ import annotations

import sys

import torch

from worker.train import memory
from worker.train.cli import main

BASELINE_MB = 100.0
PEAK_MB = 150.0


class FakeCudaProbe:
    device_kind = "cuda"
    headline = "cuda_allocated"

    def __init__(self, device: torch.device) -> None:
        self.samples = 0

    def make_resident(self, model: torch.nn.Module) -> None:
        pass

    def current(self) -> memory.Figures:
        return {
            "cuda_allocated": BASELINE_MB,
            "cuda_reserved": BASELINE_MB + 28,
            "nvml_process": BASELINE_MB + 320,
            "host_rss": memory.current_rss_mb(),
        }

    def reset_peaks(self) -> None:
        memory.reset_peak_rss()

    def start_segment(self) -> None:
        pass

    def peaks(self) -> memory.Figures:
        self.samples += 1
        allocated = min(PEAK_MB, BASELINE_MB + 10 * self.samples)
        return {
            "cuda_allocated": allocated,
            "cuda_reserved": allocated + 64,
            "nvml_process": allocated + 320,
            "host_rss": memory.peak_rss_mb(),
        }


if __name__ == "__main__":
    memory.set_probe_factory(FakeCudaProbe)
    sys.exit(main())
