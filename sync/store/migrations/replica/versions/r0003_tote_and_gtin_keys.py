"""orders are found by tote and order lines by GTIN: the packing bench opens an order by either scan

Both columns are filled from the rows' JSON, so nothing is pulled again.

Revision ID: r0003
Revises: r0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "r0003"
down_revision: Union[str, Sequence[str], None] = "r0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (("r_order", "tote"), ("r_order_line", "gtin"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
        op.execute(f"UPDATE {table} SET {column} = json_extract(data, '$.{column}')")


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
            batch_op.drop_column(column)
