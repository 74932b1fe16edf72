"""runs.memory_kind: the kind (common/memory_kinds.py) a run's baseline and peak memory are recorded in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Existing runs: a CPU run's baseline and peak were both host RSS (``host_rss``). A CUDA run's peak was the
CUDA allocation peak but its baseline the host RSS; the baseline is dropped (it is of another kind and
"training adds" computed from it meant nothing) and the peak kept as ``cuda_allocated``.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("memory_kind", sa.String(length=32), nullable=True))
    op.execute(
        sa.text(
            "UPDATE runs SET memory_kind = 'host_rss' WHERE device = 'cpu' "
            "AND (peak_memory_mb IS NOT NULL OR baseline_memory_mb IS NOT NULL)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE runs SET memory_kind = 'cuda_allocated', baseline_memory_mb = NULL "
            "WHERE device LIKE 'cuda%' AND (peak_memory_mb IS NOT NULL OR baseline_memory_mb IS NOT NULL)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("memory_kind")
