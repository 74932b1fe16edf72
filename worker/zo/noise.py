"""Seeded noise for the zeroth-order optimizers: seed derivation and Gaussian fills.

Every random draw of an optimizer is addressed by a tuple (run seed, stream, counter, parameter index) and
comes from a dedicated ``torch.Generator`` re-seeded from that tuple, never from the global RNG (which would
also move dropout and the data order). Addressing each parameter separately lets a step regenerate one
parameter's noise without replaying the others, and makes the noise independent of how the parameters are
split into param groups.
"""

from __future__ import annotations

import torch

# Stream tags: U and z are drawn per step, V per period of the lazy sampling; separate streams are what
# fixes the reference code's defect (its update pass replayed a different U than the measurement used).
STREAM_STEP = 1
STREAM_PERIOD = 2

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """One round of the SplitMix64 finaliser: a bijective 64-bit mix with good avalanche."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derive_seed(run_seed: int, stream: int, counter: int, index: int) -> int:
    """Return a 63-bit generator seed for draw ``index`` of ``stream`` at ``counter`` (step or period).

    Distinct tuples give unrelated seeds; the same tuple always gives the same seed.
    """
    x = _splitmix64(run_seed & _MASK64)
    for part in (stream, counter, index):
        x = _splitmix64(x ^ (part & _MASK64))
    return x & ((1 << 63) - 1)


class NoiseSource:
    """Gaussian fills from per-device generators re-seeded for each draw.

    One generator per device is kept and re-seeded before each fill, so drawing costs no allocation and the
    stream of a draw depends only on its seed. On CUDA the generator is a CUDA (Philox) generator, so noise
    is made on the device in the parameter's dtype.
    """

    def __init__(self) -> None:
        self._generators: dict[torch.device, torch.Generator] = {}

    def generator(self, device: torch.device, seed: int) -> torch.Generator:
        """The cached generator of ``device``, re-seeded with ``seed``."""
        gen = self._generators.get(device)
        if gen is None:
            gen = torch.Generator(device=device)
            self._generators[device] = gen
        gen.manual_seed(seed)
        return gen

    def fill_(self, out: torch.Tensor, seed: int) -> torch.Tensor:
        """Fill ``out`` in place with i.i.d. N(0, 1) samples determined by ``seed``; return ``out``."""
        return out.normal_(generator=self.generator(out.device, seed))

    def randn(self, shape: tuple[int, ...], like: torch.Tensor, seed: int) -> torch.Tensor:
        """A new N(0, 1) tensor of ``shape`` with ``like``'s dtype and device, determined by ``seed``."""
        out = torch.empty(shape, dtype=like.dtype, device=like.device)
        return self.fill_(out, seed)
