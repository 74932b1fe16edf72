"""MeZO: ZO-SGD with the seed trick (Malladi et al., 2023): the noise is regenerated, never stored."""

from __future__ import annotations

from typing import Any

from worker.zo.base import ZOOptimizer, check_non_negative, check_positive
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

    Args:
        params: iterable of tensors or param-group dicts (torch style).
        lr: learning rate η (default 1e-6, the paper's full-parameter setting for large models; small models
            need larger rates).
        zo_eps: perturbation scale ε (default 1e-3); one value for all groups.
        weight_decay: λ (default 0.0), not applied to 1-D parameters.
        seed: run seed (default 0); the noise of step t is a pure function of (seed, t).
    """

    def __init__(
        self, params: Any, lr: float = 1e-6, zo_eps: float = 1e-3, weight_decay: float = 0.0, seed: int = 0
    ) -> None:
        check_non_negative("lr", lr)
        check_positive("zo_eps", zo_eps)
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, zo_eps=zo_eps, weight_decay=weight_decay), seed)

    def _perturb(self, t: int, alpha: float) -> None:
        self._noise.add_gaussian_(
            [GaussianAdd(p, self._z_seed(t, index), alpha) for index, _, p in self._indexed_params()]
        )

    def _restore_and_update(self, t: int, c: float) -> None:
        updates = []
        for index, group, p in self._indexed_params():
            shrink, along = restore_and_update_coefficients(
                group["zo_eps"], group["lr"], group["weight_decay"], decays=p.dim() >= 2
            )
            updates.append(GaussianAdd(p, self._z_seed(t, index), along - group["lr"] * c, shrink))
        self._noise.add_gaussian_(updates)
