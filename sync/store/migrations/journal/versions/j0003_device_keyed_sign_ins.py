"""keyed PIN verifiers with sealed offline tickets; audit rows indexed by time for trimming

Revision ID: j0003
Revises: j0002

Verifiers of the first release were scrypt of the PIN alone: a copied journal was enough to
try all PINs against them. They are dropped (people sign in online once more); new ones are
keyed with the device's local key from the keyring.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "j0003"
down_revision: Union[str, Sequence[str], None] = "j0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("signin_verifiers") as batch:
        batch.add_column(sa.Column("ticket", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ticket_expires", sa.String(length=40), nullable=True))
    op.execute("DELETE FROM signin_verifiers WHERE verifier NOT LIKE 'hs1$%'")
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    with op.batch_alter_table("signin_verifiers") as batch:
        batch.drop_column("ticket_expires")
        batch.drop_column("ticket")
