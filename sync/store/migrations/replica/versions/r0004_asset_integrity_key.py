"""images are found by what the server's scrub found: the Exceptions screen lists the corrupt ones

Filled from the rows' JSON ("unchecked" where a server sent none), so nothing is pulled again.

Revision ID: r0004
Revises: r0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "r0004"
down_revision: Union[str, Sequence[str], None] = "r0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("r_asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("integrity", sa.String(), nullable=True))
        batch_op.create_index(batch_op.f("ix_r_asset_integrity"), ["integrity"], unique=False)
    op.execute("UPDATE r_asset SET integrity = coalesce(json_extract(data, '$.integrity'), 'unchecked')")


def downgrade() -> None:
    with op.batch_alter_table("r_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_r_asset_integrity"))
        batch_op.drop_column("integrity")
