"""Runs that outlive their worker: the ZO step log, resume counts, checkpoints, export jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

``zo_steps``: one row per zeroth-order step (common/steplog.py), keyed (run_id, step) so a batch sent
again adds nothing; the floats are double precision, which holds every float64 the engine reports (on
SQLite the model stores their IEEE bytes: ``ExactFloat``).
``runs``: ``resumes`` (how often the run went back to the queue after losing its worker or its training
process), ``steplog_header`` (the step log's header as the engine announced it), the latest periodic
checkpoint (``checkpoint_path``, ``checkpoint_bytes``), ``error_code`` / ``error_params`` (a failure
reason a dashboard translates) and the model-folder export (``export_state``, ``export_path``,
``export_bytes``, ``export_error``).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zo_steps",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("loss_plus", sa.Double(), nullable=False),
        sa.Column("loss_minus", sa.Double(), nullable=False),
        sa.Column("lr", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_zo_steps_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "step", name=op.f("pk_zo_steps")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resumes", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("steplog_header", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_path", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("error_params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("export_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("export_path", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("export_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("export_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        for column in (
            "export_error",
            "export_bytes",
            "export_path",
            "export_state",
            "error_params",
            "error_code",
            "checkpoint_bytes",
            "checkpoint_path",
            "steplog_header",
            "resumes",
        ):
            batch_op.drop_column(column)
    op.drop_table("zo_steps")
