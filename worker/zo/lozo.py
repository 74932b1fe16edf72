"""LOZO and LOZO-M (Chen et al., ICLR 2025): low-rank zeroth-order directions with lazy sampling of V."""

from __future__ import annotations

from typing import Any

import torch

from worker.zo import exact
from worker.zo.base import (
    ZOOptimizer,
    check_non_negative,
    check_positive,
    check_positive_int,
    resolve_precision,
    wide_dtype,
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

    Precision (``precision``):
    - "in_place": the algorithm above, W written three times a step. Exact enough in float32 (and the only
      path float32 takes under "auto": its trajectories and step cost are unchanged), but in bf16/fp16 each
      write rounds W: at lr = 0 a bf16 layer drifts ~100× further than lr 1e-6 would move it.
    - "exact" (what "auto" picks for bf16/fp16 parameters): W is not written during a period. Each weight
      keeps float32 state D (m × r, the period's updates: D ← (1 − ηλ)D − η·c·s·U), γ (the period's
      product of weight-decay shrinks) and V in float32; forward hooks (worker/zo/exact.py) make every
      module compute with γ·W + (D + αU)Vᵀ, α ∈ {+ε, −ε, 0}, the low-rank term added in float32. When V is
      redrawn, W ← round(γ·W + D Vᵀ): one rounding per period instead of three per step. 1-D parameters
      keep a float32 master: each pass writes round(master ± εz) into them and the update goes to the
      master, so at lr = 0 every parameter comes back bit for bit. U, V and z are drawn in float32 in this
      mode, so a bf16 run uses the same directions as the float32 run with the same seed. Needs the model:
      ``model=`` or :meth:`attach`; supported users of a 2-D weight: ``nn.Linear``, ``nn.Embedding``,
      transformers' ``Conv1D``. Call :meth:`merge` before reading or saving the weights mid-period and
      :meth:`detach` before dropping the optimizer while the model lives on.
      Limit, stated: a 1-D perturbation (ε·z on a LayerNorm weight near 1) is itself rounded to the
      parameter's dtype in the forward pass (bf16 spacing at 1.0 is 2⁻⁷); the master keeps the update exact.

    Args:
        params: iterable of tensors or param-group dicts (torch style).
        lr: learning rate η (default 1e-6, the paper's setting for large models).
        zo_eps: perturbation scale ε (default 1e-3); one value for all groups.
        rank: r, columns of U and V (default 2).
        step_interval: ν, steps between redraws of V (default 50).
        weight_decay: λ (default 0.0), applied to tensors with ``dim() >= 2`` only.
        seed: run seed (default 0).
        scale_by_rank: apply the 1/r of the unbiased estimator (default False, see above).
        precision: "auto" (default), "in_place" or "exact" (see above).
        model: the module the parameters belong to; the exact mode hooks its forward.
        zo_clip: bound on |c| as a multiple of the RMS of the earlier estimates (None: off; see ZOOptimizer).
    """

    PRECISIONS = ("in_place", "exact")

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
        precision: str = "auto",
        model: torch.nn.Module | None = None,
        zo_clip: float | None = None,
    ) -> None:
        defaults = _lozo_defaults(lr, zo_eps, rank, step_interval, weight_decay, scale_by_rank)
        self._init_lozo(params, defaults, seed, precision, model, zo_clip)

    def _init_lozo(
        self,
        params: Any,
        defaults: dict[str, Any],
        seed: int,
        precision: str,
        model: torch.nn.Module | None,
        zo_clip: float | None = None,
    ) -> None:
        ZOOptimizer.__init__(self, params, defaults, seed, zo_clip)
        self.precision = resolve_precision(precision, self.PRECISIONS, self._trainable())
        # exact mode: the low-rank term of each 2-D weight, by id(param), served to the forward hooks
        self._terms: dict[int, exact.LowRankTerm] = {}
        if model is not None:
            self.attach(model)
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

    # -- exact mode: hooks and terms ---------------------------------------------------------------------

    def attach(self, model: torch.nn.Module) -> None:
        """Hook ``model``'s forward for the exact mode (nothing to do in place); refuses unknown users."""
        if self.precision != "exact":
            return
        self.detach()
        for p in self._trainable():
            if p.dim() >= 2:
                state = self.state[p]
                m, n = as_matrix(p).shape
                rank = next(g["rank"] for g in self.param_groups if any(q is p for q in g["params"]))
                wide = wide_dtype(p.dtype)
                V = state.get("V", torch.zeros(n, rank, dtype=wide, device=p.device))
                pending = state.setdefault("pending", torch.zeros(m, rank, dtype=wide, device=p.device))
                term = exact.LowRankTerm(p, V, pending, float(state.get("decay", 1.0)))
                self._terms[id(p)] = term
                exact.register(term)
        unsupported = exact.attach_hooks(model, self._terms)
        if unsupported:
            self.detach()
            raise ValueError(
                "exact precision cannot serve these weights (use precision='in_place' or float32): "
                + ", ".join(unsupported)
            )

    def detach(self) -> None:
        """Fold the pending low-rank updates into the weights and remove the hooks."""
        self.merge()
        for term in self._terms.values():
            for handle in term.handles:
                handle.remove()
        self._terms.clear()

    def merge(self) -> None:
        """W ← round(γ·W + D Vᵀ) for every weight now (one extra rounding); V and the period are kept."""
        for term in self._terms.values():
            term.merge_()
            state = self.state[term.param]
            state["pending"] = term.factor
            state["decay"] = 1.0

    def _after_load(self) -> None:
        for term in self._terms.values():
            state = self.state[term.param]
            term.V = state.get("V", term.V)
            term.factor = state.setdefault("pending", torch.zeros_like(term.factor))
            term.gamma = float(state.get("decay", 1.0))

    def _term(self, p: torch.Tensor) -> exact.LowRankTerm:
        term = self._terms.get(id(p))
        if term is None or not term.handles:
            raise RuntimeError(
                "precision='exact' applies the perturbation in the model's forward pass: give the model "
                "(LOZO(..., model=model) or opt.attach(model)); no module of it uses a weight of shape "
                f"{tuple(p.shape)}"
            )
        return term

    # -- the step -----------------------------------------------------------------------------------------

    def _prepare(self, t: int) -> None:
        self._factors.clear()
        self._previous_v.clear()
        self._redrawn.clear()
        is_exact = self.precision == "exact"
        for index, group, p in self._indexed_params():
            if p.dim() < 2:
                if is_exact:
                    self._master(p)
                continue  # its z is regenerated from (seed, t, index) in each pass, like MeZO's
            m, n = as_matrix(p).shape
            period = t // group["step_interval"]
            state = self.state[p]
            # exact mode draws in float32 whatever p's dtype: the same directions as a float32 run
            like = torch.empty(0, dtype=wide_dtype(p.dtype), device=p.device) if is_exact else p
            if is_exact:
                term = self._term(p)
            if state.get("period") != period or "V" not in state:
                if is_exact and "V" in state:
                    term.merge_()  # the end of a period: one rounding of W for the whole period
                    state["pending"], state["decay"] = term.factor, 1.0
                self._redrawn[index] = (p, state.get("V"), state.get("period"))
                if "V" in state:
                    self._previous_v[index] = state["V"]
                seed_v = derive_seed(self.seed, STREAM_PERIOD, period, index)
                state["V"] = self._noise.randn((n, group["rank"]), like, seed_v)
                state["period"] = period
            if is_exact:
                state.setdefault("pending", like.new_zeros(m, group["rank"]))
                state.setdefault("decay", 1.0)
                term.V, term.factor, term.gamma = state["V"], state["pending"], float(state["decay"])
            self._factors[index] = self._noise.randn((m, group["rank"]), like, self._z_seed(t, index))

    def _perturb(self, t: int, alpha: float) -> None:
        if self.precision == "exact":
            self._set_exact_offset(t, self._advance_offset(alpha))
            return
        vectors = []
        for index, _, p in self._indexed_params():
            if p.dim() < 2:
                vectors.append(GaussianAdd(p, self._z_seed(t, index), alpha))
            else:
                apply_low_rank_perturbation_(as_matrix(p), self._factors[index], self.state[p]["V"], alpha)
        self._noise.add_gaussian_(vectors)

    def _set_exact_offset(self, t: int, offset: float) -> None:
        """Put θ + offset·Z in force: hooks see γW + (D + offset·U)Vᵀ, 1-D params round(master + offset·z)."""
        vectors = []
        for index, _, p in self._indexed_params():
            state = self.state[p]
            if p.dim() < 2:
                if offset == 0.0:
                    p.copy_(state["master"])
                else:
                    vectors.append(GaussianAdd(state["master"], self._z_seed(t, index), offset, out=p))
            else:
                term = self._terms[id(p)]
                pending = state["pending"]
                term.factor = (
                    pending if offset == 0.0 else torch.add(pending, self._factors[index], alpha=offset)
                )
        self._noise.add_gaussian_(vectors)

    def _exact_update(self, group: dict[str, Any], p: torch.Tensor, direction: torch.Tensor) -> None:
        """Exact mode, 2-D weight: D ← (1 − ηλ)D − η·s·direction, γ ← (1 − ηλ)γ (direction: c·U or M)."""
        state = self.state[p]
        shrink = 1.0 - group["lr"] * group["weight_decay"]
        pending = state["pending"]
        if shrink != 1.0:
            pending.mul_(shrink)
        pending.add_(direction, alpha=-group["lr"] * self._rank_scale(group))
        state["decay"] = float(state["decay"]) * shrink
        term = self._terms[id(p)]
        term.factor, term.gamma = pending, float(state["decay"])

    @staticmethod
    def _rank_scale(group: dict[str, Any]) -> float:
        return 1.0 / group["rank"] if group["scale_by_rank"] else 1.0

    def _restore_and_update(self, t: int, c: float) -> None:
        if self.precision == "exact":
            self._offset = 0.0
            vectors = []
            for index, group, p in self._indexed_params():
                if p.dim() < 2:  # no weight decay on 1-D parameters
                    vectors.append(
                        GaussianAdd(self.state[p]["master"], self._z_seed(t, index), -group["lr"] * c)
                    )
                else:
                    self._exact_update(group, p, self._factors[index] * c)
            self._noise.add_gaussian_(vectors)
            self._copy_masters()
            return
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

    def _copy_masters(self) -> None:
        for _, _, p in self._indexed_params():
            if p.dim() < 2:
                p.copy_(self.state[p]["master"])

    def _rollback(self, t: int) -> None:
        # A failed step leaves the state as before it, so a retry of step t redraws V (and LOZO-M projects).
        # In the exact mode a merge done at the start of the failed step stays: it is what the retry does.
        for p, old_v, old_period in self._redrawn.values():
            state = self.state[p]
            if old_v is None:
                state.pop("V", None)
                state.pop("period", None)
            else:
                state["V"], state["period"] = old_v, old_period
            term = self._terms.get(id(p))
            if term is not None and old_v is not None:
                term.V = old_v

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        # hooks belong to one model: a copy starts without them (attach it to its model)
        state.update(_factors={}, _previous_v={}, _redrawn={}, _terms={})
        return state

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
        params, lr, zo_eps, rank, step_interval, weight_decay, seed, scale_by_rank, zo_clip: as :class:`LOZO`
            (defaults 1e-6, 1e-3, 2, 50, 0.0, 0, False).
        beta: momentum β in [0, 1) (default 0.9, the authors' script).
        precision, model: as :class:`LOZO`; in the exact mode M (m × r) and the 1-D momenta are float32 and
            the update M Vᵀ goes into the period's factor D like LOZO's c·U.
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
        precision: str = "auto",
        model: torch.nn.Module | None = None,
        zo_clip: float | None = None,
    ) -> None:
        _check_beta(beta)
        defaults = _lozo_defaults(lr, zo_eps, rank, step_interval, weight_decay, scale_by_rank)
        defaults["beta"] = beta
        self._init_lozo(params, defaults, seed, precision, model, zo_clip)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics), validating its beta."""
        super().add_param_group(param_group)
        _check_beta(self.param_groups[-1]["beta"])

    def _restore_and_update(self, t: int, c: float) -> None:
        if self.precision == "exact":
            self._offset = 0.0
        for index, group, p in self._indexed_params():
            lr, beta = group["lr"], group["beta"]
            shrink, along = restore_and_update_coefficients(
                group["zo_eps"], lr, group["weight_decay"], decays=p.dim() >= 2
            )
            state = self.state[p]
            previous = state.get("momentum")
            if p.dim() < 2:
                # 1-D parameters are small: materialise z once here to fold it into the momentum.
                target = state["master"] if self.precision == "exact" else p
                z = self._noise.gaussian_like(target, self._z_seed(t, index))
                momentum = z * c if previous is None else previous * beta + z * ((1.0 - beta) * c)
                if self.precision == "exact":
                    target.add_(momentum, alpha=-lr)
                    p.copy_(target)
                else:
                    p.add_(z, alpha=along).add_(momentum, alpha=-lr)
            else:
                factor = self._factors[index]
                v_old = self._previous_v.get(index)
                v_new = state["V"] if v_old is not None else None
                momentum = lozo_m_momentum(previous, factor, c, beta, v_old, v_new)
                if self.precision == "exact":
                    state["momentum"] = momentum
                    self._exact_update(group, p, momentum)
                    continue
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
