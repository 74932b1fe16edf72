"""pocs: state, stored whenever a run of the PoC changes (was derived from the runs on every read)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Existing PoCs get their state computed from their runs' newest attempts, by the rule of backend.states.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _derived_state(states: set[str]) -> str:
    # The same rule as backend.states.poc_state, written out: a migration must not change with the app.
    if not states:
        return "queued"
    if len(states) == 1:
        return next(iter(states))
    if states & {"running", "queued"}:
        return "running"
    return "mixed"


def upgrade() -> None:
    with op.batch_alter_table("pocs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="queued"))
        batch_op.create_index(batch_op.f("ix_pocs_state"), ["state"], unique=False)
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT poc_id, method, state, attempt, created_at FROM runs ORDER BY poc_id, created_at, attempt"
        )
    )
    newest: dict[str, dict[str, str]] = {}
    for poc_id, method, state, _attempt, _created in rows:
        newest.setdefault(poc_id, {})[method] = state
    for poc_id, by_method in newest.items():
        connection.execute(
            sa.text("UPDATE pocs SET state = :state WHERE id = :id"),
            {"state": _derived_state(set(by_method.values())), "id": poc_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("pocs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pocs_state"))
        batch_op.drop_column("state")
