"""invites: revoked_at, so an owner or an administrator can cancel a pending invitation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

A cancelled invitation keeps its row (who was invited, by whom, when) and its link is refused from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # The links of cancelled invitations would work again after a downgrade: make them unusable first.
    op.execute(sa.text("DELETE FROM invites WHERE revoked_at IS NOT NULL"))
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
