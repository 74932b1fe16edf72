"""The module-level mathematics and the noise source, each on its own."""

from __future__ import annotations

import pytest
import torch

from worker.zo.lowrank import (
    apply_low_rank_perturbation_,
    as_matrix,
    lozo_m_momentum,
    project_momentum,
    restore_and_update_coefficients,
)
from worker.zo.noise import CHUNK_ELEMENTS, GaussianAdd, NoiseSource, derive_seed


def test_low_rank_perturbation_matches_the_dense_formula_in_place():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(7, 5, generator=g, dtype=torch.float64)
    U = torch.randn(7, 2, generator=g, dtype=torch.float64)
    V = torch.randn(5, 2, generator=g, dtype=torch.float64)
    expected = 0.9 * W + 0.3 * (U @ V.T)
    ptr = W.data_ptr()
    out = apply_low_rank_perturbation_(W, U, V, alpha=0.3, beta=0.9)
    assert out is W and W.data_ptr() == ptr
    torch.testing.assert_close(W, expected)


def test_as_matrix_views_higher_dimensional_weights_without_copying():
    conv = torch.zeros(8, 3, 3, 3)
    view = as_matrix(conv)
    assert view.shape == (8, 27) and view.data_ptr() == conv.data_ptr()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        as_matrix(torch.zeros(4))


def test_lozo_m_projection_on_a_hand_checked_case():
    M = torch.tensor([[1.0, 2.0]])  # m = 1, r = 2
    V_old = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # n = 3
    V_new = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    # V_oldᵀ V_new = [[2, 1], [1, 1]];  M (V_oldᵀ V_new) = [4, 3];  / n = [4/3, 1]
    torch.testing.assert_close(project_momentum(M, V_old, V_new), torch.tensor([[4 / 3, 1.0]]))
    U = torch.tensor([[1.0, -1.0]])
    # β = 0.5, c = 2: 0.5·[4/3, 1] + 0.5·2·[1, −1] = [5/3, −1/2]
    torch.testing.assert_close(lozo_m_momentum(M, U, 2.0, 0.5, V_old, V_new), torch.tensor([[5 / 3, -0.5]]))
    # within a period: β·M + (1 − β)·c·U = [0.5 + 1, 1 − 1]
    torch.testing.assert_close(lozo_m_momentum(M, U, 2.0, 0.5), torch.tensor([[1.5, 0.0]]))
    # first step: c·U
    torch.testing.assert_close(lozo_m_momentum(None, U, 2.0, 0.5), torch.tensor([[2.0, -2.0]]))


def test_projection_keeps_the_direction_when_v_does_not_change():
    """With V_new = V_old = V, M V_oldᵀ V_new / n ≈ M when VᵀV ≈ n·I (large n)."""
    g = torch.Generator().manual_seed(0)
    V = torch.randn(20000, 2, generator=g, dtype=torch.float64)
    M = torch.randn(3, 2, generator=g, dtype=torch.float64)
    torch.testing.assert_close(project_momentum(M, V, V), M, rtol=0.05, atol=0.05)


def test_restore_and_update_coefficients():
    assert restore_and_update_coefficients(1e-3, 0.1, 0.5, decays=True) == pytest.approx((0.95, 0.95e-3))
    assert restore_and_update_coefficients(1e-3, 0.1, 0.5, decays=False) == (1.0, 1e-3)


def test_derived_seeds_are_distinct_and_reproducible():
    seeds = {
        derive_seed(0, stream, counter, index)
        for stream in (1, 2)
        for counter in range(50)
        for index in range(50)
    }
    assert len(seeds) == 2 * 50 * 50
    assert derive_seed(3, 1, 4, 5) == derive_seed(3, 1, 4, 5) != derive_seed(4, 1, 4, 5)
    assert all(0 <= s < 2**63 for s in seeds)


def test_gaussian_fill_is_standard_normal_and_chunks_are_independent():
    z = NoiseSource(workers=1).gaussian_like(torch.zeros(8 * CHUNK_ELEMENTS + 5), seed=1)
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    chunks = z[: 8 * CHUNK_ELEMENTS].view(8, CHUNK_ELEMENTS)
    corr = torch.corrcoef(chunks)
    assert (corr - torch.eye(8)).abs().max() < 0.03  # no chunk repeats another's stream
    assert not torch.equal(z, NoiseSource().gaussian_like(z, seed=2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_gaussian_add_does_not_depend_on_the_number_of_threads(dtype):
    """Chunk j is seeded by (seed, j): one thread or three give the same numbers, bit for bit."""
    torch.set_num_threads(3)
    base = torch.randn(40 * CHUNK_ELEMENTS + 77).to(dtype)
    small = torch.randn(10).to(dtype)
    results = []
    for workers in (1, 3):
        a, b = base.clone(), small.clone()
        NoiseSource(workers=workers).add_gaussian_(
            [GaussianAdd(a, 11, 0.5, shrink=0.9), GaussianAdd(b, 12, -0.25)]
        )
        results.append((a, b))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    z = NoiseSource(workers=1).gaussian_like(base, 11)
    torch.testing.assert_close(results[0][0], (0.9 * base + 0.5 * z).to(dtype), rtol=0.02, atol=0.02)


def test_gaussian_add_handles_non_contiguous_tensors():
    t = torch.zeros(6, 4).T  # not contiguous
    NoiseSource().add_gaussian_([GaussianAdd(t, 3, 1.0)])
    assert (t != 0).all()
    again = torch.zeros(6, 4).T
    NoiseSource().add_gaussian_([GaussianAdd(again, 3, 1.0)])
    assert torch.equal(t, again)
