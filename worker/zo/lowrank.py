"""The mathematics of LOZO / LOZO-M as small functions, each testable on its own.

A 2-D view ``W`` of a weight has shape (m, n): (out, in) for ``nn.Linear``, (vocab, d) for embeddings;
tensors with more than two dimensions are viewed as (shape[0], -1). The perturbation direction of a
weight is Z = U Vᵀ with U (m × r) and V (n × r). Nothing here builds an m × n temporary: every change of
W goes through ``addmm_``, which writes U Vᵀ into W in place.
"""

from __future__ import annotations

import torch


def as_matrix(p: torch.Tensor) -> torch.Tensor:
    """A 2-D view (shape[0], -1) of a parameter with ``dim() >= 2`` sharing its storage."""
    if p.dim() < 2:
        raise ValueError(f"as_matrix needs a tensor with at least 2 dimensions, got shape {tuple(p.shape)}")
    return p.view(p.shape[0], -1)


def apply_low_rank_perturbation_(
    W: torch.Tensor, U: torch.Tensor, V: torch.Tensor, alpha: float, beta: float = 1.0
) -> torch.Tensor:
    """In place: W ← beta·W + alpha·U Vᵀ, without materialising U Vᵀ; returns W.

    ``W`` is (m, n), ``U`` (m, r), ``V`` (n, r). ``beta`` folds a weight-decay shrink into the same pass.
    """
    return W.addmm_(U, V.T, beta=beta, alpha=alpha)


def project_momentum(M: torch.Tensor, V_old: torch.Tensor, V_new: torch.Tensor) -> torch.Tensor:
    """LOZO-M's change of subspace: M V_oldᵀ V_new / n, with n = V's row count (W's input dimension).

    Expressed in the new basis V_new, since V_newᵀ V_new ≈ n·I for Gaussian V. Computed as
    M (V_oldᵀ V_new) / n so only an r × r matrix is formed.
    """
    n = V_new.shape[0]
    return (M @ (V_old.T @ V_new)) / n


def lozo_m_momentum(
    M: torch.Tensor | None,
    U: torch.Tensor,
    c: float,
    beta: float,
    V_old: torch.Tensor | None = None,
    V_new: torch.Tensor | None = None,
) -> torch.Tensor:
    """LOZO-M's momentum update of one weight's U factor; returns the new M (m × r).

    - first step (``M is None``): M = c·U
    - V redrawn this step (``V_old`` and ``V_new`` given): M = β·M V_oldᵀ V_new / n + (1 − β)·c·U
    - otherwise: M = β·M + (1 − β)·c·U
    """
    if M is None:
        return U * c
    if V_old is not None and V_new is not None:
        M = project_momentum(M, V_old, V_new)
    return M * beta + U * ((1.0 - beta) * c)


def restore_and_update_coefficients(
    zo_eps: float, lr: float, weight_decay: float, decays: bool
) -> tuple[float, float]:
    """Coefficients (shrink, along) that take θ − εZ to the updated θ' in one pass over the weights.

    The update is θ' = θ − η(g + λθ) with θ = (θ − εZ) + εZ, so
    θ' = (1 − ηλ)(θ − εZ) + (1 − ηλ)·ε·Z − η·g. When the update direction g is a multiple of Z
    (g = c·s·Z) this is ``shrink``·(θ − εZ) + (``along`` − η·c·s)·Z with shrink = 1 − ηλ, along = shrink·ε;
    the caller subtracts its own η·g term. λ applies only where ``decays`` (weights with ``dim() >= 2``).
    """
    shrink = 1.0 - lr * weight_decay if decays else 1.0
    return shrink, shrink * zo_eps
