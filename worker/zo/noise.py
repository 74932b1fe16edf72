"""Seeded noise for the zeroth-order optimizers: seed derivation and Gaussian fills.

Every random draw of an optimizer is addressed by a tuple (run seed, stream, counter, parameter index) and
comes from a dedicated ``torch.Generator`` re-seeded from that tuple, never from the global RNG (which would
also move dropout and the data order). Addressing each parameter separately lets a step regenerate one
parameter's noise without replaying the others, and makes the noise independent of how the parameters are
split into param groups.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

# Stream tags: U and z are drawn per step, V per period of the lazy sampling; separate streams are what
# fixes the reference code's defect (its update pass replayed a different U than the measurement used).
STREAM_STEP = 1
STREAM_PERIOD = 2

_MASK64 = (1 << 64) - 1
_SEED_MASK = (1 << 63) - 1


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
    return x & _SEED_MASK


# Elements per chunk of a CPU fill. torch's CPU normal_ first writes uniforms over the whole tensor and then
# transforms them (Box-Muller) in a second pass; on a 22.7M-parameter model the two passes miss the cache.
# Filling 32K elements at a time keeps both passes in L2 and was 1.4-1.7x faster here (benchmarks/README.md).
CHUNK_ELEMENTS = 1 << 15
# A thread gets at least this many chunks (or full small tensors), else the draw stays on the caller.
MIN_CHUNKS_PER_THREAD = 8


@dataclass(frozen=True)
class GaussianAdd:
    """One update ``tensor ← shrink·tensor + alpha·z`` with z ~ N(0, I) determined by ``seed``.

    With ``out``, the tensor is left alone and ``out ← shrink·tensor + alpha·z`` is written instead,
    computed in the tensor's dtype and rounded once to ``out``'s (a float32 master written into half-precision
    weights); ``out`` has the tensor's shape. z is the same as for an in-place update of the same tensor.
    """

    tensor: torch.Tensor
    seed: int
    alpha: float
    shrink: float = 1.0
    out: torch.Tensor | None = None


class NoiseSource:
    """Gaussian noise from dedicated generators, re-seeded for each draw; never the global RNG.

    Two kinds of draw:
    - ``randn``: a small new tensor (LOZO's U and V factors) from one generator per device, re-seeded.
    - ``add_gaussian_``: θ ← shrink·θ + alpha·z for many full-size tensors without materialising z
      (MeZO's z, LOZO's 1-D noise). On CPU, z is produced in chunks of ``CHUNK_ELEMENTS``; chunk j of a
      tensor comes from a generator seeded by (its seed, j), so the chunks can be spread over ``workers``
      threads and the result does not depend on the number of threads or their scheduling. Off the CPU
      (CUDA: Philox, fast) a tensor's z is drawn whole into a reused buffer on its device.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else torch.get_num_threads())
        self._generators: dict[torch.device, torch.Generator] = {}
        self._buffers: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None

    def generator(self, device: torch.device, seed: int) -> torch.Generator:
        """The cached generator of ``device``, re-seeded with ``seed``."""
        gen = self._generators.get(device)
        if gen is None:
            gen = torch.Generator(device=device)
            self._generators[device] = gen
        gen.manual_seed(seed)
        return gen

    def randn(self, shape: tuple[int, ...], like: torch.Tensor, seed: int) -> torch.Tensor:
        """A new N(0, 1) tensor of ``shape`` with ``like``'s dtype and device, determined by ``seed``."""
        out = torch.empty(shape, dtype=like.dtype, device=like.device)
        return out.normal_(generator=self.generator(out.device, seed))

    def gaussian_like(self, tensor: torch.Tensor, seed: int) -> torch.Tensor:
        """The z that ``add_gaussian_`` adds to ``tensor`` for ``seed``, as a new tensor (for tests)."""
        z = torch.zeros_like(tensor)
        self.add_gaussian_([GaussianAdd(z, seed, 1.0)])
        return z

    def add_gaussian_(self, updates: list[GaussianAdd]) -> None:
        """Apply every update in place: tensor ← shrink·tensor + alpha·z(seed)."""
        tasks: list[tuple[torch.Tensor, int, float, float, torch.Tensor | None]] = []
        for update in updates:
            t = update.tensor
            out = update.out
            if t.device.type == "cpu" and t.is_contiguous() and (out is None or out.is_contiguous()):
                flat = t.view(-1)
                flat_out = out.view(-1) if out is not None else None
                for j, start in enumerate(range(0, flat.numel(), CHUNK_ELEMENTS)):
                    chunk = flat[start : start + CHUNK_ELEMENTS]
                    chunk_out = flat_out[start : start + CHUNK_ELEMENTS] if flat_out is not None else None
                    chunk_seed = _splitmix64(update.seed ^ _splitmix64(j))
                    tasks.append((chunk, chunk_seed, update.alpha, update.shrink, chunk_out))
            else:
                self._add_whole_(update)
        if not tasks:
            return
        # Handing work to threads costs more than drawing a few chunks: small jobs stay on this thread.
        n_slices = min(self.workers, len(tasks) // MIN_CHUNKS_PER_THREAD)
        if n_slices <= 1:
            self._run_chunks(tasks)
            return
        bounds = [round(i * len(tasks) / n_slices) for i in range(n_slices + 1)]
        slices = [tasks[bounds[i] : bounds[i + 1]] for i in range(n_slices)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers - 1, thread_name_prefix="zo-noise")
        futures = [self._pool.submit(self._run_chunks, part) for part in slices[1:]]
        self._run_chunks(slices[0])  # the calling thread takes a share too
        for future in futures:
            future.result()

    @torch.no_grad()  # grad mode is per thread: the pool's threads do not inherit the caller's no_grad
    def _run_chunks(self, tasks: list[tuple[torch.Tensor, int, float, float, torch.Tensor | None]]) -> None:
        """Work through chunk tasks with this thread's own generator and cache-sized buffer."""
        gen = getattr(self._local, "generator", None)
        if gen is None:
            gen = self._local.generator = torch.Generator()
            self._local.buffers = {}
        buffers: dict[torch.dtype, torch.Tensor] = self._local.buffers
        for chunk, seed, alpha, shrink, out in tasks:
            buf = buffers.get(chunk.dtype)
            if buf is None:
                buf = buffers[chunk.dtype] = torch.empty(CHUNK_ELEMENTS, dtype=chunk.dtype)
            z = buf[: chunk.numel()]
            gen.manual_seed(seed & _SEED_MASK)
            z.normal_(generator=gen)
            if out is not None:  # out ← shrink·chunk + alpha·z, rounded once; z's buffer holds the sum
                out.copy_(z.mul_(alpha).add_(chunk, alpha=shrink))
                continue
            if shrink != 1.0:
                chunk.mul_(shrink)
            chunk.add_(z, alpha=alpha)

    def _add_whole_(self, update: GaussianAdd) -> None:
        """Off-CPU (or non-contiguous) path: draw the whole z into a reused buffer, then add."""
        t = update.tensor
        key = (t.device, t.dtype)
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < t.numel():
            buf = self._buffers[key] = torch.empty(t.numel(), dtype=t.dtype, device=t.device)
        z = buf[: t.numel()].view(t.shape)
        z.normal_(generator=self.generator(t.device, update.seed))
        if update.out is not None:
            update.out.copy_(z.mul_(update.alpha).add_(t, alpha=update.shrink))
            return
        if update.shrink != 1.0:
            t.mul_(update.shrink)
        t.add_(z, alpha=update.alpha)

    def __getstate__(self) -> dict:
        # Threads, thread-locals and generators are not picklable; they are rebuilt on demand.
        return {"workers": self.workers}

    def __setstate__(self, state: dict) -> None:
        NoiseSource.__init__(self, state["workers"])
