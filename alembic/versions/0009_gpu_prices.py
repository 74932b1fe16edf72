"""GPU prices an administrator sets in the dashboard

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

``gpu_prices``: per catalogue GPU id, the hourly price and its currency an administrator set; it replaces
the price of ``ZOPOC_GPU_CATALOG`` (or the built-in table) wherever money is shown.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gpu_prices",
        sa.Column("gpu_id", sa.String(length=64), nullable=False),
        sa.Column("hourly_price", sa.Double(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("gpu_id", name=op.f("pk_gpu_prices")),
    )


def downgrade() -> None:
    op.drop_table("gpu_prices")
