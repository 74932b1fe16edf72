"""MeZO: ZO-SGD with the seed trick (Malladi et al., 2023): the noise is regenerated, never stored."""

from __future__ import annotations

from typing import Any


from worker.zo.base import ZOOptimizer, check_non_negative, check_positive, resolve_precision
from worker.zo.lowrank import restore_and_update_coefficients
from worker.zo.noise import GaussianAdd


class MeZO(ZOOptimizer):
    """MeZO (ZO-SGD, full-rank Gaussian directions, seed trick).

    Algorithm (step t, every parameter p with its own seed s_p = f(seed, t, index of p))::

        for p: z_p ~ N(0, I) from s_p;  p ← p + ε z_p          # regenerate, perturb
        ℓ₊ = closure()
        for p: regenerate z_p;          p ← p − 2ε z_p
        ℓ₋ = closure()
        c = (ℓ₊ − ℓ₋) / (2ε)
        for p: regenerate z_p;          p ← (1 − ηλ_p)(p + ε z_p) − η c z_p   # restore + update fused
        return ℓ₊

    where λ_p = weight_decay for ``p.dim() >= 2`` and 0 for biases / LayerNorm. Fusing the restore into the
    update needs three regenerations of z per step instead of the four of the reference algorithm; z is
    never stored: on CPU it is produced in cache-sized chunks straight into the update (memory = the model +
    a small buffer per thread); on CUDA in one buffer the size of the largest parameter.

    Precision (``precision``):
    - "in_place": the algorithm above. Float32 takes it under "auto" (trajectories and cost unchanged). In
      bf16/fp16 each of the three writes rounds θ: at lr = 0 the weights drift, and updates smaller than
      half a unit in the last place are lost.
    - "master" (what "auto" picks for bf16/fp16): a float32 master copy of every parameter. Each pass
      writes round(master ± εz) into the parameter (z generated in float32, rounded once: the parameter is
      never the source of the next write), the update goes to the master, θ ← round(master) after it. At
      lr = 0 the weights come back bit for bit, and the update is the float32 run's. Cost: 4 bytes per
      parameter on top of the model (3× a bf16 model's weights) and the same three regenerations of z.
      Chosen over restoring from a saved half-precision copy of θ (2 bytes per parameter), which also
      restores exactly but still rounds every update into the weights: with the learning rates ZO uses
      (updates of 1e-6 to 1e-4 per step against a bf16 spacing of ~2e-4 at |θ| = 0.05) most updates would
      be rounded away. benchmarks/README.md (precision) has the measured memory and update agreement.

    Args:
        params: iterable of tensors or param-group dicts (torch style).
        lr: learning rate η (default 1e-6, the paper's full-parameter setting for large models; small models
            need larger rates).
        zo_eps: perturbation scale ε (default 1e-3); one value for all groups.
        weight_decay: λ (default 0.0), not applied to 1-D parameters.
        seed: run seed (default 0); the noise of step t is a pure function of (seed, t).
        precision: "auto" (default), "in_place" or "master" (see above).
        zo_clip: bound on |c| as a multiple of the RMS of the earlier estimates (None: off; see ZOOptimizer).
    """

    PRECISIONS = ("in_place", "master")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-6,
        zo_eps: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        precision: str = "auto",
        zo_clip: float | None = None,
    ) -> None:
        check_non_negative("lr", lr)
        check_positive("zo_eps", zo_eps)
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, zo_eps=zo_eps, weight_decay=weight_decay), seed, zo_clip)
        self.precision = resolve_precision(precision, self.PRECISIONS, self._trainable())

    def _prepare(self, t: int) -> None:
        if self.precision == "master":
            for _, _, p in self._indexed_params():
                self._master(p)

    def _perturb(self, t: int, alpha: float) -> None:
        if self.precision == "master":
            offset = self._advance_offset(alpha)
            updates = []
            for index, _, p in self._indexed_params():
                master = self.state[p]["master"]
                if offset == 0.0:
                    p.copy_(master)
                else:
                    updates.append(GaussianAdd(master, self._z_seed(t, index), offset, out=p))
            self._noise.add_gaussian_(updates)
            return
        self._noise.add_gaussian_(
            [GaussianAdd(p, self._z_seed(t, index), alpha) for index, _, p in self._indexed_params()]
        )

    def _restore_and_update(self, t: int, c: float) -> None:
        if self.precision == "master":
            self._offset = 0.0
            updates = []
            for index, group, p in self._indexed_params():
                shrink = 1.0 - group["lr"] * group["weight_decay"] if p.dim() >= 2 else 1.0
                master = self.state[p]["master"]
                updates.append(GaussianAdd(master, self._z_seed(t, index), -group["lr"] * c, shrink))
            self._noise.add_gaussian_(updates)
            for _, _, p in self._indexed_params():
                p.copy_(self.state[p]["master"])
            return
        updates = []
        for index, group, p in self._indexed_params():
            shrink, along = restore_and_update_coefficients(
                group["zo_eps"], group["lr"], group["weight_decay"], decays=p.dim() >= 2
            )
            updates.append(GaussianAdd(p, self._z_seed(t, index), along - group["lr"] * c, shrink))
        self._noise.add_gaussian_(updates)
