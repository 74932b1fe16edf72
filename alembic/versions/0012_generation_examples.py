"""runs.examples: a generation run's example answers at its first and last evaluation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

``{"start": {"step": 0, "examples": [...]}, "end": {...}}``, each example the prompt, the reference, the
model's greedy answer, and its exact match and F1. NULL for classification runs and for runs made before.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("examples", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("examples")
