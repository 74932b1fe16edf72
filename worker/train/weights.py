"""A stable fingerprint of a model's weights: equal hashes mean equal weights, bit for bit."""

from __future__ import annotations

import hashlib

import torch


def weights_sha256(weights: torch.nn.Module | dict[str, torch.Tensor]) -> str:
    """sha256 over the state dict in name order: each tensor's name, dtype, shape and raw bytes.

    A zeroth-order optimizer in an exact mode keeps part of the weights outside them: call its ``merge()``
    first. Bytes are read on the CPU (bfloat16 as its 16-bit pattern), so the hash does not depend on the
    device the weights live on.
    """
    state = weights.state_dict() if isinstance(weights, torch.nn.Module) else weights
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        flat = tensor.to("cpu").contiguous().reshape(-1)
        if flat.dtype.is_floating_point or flat.dtype.is_complex:
            flat = flat.view(
                torch.uint8
            )  # raw bytes: bfloat16 has no numpy dtype, -0.0 and nan payloads kept
        digest.update(flat.numpy().tobytes())
    return digest.hexdigest()
