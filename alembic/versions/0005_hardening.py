"""runs.launched_by, users.must_change_password, reports keep only a hash of their share token

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- runs.launched_by: the user who launched the attempt (the per-user run cap counts by it); existing runs
  get the user whose e-mail created their PoC.
- users.must_change_password: set for passwords someone else chose or saw.
- reports.token -> token_hash (SHA-256) + token_prefix: a database dump no longer holds working share
  links. The reports of PoCs deleted before this revision are revoked (deleting a PoC now ends its links).
"""

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("launched_by", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_launched_by"), ["launched_by"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_runs_launched_by_users"), "users", ["launched_by"], ["id"], ondelete="SET NULL"
        )
    op.execute(
        sa.text(
            "UPDATE runs SET launched_by = (SELECT users.id FROM users JOIN pocs "
            "ON users.email = pocs.created_by WHERE pocs.id = runs.poc_id)"
        )
    )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_prefix", sa.String(length=16), nullable=True))
    connection = op.get_bind()
    for report_id, token in connection.execute(sa.text("SELECT id, token FROM reports")).all():
        connection.execute(
            sa.text("UPDATE reports SET token_hash = :hash, token_prefix = :prefix WHERE id = :id"),
            {"hash": hashlib.sha256(token.encode()).hexdigest(), "prefix": token[:8], "id": report_id},
        )
    now = dt.datetime.now(dt.UTC)
    connection.execute(
        sa.text(
            "UPDATE reports SET revoked_at = :now WHERE revoked_at IS NULL AND poc_id IN "
            "(SELECT id FROM pocs WHERE deleted_at IS NOT NULL)"
        ),
        {"now": now},
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("token_prefix", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_constraint("uq_reports_token", type_="unique")
        batch_op.drop_column("token")
        batch_op.create_unique_constraint(batch_op.f("uq_reports_token_hash"), ["token_hash"])


def downgrade() -> None:
    # The tokens themselves are gone: after a downgrade every report is revoked, under a random token.
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    for (report_id,) in connection.execute(sa.text("SELECT id FROM reports")).all():
        connection.execute(
            sa.text(
                "UPDATE reports SET token = :token, revoked_at = COALESCE(revoked_at, :now) WHERE id = :id"
            ),
            {"token": secrets.token_urlsafe(32), "now": now, "id": report_id},
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("token", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_reports_token_hash", type_="unique")
        batch_op.drop_column("token_hash")
        batch_op.drop_column("token_prefix")
        batch_op.create_unique_constraint("uq_reports_token", ["token"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_runs_launched_by_users", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_runs_launched_by"))
        batch_op.drop_column("launched_by")
