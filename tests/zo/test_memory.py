"""Memory claims, checked with torch's profiler (it records every CPU allocation of the ops it sees)."""

from __future__ import annotations

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from worker.zo import LOZO, LOZOM, MeZO
from worker.zo.noise import CHUNK_ELEMENTS


def _largest_allocation_bytes(fn) -> int:
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return max([e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0], default=0)


@pytest.mark.parametrize("cls", [LOZO, LOZOM])
def test_lozo_step_never_allocates_an_m_by_n_temporary(cls):
    m, n = 512, 256
    layer = torch.nn.Linear(n, m, bias=False)
    x = torch.randn(1, n)
    opt = cls(layer.parameters(), lr=1e-3, rank=2)
    opt.step(lambda: layer(x).sum())  # first step allocates V; measure a later one
    biggest = _largest_allocation_bytes(lambda: opt.step(lambda: layer(x).sum()))
    assert biggest < m * n * 4 // 8, f"largest allocation {biggest} B for a {m}x{n} weight"


def test_mezo_on_cpu_needs_no_parameter_sized_buffer():
    layer = torch.nn.Linear(1024, 1024, bias=False)  # 1M parameters, 4 MB
    x = torch.randn(1, 1024)
    opt = MeZO(layer.parameters(), lr=1e-3)
    biggest = _largest_allocation_bytes(lambda: opt.step(lambda: layer(x).sum()))
    assert biggest <= CHUNK_ELEMENTS * 4 < layer.weight.numel() * 4


def test_noise_threads_do_not_change_the_trajectory():
    """The optimizer spreads noise chunks over torch's thread count; the trajectory must not notice."""
    results = []
    for threads in (1, 3):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        layer = torch.nn.Linear(1024, 600)  # 19 chunks per pass in the weight: enough to use threads
        x = torch.randn(4, 1024)
        opt = MeZO(layer.parameters(), lr=1e-3, seed=2)
        assert opt._noise.workers == threads

        def loss(layer=layer, x=x):
            return layer(x).pow(2).mean()

        for _ in range(3):
            opt.step(loss)
        results.append(layer.weight.detach().clone())
    assert torch.equal(results[0], results[1])
