"""One torch thread for the optimizer tests: the tensors are tiny, and on a shared CPU thread hand-offs
(OpenMP barriers) cost more than the arithmetic. Tests that need threads set them themselves."""

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
