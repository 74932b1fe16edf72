"""One torch thread for the optimizer tests: the tensors are tiny, and on a shared CPU thread hand-offs
(OpenMP barriers) cost more than the arithmetic. Tests that need threads set them themselves.

``ZOPOC_TEST_DEVICE=cuda`` (benchmarks/gpu_check.py sets it) runs the same tests on a GPU: tensors and
modules created without a device are made there (``torch.set_default_device``). Asking for a device this
machine does not have is an error, never a silent run on the CPU."""

import os

import pytest
import torch

TEST_DEVICE = os.environ.get("ZOPOC_TEST_DEVICE", "cpu")


def pytest_configure(config):
    if TEST_DEVICE.startswith("cuda") and not torch.cuda.is_available():
        raise pytest.UsageError(f"ZOPOC_TEST_DEVICE={TEST_DEVICE} but torch sees no CUDA device here")


def pytest_report_header(config):
    return f"zo tests on device: {TEST_DEVICE}"


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def test_device():
    """The device tensors are made on by default in this test (``ZOPOC_TEST_DEVICE``, default cpu)."""
    if TEST_DEVICE == "cpu":
        yield torch.device("cpu")
        return
    torch.set_default_device(TEST_DEVICE)
    try:
        yield torch.device(TEST_DEVICE)
    finally:
        torch.set_default_device("cpu")
