"""the studio's captures moved into the session folder

Revision ID: j0005
Revises: j0004

A new table only: each capture taken from the capture folder, and the move under way
(sync/studio/captures.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "j0005"
down_revision: Union[str, Sequence[str], None] = "j0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "studio_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("sku", sa.String(length=32), nullable=True),
        sa.Column("angle", sa.String(length=32), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("upload_file_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        # An undone capture's row is deleted; its id never names another capture.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("studio_captures") as batch:
        batch.create_index("ix_studio_captures_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("studio_captures") as batch:
        batch.drop_index("ix_studio_captures_state")
    op.drop_table("studio_captures")
