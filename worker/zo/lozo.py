"""LOZO and LOZO-M (Chen et al., ICLR 2025): low-rank zeroth-order directions with lazy sampling of V."""

from __future__ import annotations

from typing import Any

import torch

from worker.zo.base import (
    ZOOptimizer,
    check_non_negative,
    check_positive,
    check_positive_int,
)
from worker.zo.lowrank import (
    apply_low_rank_perturbation_,
    as_matrix,
    lozo_m_momentum,
    restore_and_update_coefficients,
)
from worker.zo.noise import STREAM_PERIOD, GaussianAdd, derive_seed


class LOZO(ZOOptimizer):
    """LOZO: rank-r perturbations U Vᵀ of every 2-D weight, V redrawn lazily every ν steps.

    Algorithm (step t; W a weight with ``dim() >= 2`` viewed as (m, n); b a 1-D parameter)::

        k = t // ν                                   # period of the lazy sampling
        if t % ν == 0: V_W ~ N(0, 1)^(n×r) from generator(seed, period k, W)   # stored in state
        U_W ~ N(0, 1)^(m×r) from generator(seed, step t, W)    # kept for this step only (m·r numbers)
        z_b ~ N(0, I) from generator(seed, step t, b)          # regenerated in each pass, as in MeZO
        Z = {U_W V_Wᵀ, z_b}
        θ ← θ + εZ;  ℓ₊ = closure();  θ ← θ − 2εZ;  ℓ₋ = closure()
        c = (ℓ₊ − ℓ₋) / (2ε)
        W ← (1 − ηλ)(W + ε U Vᵀ) − η·c·s·U Vᵀ       # one addmm_ per weight, no m×n temporary
        b ← b + ε z_b − η·c·z_b                       # no weight decay on 1-D parameters
        return ℓ₊

    U and V come from separate generators (step stream and period stream), so the update always uses the
    very U that measured c; the reference code drew V and U from one stream and replayed a different U on
    the steps where V was redrawn.

    The 1/r convention: E[vec(U Vᵀ) vec(U Vᵀ)ᵀ] = r·I, so the unbiased gradient estimate is c·U Vᵀ / r.
    ``scale_by_rank=False`` (default) follows the reference code: s = 1 and the learning rate absorbs the
    factor r (rates tuned for the reference code carry over). ``scale_by_rank=True`` uses the paper's
    unbiased s = 1/r (then η plays the same role as MeZO's).

    Args:
        params: iterable of tensors or param-group dicts (torch style).
        lr: learning rate η (default 1e-6, the paper's setting for large models).
        zo_eps: perturbation scale ε (default 1e-3); one value for all groups.
        rank: r, columns of U and V (default 2).
        step_interval: ν, steps between redraws of V (default 50).
        weight_decay: λ (default 0.0), applied to tensors with ``dim() >= 2`` only.
        seed: run seed (default 0).
        scale_by_rank: apply the 1/r of the unbiased estimator (default False, see above).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-6,
        zo_eps: float = 1e-3,
        rank: int = 2,
        step_interval: int = 50,
        weight_decay: float = 0.0,
        seed: int = 0,
        scale_by_rank: bool = False,
    ) -> None:
        defaults = _lozo_defaults(lr, zo_eps, rank, step_interval, weight_decay, scale_by_rank)
        self._init_lozo(params, defaults, seed)

    def _init_lozo(self, params: Any, defaults: dict[str, Any], seed: int) -> None:
        ZOOptimizer.__init__(self, params, defaults, seed)
        # This step's U factors (2-D weights) by global index; dropped at the end of a step.
        self._factors: dict[int, torch.Tensor] = {}
        # V of the previous period, by index, on the steps where V was just redrawn (LOZO-M projects onto it).
        self._previous_v: dict[int, torch.Tensor] = {}
        # (param, V before, period before) of the weights whose V this step redrew, to undo a failed step.
        self._redrawn: dict[int, tuple[torch.Tensor, torch.Tensor | None, int | None]] = {}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics), validating its rank and step_interval."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_positive_int("rank", group["rank"])
        check_positive_int("step_interval", group["step_interval"])

    def _prepare(self, t: int) -> None:
        self._factors.clear()
        self._previous_v.clear()
        self._redrawn.clear()
        for index, group, p in self._indexed_params():
            if p.dim() < 2:
                continue  # its z is regenerated from (seed, t, index) in each pass, like MeZO's
            m, n = as_matrix(p).shape
            period = t // group["step_interval"]
            state = self.state[p]
            if state.get("period") != period or "V" not in state:
                self._redrawn[index] = (p, state.get("V"), state.get("period"))
                if "V" in state:
                    self._previous_v[index] = state["V"]
                seed_v = derive_seed(self.seed, STREAM_PERIOD, period, index)
                state["V"] = self._noise.randn((n, group["rank"]), p, seed_v)
                state["period"] = period
            self._factors[index] = self._noise.randn((m, group["rank"]), p, self._z_seed(t, index))

    def _rollback(self, t: int) -> None:
        # A failed step leaves the state as before it, so a retry of step t redraws V (and LOZO-M projects).
        for p, old_v, old_period in self._redrawn.values():
            state = self.state[p]
            if old_v is None:
                state.pop("V", None)
                state.pop("period", None)
            else:
                state["V"], state["period"] = old_v, old_period

    def _perturb(self, t: int, alpha: float) -> None:
        vectors = []
        for index, _, p in self._indexed_params():
            if p.dim() < 2:
                vectors.append(GaussianAdd(p, self._z_seed(t, index), alpha))
            else:
                apply_low_rank_perturbation_(as_matrix(p), self._factors[index], self.state[p]["V"], alpha)
        self._noise.add_gaussian_(vectors)

    @staticmethod
    def _rank_scale(group: dict[str, Any]) -> float:
        return 1.0 / group["rank"] if group["scale_by_rank"] else 1.0

    def _restore_and_update(self, t: int, c: float) -> None:
        vectors = []
        for index, group, p in self._indexed_params():
            lr = group["lr"]
            shrink, along = restore_and_update_coefficients(
                group["zo_eps"], lr, group["weight_decay"], decays=p.dim() >= 2
            )
            if p.dim() < 2:
                vectors.append(GaussianAdd(p, self._z_seed(t, index), along - lr * c))
            else:
                alpha = along - lr * c * self._rank_scale(group)
                apply_low_rank_perturbation_(
                    as_matrix(p), self._factors[index], self.state[p]["V"], alpha, beta=shrink
                )
        self._noise.add_gaussian_(vectors)

    def _finish(self, t: int) -> None:
        self._factors.clear()
        self._previous_v.clear()
        self._redrawn.clear()


class LOZOM(LOZO):
    """LOZO-M: LOZO with momentum kept in the low-rank space, projected when V is redrawn.

    State per weight W (m × n): M (m × r), the momentum of the U factor; per 1-D parameter b: a full-size
    momentum m_b. Step t, after c is measured as in :class:`LOZO`::

        if first step:              M = c·U                                     m_b = c·z_b
        elif t % ν == 0 (V redrawn): M = β·M V_oldᵀ V_new / n + (1 − β)·c·U     m_b = β m_b + (1 − β) c z_b
        else:                        M = β·M + (1 − β)·c·U                      m_b = β m_b + (1 − β) c z_b
        W ← (1 − ηλ)(W + ε U Vᵀ) − η·s·M Vᵀ          # one addmm_: ((1 − ηλ)ε U − η s M) Vᵀ
        b ← b + ε z_b − η·m_b

    n is W's input dimension (V_newᵀ V_new ≈ n·I). No bias correction. s = 1/r if ``scale_by_rank`` else 1.

    Args:
        params, lr, zo_eps, rank, step_interval, weight_decay, seed, scale_by_rank: as :class:`LOZO`
            (defaults 1e-6, 1e-3, 2, 50, 0.0, 0, False).
        beta: momentum β in [0, 1) (default 0.9, the authors' script).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-6,
        zo_eps: float = 1e-3,
        rank: int = 2,
        step_interval: int = 50,
        beta: float = 0.9,
        weight_decay: float = 0.0,
        seed: int = 0,
        scale_by_rank: bool = False,
    ) -> None:
        _check_beta(beta)
        defaults = _lozo_defaults(lr, zo_eps, rank, step_interval, weight_decay, scale_by_rank)
        defaults["beta"] = beta
        self._init_lozo(params, defaults, seed)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics), validating its beta."""
        super().add_param_group(param_group)
        _check_beta(self.param_groups[-1]["beta"])

    def _restore_and_update(self, t: int, c: float) -> None:
        for index, group, p in self._indexed_params():
            lr, beta = group["lr"], group["beta"]
            shrink, along = restore_and_update_coefficients(
                group["zo_eps"], lr, group["weight_decay"], decays=p.dim() >= 2
            )
            state = self.state[p]
            previous = state.get("momentum")
            if p.dim() < 2:
                # 1-D parameters are small: materialise z once here to fold it into the momentum.
                z = self._noise.gaussian_like(p, self._z_seed(t, index))
                momentum = z * c if previous is None else previous * beta + z * ((1.0 - beta) * c)
                p.add_(z, alpha=along).add_(momentum, alpha=-lr)
            else:
                factor = self._factors[index]
                v_old = self._previous_v.get(index)
                v_new = state["V"] if v_old is not None else None
                momentum = lozo_m_momentum(previous, factor, c, beta, v_old, v_new)
                direction = factor * along - momentum * (lr * self._rank_scale(group))
                apply_low_rank_perturbation_(as_matrix(p), direction, state["V"], 1.0, beta=shrink)
            state["momentum"] = momentum


def _lozo_defaults(
    lr: float, zo_eps: float, rank: int, step_interval: int, weight_decay: float, scale_by_rank: bool
) -> dict[str, Any]:
    """Validate LOZO's hyperparameters and return them as param-group defaults."""
    check_non_negative("lr", lr)
    check_positive("zo_eps", zo_eps)
    check_positive_int("rank", rank)
    check_positive_int("step_interval", step_interval)
    check_non_negative("weight_decay", weight_decay)
    if not isinstance(scale_by_rank, bool):
        raise ValueError(f"Invalid scale_by_rank: {scale_by_rank!r} (must be True or False)")
    return dict(
        lr=lr,
        zo_eps=zo_eps,
        rank=rank,
        step_interval=step_interval,
        weight_decay=weight_decay,
        scale_by_rank=scale_by_rank,
    )


def _check_beta(beta: float) -> None:
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not 0.0 <= beta < 1.0:
        raise ValueError(f"Invalid beta: {beta} (must be in [0, 1))")
