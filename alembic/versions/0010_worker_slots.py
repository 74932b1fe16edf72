"""workers.slots: how many runs each worker trains at once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A worker runs one pool process per slot (``ZOPOC_WORKER_SLOTS``: one per CUDA device on a GPU worker, one per
``ZOPOC_THREADS_PER_RUN`` cores on a CPU worker), so several runs may be ``running`` on one worker name.
Workers online before this migration trained one run at a time: the column defaults to 1.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slots", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("slots")
