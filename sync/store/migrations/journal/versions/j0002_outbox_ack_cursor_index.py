"""index the outbox by ack_cursor for the local view

Revision ID: j0002
Revises: j0001
"""
from typing import Sequence, Union

from alembic import op

revision: str = "j0002"
down_revision: Union[str, Sequence[str], None] = "j0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_outbox_ack_cursor", "outbox", ["ack_cursor"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_ack_cursor", table_name="outbox")
