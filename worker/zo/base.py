"""The step skeleton shared by the zeroth-order optimizers (two forward passes, no gradients)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from worker.zo.noise import STREAM_STEP, NoiseSource, derive_seed

Closure = Callable[[], "torch.Tensor | float"]

HALF_DTYPES = (torch.bfloat16, torch.float16)
# Steps whose estimates set the clipping bound before any estimate is clipped (``zo_clip``).
CLIP_WARMUP_STEPS = 10
# Optimizer state that stays float32 whatever the parameter's dtype (exact and master modes); torch's
# load_state_dict would otherwise cast it to the parameter's dtype and round it.
FLOAT32_STATE = ("V", "pending", "master", "momentum")


def wide_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype exact modes keep state and draw noise in: float32 for bf16/fp16, else the dtype itself."""
    return torch.float32 if dtype in HALF_DTYPES else dtype


def resolve_precision(requested: str, choices: tuple[str, ...], params: list[torch.Tensor]) -> str:
    """``requested`` if explicit; "auto" → ``choices[1]`` (the exact mode) when a parameter is bf16/fp16,
    else ``choices[0]`` ("in_place", today's path: float32 trajectories stay bit-identical)."""
    if requested == "auto":
        return choices[1] if any(p.dtype in HALF_DTYPES for p in params) else choices[0]
    if requested not in choices:
        raise ValueError(f"Invalid precision: {requested!r} (choose auto, {', '.join(choices)})")
    return requested


def _is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_positive(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0."""
    if not _is_finite_number(value) or value <= 0:
        raise ValueError(f"Invalid {name}: {value} (must be > 0)")


def check_non_negative(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0."""
    if not _is_finite_number(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")


def check_positive_int(name: str, value: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Invalid {name}: {value} (must be an integer >= 1)")


def check_seed(seed: int) -> None:
    """Raise ``ValueError`` unless ``seed`` is an integer >= 0."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"Invalid seed: {seed} (must be an integer >= 0)")


class ZOOptimizer(torch.optim.Optimizer):
    """Base class of the two-point zeroth-order optimizers (SPSA / MeZO family).

    One ``step(closure)``::

        t  = number of steps taken so far
        draw this step's direction Z (subclass: full Gaussian z, or U Vᵀ for LOZO)
        θ ← θ + εZ;   ℓ₊ = closure()
        θ ← θ − 2εZ;  ℓ₋ = closure()
        c = (ℓ₊ − ℓ₋) / (2ε)                      # the projected gradient
        c ← clip(c)                               # only with zo_clip, see below
        θ ← θ + εZ − η(ĝ + λθ)                   # restore and update, fused into one pass per tensor
        return ℓ₊

    The closure is called exactly twice, under ``torch.no_grad()``, and must return the loss of the
    CURRENT batch (a 0-dim tensor or a float); it must not change the batch between the two calls. The
    returned loss is the one at θ + εZ (the first call), as a python float: it is the loss the step
    measured, not the loss at θ, which would cost a third forward pass.

    If c is not finite (the loss became nan/inf) the parameters are restored and no update is made, so the
    weights stay usable; the caller sees the non-finite loss and stops. If the closure raises, the
    perturbation in force is undone before the exception propagates.

    ``zo_clip`` (None: off) bounds |c| by ``zo_clip`` × the root mean square of the estimates applied so far,
    once ``CLIP_WARMUP_STEPS`` have set it. A two-point estimate is heavy-tailed: on a prompt-based 135M
    decoder a handful of steps in a hundred measured |c| five to seven times the usual, and at a learning
    rate that suits the other steps a few of them threw the model to predicting one class.
    The bound is the zeroth-order counterpart of the gradient-norm clipping first-order fine-tuning runs
    with (the norm of the update is |c| times that of Z); the root mean square is of the clipped values, so an
    outlier does not raise the bound for the next one. It is a function of the recorded losses alone, so
    replaying a step log reproduces it.

    ``zo_eps`` must be the same in every param group (c is one number for the whole perturbation); lr and
    weight_decay may differ per group. Weight decay λ applies only to tensors with ``dim() >= 2``.

    Attributes:
        num_steps: steps taken (the t of the next step).
        forward_passes: cumulative closure calls.
        last_projected_grad: c of the last step as measured (nan before the first).
        last_applied_grad: the c the last update used (``last_projected_grad`` unless it was clipped).
        last_losses: (ℓ₊, ℓ₋) of the last step as the floats c was computed from (nan before the first):
            with the seed and the step they determine the step (common/steplog.py, worker/train/replay.py).
        seed: the run seed every random draw is derived from.
    """

    def __init__(
        self, params: Any, defaults: dict[str, Any], seed: int, zo_clip: float | None = None
    ) -> None:
        check_seed(seed)
        if zo_clip is not None:
            check_positive("zo_clip", zo_clip)
        super().__init__(params, defaults)
        self.seed = seed
        self.zo_clip = zo_clip
        self.num_steps = 0
        self.forward_passes = 0
        self.last_projected_grad = math.nan
        self.last_applied_grad = math.nan
        # sum of squares and count of the applied estimates (the clipping bound's root mean square)
        self._applied_sq = 0.0
        self._applied_count = 0
        self.last_losses = (math.nan, math.nan)
        self._noise = NoiseSource()
        # exact/master modes: the perturbation in force, as a multiple of Z (ε, −ε or 0); the in-place
        # path's _perturb takes relative steps, the others set this absolute offset
        self._offset = 0.0

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics); its ``zo_eps`` must equal the other groups'."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_positive("zo_eps", group["zo_eps"])
        check_non_negative("lr", group["lr"])
        check_non_negative("weight_decay", group["weight_decay"])
        first_eps = self.param_groups[0]["zo_eps"]
        if group["zo_eps"] != first_eps:
            raise ValueError(
                f"Invalid zo_eps: {group['zo_eps']} (every param group must share one zo_eps, "
                f"the first has {first_eps})"
            )

    # -- iteration -----------------------------------------------------------------------------------------

    def _indexed_params(self) -> Iterator[tuple[int, dict[str, Any], torch.Tensor]]:
        """(global index, group, param) over all groups in order, skipping frozen params.

        The index counts every param of every group, so it does not depend on how params are grouped.
        """
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad:
                    yield index, group, p
                index += 1

    def _z_seed(self, t: int, index: int) -> int:
        """Seed of parameter ``index``'s noise at step t (z, or LOZO's U): the per-step stream."""
        return derive_seed(self.seed, STREAM_STEP, t, index)

    def _trainable(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"] if p.requires_grad]

    def _master(self, p: torch.Tensor) -> torch.Tensor:
        """The float32 (``wide_dtype``) master copy of ``p``, created from p on first use; p holds its rounding."""
        state = self.state[p]
        if "master" not in state:
            state["master"] = p.detach().to(wide_dtype(p.dtype), copy=True)
        return state["master"]

    def _advance_offset(self, alpha: float) -> float:
        """Move the perturbation in force by ``alpha`` (× Z) and return it; exactly 0 once undone."""
        offset = self._offset + alpha
        self._offset = 0.0 if abs(offset) <= 1e-9 * abs(alpha) else offset
        return self._offset

    def attach(self, model: torch.nn.Module) -> None:
        """Give the optimizer the model its parameters belong to (needed by modes that hook the forward)."""

    def detach(self) -> None:
        """Fold anything kept outside the weights into them and remove hooks (before dropping the optimizer)."""

    def merge(self) -> None:
        """Fold anything kept outside the weights into them now (before reading or saving the weights)."""

    # -- hooks for subclasses ------------------------------------------------------------------------------

    def _prepare(self, t: int) -> None:
        """Draw whatever this step's direction needs before the first perturbation."""

    def _perturb(self, t: int, alpha: float) -> None:
        """θ ← θ + alpha·Z for this step's direction Z."""
        raise NotImplementedError

    def _restore_and_update(self, t: int, c: float) -> None:
        """From θ − εZ go to the updated parameters in one pass (restore and update fused)."""
        raise NotImplementedError

    def _rollback(self, t: int) -> None:
        """Undo state changes of a step whose closure raised (called after the perturbation is undone)."""

    def _finish(self, t: int) -> None:
        """Drop per-step buffers."""

    # -- the step ------------------------------------------------------------------------------------------

    def _evaluate(self, closure: Closure, t: int, undo_alpha: float) -> float:
        """Call the closure once, count it, return the loss as a float; undo the perturbation on error."""
        try:
            loss = closure()
        except BaseException:
            self._perturb(t, undo_alpha)
            self._rollback(t)
            self._finish(t)
            raise
        self.forward_passes += 1
        return float(loss)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> float:  # type: ignore[override]
        """Take one ZO step; call ``closure`` exactly twice; return the loss at θ + εZ as a float."""
        if closure is None:
            raise ValueError(
                "A zeroth-order optimizer needs a closure that returns the loss of the current batch"
            )
        t = self.num_steps
        zo_eps = self.param_groups[0]["zo_eps"]
        self._prepare(t)
        self._perturb(t, zo_eps)
        loss_plus = self._evaluate(closure, t, -zo_eps)
        self._perturb(t, -2.0 * zo_eps)
        loss_minus = self._evaluate(closure, t, zo_eps)
        c = (loss_plus - loss_minus) / (2.0 * zo_eps)
        applied = self._clipped(c)
        if math.isfinite(applied):
            self._restore_and_update(t, applied)
        else:
            self._perturb(t, zo_eps)
        self._finish(t)
        self.last_projected_grad = c
        self.last_applied_grad = applied
        self.last_losses = (loss_plus, loss_minus)
        self.num_steps = t + 1
        return loss_plus

    def _clipped(self, c: float) -> float:
        """c bounded by ``zo_clip`` × the RMS of the estimates applied so far; counts the applied one."""
        if self.zo_clip is None or not math.isfinite(c):
            return c
        if self._applied_count >= CLIP_WARMUP_STEPS:
            bound = self.zo_clip * math.sqrt(self._applied_sq / self._applied_count)
            c = max(-bound, min(bound, c))
        self._applied_sq += c * c
        self._applied_count += 1
        return c

    def __getstate__(self) -> dict[str, Any]:
        # torch keeps only defaults/state/param_groups; keep the counters too (copy.deepcopy, pickle).
        state = super().__getstate__()
        state.update(
            seed=self.seed,
            num_steps=self.num_steps,
            forward_passes=self.forward_passes,
            last_projected_grad=self.last_projected_grad,
            last_applied_grad=self.last_applied_grad,
            zo_clip=self.zo_clip,
            _applied_sq=self._applied_sq,
            _applied_count=self._applied_count,
            _noise=self._noise,
            _offset=self._offset,
            precision=getattr(self, "precision", "in_place"),
        )
        return state

    # -- resume --------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus the step counter, forward-pass count, last c and the run seed."""
        sd = super().state_dict()
        sd["zo"] = {
            "num_steps": self.num_steps,
            "forward_passes": self.forward_passes,
            "last_projected_grad": self.last_projected_grad,
            "seed": self.seed,
            "zo_clip": self.zo_clip,
            "applied_sq": self._applied_sq,
            "applied_count": self._applied_count,
        }
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict``; the next step continues the saved run bit-identically."""
        state_dict = dict(state_dict)
        zo = state_dict.pop("zo", None)
        if zo is None:
            raise ValueError("Not a zeroth-order optimizer state dict: the 'zo' entry is missing")
        # torch casts every floating state tensor to its parameter's dtype on load; the float32 factors and
        # masters of the exact modes must not be rounded to bf16/fp16: set aside, put back after
        kept: dict[Any, dict[str, torch.Tensor]] = {}
        saved_state = {}
        for key, entry in state_dict.get("state", {}).items():
            kept[key] = {k: v for k, v in entry.items() if k in FLOAT32_STATE and torch.is_tensor(v)}
            saved_state[key] = {k: v for k, v in entry.items() if k not in kept[key]}
        state_dict["state"] = saved_state
        super().load_state_dict(state_dict)
        ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        params = [p for group in self.param_groups for p in group["params"]]
        by_id = dict(zip(ids, params, strict=True))
        for key, tensors in kept.items():
            p = by_id[key]
            for name, value in tensors.items():
                self.state[p][name] = value.to(device=p.device)
        self.num_steps = int(zo["num_steps"])
        self.forward_passes = int(zo["forward_passes"])
        self.last_projected_grad = float(zo["last_projected_grad"])
        self.seed = int(zo["seed"])
        # states saved before clipping existed carry none: they ran without it
        self.zo_clip = zo.get("zo_clip")
        self._applied_sq = float(zo.get("applied_sq", 0.0))
        self._applied_count = int(zo.get("applied_count", 0))
        self._offset = 0.0
        self._after_load()

    def _after_load(self) -> None:
        """Re-derive what the mode keeps outside the state (hooks' factors) from a loaded state."""
