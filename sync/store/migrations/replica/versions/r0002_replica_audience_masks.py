"""replica rows carry the audiences they arrived through; one cursor per audience

Every replica row gains `mask` (one bit per audience, see replica_audiences), the single
cursor in replica_meta gives way to a cursor per audience, and replica_meta "scope" will
hold the signed-in person's audiences. Rows stored before this revision carry no audience,
so they cannot be shown to anyone safely: they are wiped with the old cursor and the
replica is pulled again from the server, which is what it is for (ARCHITECTURE.md §3).

Revision ID: r0002
Revises: r0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "r0002"
down_revision: Union[str, Sequence[str], None] = "r0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The replica tables as of r0001, spelled out: a migration must not change when the models do.
TABLES = ("r_asset", "r_box_type", "r_location", "r_order", "r_order_line", "r_other", "r_parcel",
          "r_pick_batch", "r_pick_task", "r_product", "r_sample", "r_shot", "r_stock", "r_stock_check")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {table}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("mask", sa.BigInteger(), server_default="0", nullable=False))
    op.execute("DELETE FROM replica_meta WHERE key = 'cursor'")
    op.create_table(
        "replica_audiences",
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("bit", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("bit BETWEEN 0 AND 61", name="ck_replica_audiences_bit"),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("bit"),
    )


def downgrade() -> None:
    # Back to one cursor for everything: nothing stored says which rows that cursor covers.
    op.drop_table("replica_audiences")
    op.execute("DELETE FROM replica_meta WHERE key = 'scope'")
    for table in TABLES:
        op.execute(f"DELETE FROM {table}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mask")
