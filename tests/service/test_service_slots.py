"""A worker's slots: how the worker resolves them at start, and the share each run's process gets."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

import worker.slots as slots_module
from backend.core.config import Settings
from worker.celery_app import _size_the_pool, cli_queues
from worker.execution.runner import child_environment
from worker.slots import RunShare, resolve_worker_slots, run_share, worker_slots


@pytest.fixture
def machine(monkeypatch):
    """A pretend machine: 16 cores, 4 CUDA devices (counted only when asked), no ZOPOC_* environment."""
    for key in [k for k in os.environ if k.startswith("ZOPOC_") or k == "CUDA_VISIBLE_DEVICES"]:
        monkeypatch.delenv(key)
    counted: list[int] = []

    def count() -> int:
        counted.append(4)
        return 4

    monkeypatch.setattr(slots_module, "usable_cpus", lambda: 16)
    monkeypatch.setattr(slots_module, "count_cuda_devices", count)
    yield counted
    slots_module.set_worker_slots(1)


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_auto_counts_cuda_devices_only_for_a_worker_of_the_gpu_queue(machine):
    assert resolve_worker_slots(settings(), ["cpu"]) == 4  # 16 cores // 4 threads per run
    assert machine == [], "a CPU worker never loads torch to count devices"
    assert resolve_worker_slots(settings(threads_per_run=8), ["cpu"]) == 2
    assert resolve_worker_slots(settings(), ["gpu"]) == 4 and machine == [4]
    assert resolve_worker_slots(settings(queue_prefix="t1-"), ["t1-cpu", "t1-gpu"]) == 4
    assert resolve_worker_slots(settings(worker_slots=2), ["gpu"]) == 2 and machine == [4, 4]


def test_the_pool_is_sized_from_the_slots_unless_concurrency_is_given(machine):
    conf = SimpleNamespace(worker_concurrency=None)
    _size_the_pool(conf=conf, options={"concurrency": None, "queues": ["gpu"]})
    assert conf.worker_concurrency == 4 and worker_slots() == 4
    conf = SimpleNamespace(worker_concurrency=None)
    _size_the_pool(conf=conf, options={"concurrency": 3, "queues": None})
    assert conf.worker_concurrency is None, "an explicit --concurrency is Celery's to apply"
    assert worker_slots() == 3, "and the runs share the machine by it"


def test_queues_come_from_the_command_line_else_the_setting(machine):
    assert cli_queues(["p-gpu"], settings()) == ["p-gpu"]
    assert cli_queues("a, b", settings()) == ["a", "b"]
    assert cli_queues(None, settings(worker_queues="cpu,gpu")) == ["cpu", "gpu"]


def test_one_slot_leaves_threads_and_devices_as_they_were(machine):
    assert run_share(settings(), "gpu", slots=1, slot=0) == RunShare(threads=None, cuda_device=None)
    assert run_share(settings(train_threads=3), "cpu", slots=1, slot=0).threads == 3


def test_several_slots_share_the_cores_and_give_each_gpu_run_its_own_device(machine, monkeypatch):
    assert run_share(settings(), "cpu", slots=4, slot=2) == RunShare(threads=4, cuda_device=None)
    assert run_share(settings(), "gpu", slots=4, slot=2) == RunShare(threads=4, cuda_device="2")
    assert run_share(settings(train_threads=1), "cpu", slots=4, slot=0).threads == 1, "the setting wins"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    assert run_share(settings(), "gpu", slots=2, slot=1).cuda_device == "5"


def test_the_child_environment_carries_the_share(machine):
    env = child_environment(settings(), RunShare(threads=4, cuda_device="1"))
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "4"
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    plain = child_environment(settings())
    assert "OMP_NUM_THREADS" not in plain and "CUDA_VISIBLE_DEVICES" not in plain


def test_nvml_reads_the_device_a_slot_was_given_not_nvml_device_zero():
    from worker.train.memory import nvml_handle

    fake = SimpleNamespace(
        nvmlDeviceGetHandleByIndex=lambda i: ("index", i), nvmlDeviceGetHandleByUUID=lambda u: ("uuid", u)
    )
    assert nvml_handle(fake, 0, None) == ("index", 0)
    assert nvml_handle(fake, 0, "2") == ("index", 2)
    assert nvml_handle(fake, 1, "3,1") == ("index", 1)
    assert nvml_handle(fake, 0, "GPU-abc") == ("uuid", "GPU-abc")
