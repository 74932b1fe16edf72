"""A worker's slots (runs at once) and each run's share: the arithmetic, and the setting that feeds it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.core.config import Settings
from common.slots import cuda_device_of_slot, resolve_slots, threads_per_slot


def slots(setting, gpu=False, cuda_devices=0, cpus=2, threads_per_run=4) -> int:
    return resolve_slots(
        setting, gpu=gpu, cuda_devices=cuda_devices, cpus=cpus, threads_per_run=threads_per_run
    )


def test_a_number_is_taken_as_it_is_whatever_the_machine():
    assert slots(3) == 3
    assert slots(2, gpu=True, cuda_devices=8) == 2
    assert slots(1, cpus=64) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_a_number_below_one_is_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        slots(bad)


@pytest.mark.parametrize(
    ("cpus", "threads_per_run", "expected"),
    [(2, 4, 1), (4, 4, 1), (7, 4, 1), (8, 4, 2), (32, 4, 8), (32, 1, 32), (1, 1, 1), (0, 4, 1)],
)
def test_auto_on_cpu_is_one_run_per_threads_per_run_cores(cpus, threads_per_run, expected):
    assert slots("auto", cpus=cpus, threads_per_run=threads_per_run) == expected


@pytest.mark.parametrize(("devices", "expected"), [(0, 1), (1, 1), (4, 4)])
def test_auto_on_gpu_is_one_run_per_cuda_device(devices, expected):
    assert slots("auto", gpu=True, cuda_devices=devices, cpus=64) == expected


@pytest.mark.parametrize(
    ("cpus", "n", "expected"), [(2, 1, 2), (2, 2, 1), (2, 3, 1), (32, 3, 10), (16, 4, 4)]
)
def test_each_run_gets_its_share_of_the_cores_and_at_least_one(cpus, n, expected):
    assert threads_per_slot(cpus, n) == expected


def test_each_slot_gets_its_own_visible_device():
    assert [cuda_device_of_slot(i, None) for i in range(3)] == ["0", "1", "2"]
    assert [cuda_device_of_slot(i, "") for i in range(2)] == ["0", "1"]
    # A worker limited to some devices hands out those, by position.
    assert [cuda_device_of_slot(i, "2, 3") for i in range(2)] == ["2", "3"]
    assert cuda_device_of_slot(1, "GPU-aaaa,GPU-bbbb") == "GPU-bbbb"


@pytest.fixture
def no_zopoc_env(monkeypatch):
    import os

    for key in [k for k in os.environ if k.startswith("ZOPOC_")]:
        monkeypatch.delenv(key)


def test_the_setting_is_auto_by_default_with_four_threads_per_run(no_zopoc_env):
    settings = Settings(_env_file=None)
    assert settings.worker_slots == "auto" and settings.threads_per_run == 4


def test_the_setting_reads_a_number_or_auto_from_the_environment(no_zopoc_env, monkeypatch):
    monkeypatch.setenv("ZOPOC_WORKER_SLOTS", "2")
    monkeypatch.setenv("ZOPOC_THREADS_PER_RUN", "8")
    settings = Settings(_env_file=None)
    assert settings.worker_slots == 2 and settings.threads_per_run == 8
    monkeypatch.setenv("ZOPOC_WORKER_SLOTS", "auto")
    assert Settings(_env_file=None).worker_slots == "auto"


@pytest.mark.parametrize("bad", ["0", "-2", "many", "1.5"])
def test_the_setting_refuses_anything_else(no_zopoc_env, monkeypatch, bad):
    monkeypatch.setenv("ZOPOC_WORKER_SLOTS", bad)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
