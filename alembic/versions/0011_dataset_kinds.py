"""datasets.kind and datasets.layout: generation datasets (prompt -> completion pairs) beside labelled ones

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Every existing dataset is a labelled text classification set: ``kind`` is filled with ``classification``
by its server default and ``layout`` (a generation file's layout) stays NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="classification", nullable=False)
        )
        batch_op.add_column(sa.Column("layout", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("layout")
        batch_op.drop_column("kind")
