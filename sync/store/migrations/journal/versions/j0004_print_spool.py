"""the print spool of the packing bench

Revision ID: j0004
Revises: j0003

A new table only: the jobs of the label printer, in packing order (sync/print_spool.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "j0004"
down_revision: Union[str, Sequence[str], None] = "j0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parcel_ref", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("parcel_no", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.String(length=40), nullable=True),
        sa.Column("problem", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("printed_at", sa.String(length=40), nullable=True),
        sa.Column("reprint_of", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=48), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        # Ids are the packing order and reprints point at them: never reuse one.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("print_jobs") as batch:
        batch.create_index("ix_print_jobs_state_id", ["state", "id"], unique=False)
        batch.create_index("ix_print_jobs_parcel_ref", ["parcel_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("print_jobs") as batch:
        batch.drop_index("ix_print_jobs_parcel_ref")
        batch.drop_index("ix_print_jobs_state_id")
    op.drop_table("print_jobs")
