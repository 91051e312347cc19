"""user_status: when an admin deactivated a user (no row: active)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import lifecycle.accounts  # noqa: F401  (registers the table on SQLModel.metadata)

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A test schema reset that ran before this module had registered its table can leave an
    # old copy behind; on a real database this migration is the first to create it.
    if sa.inspect(op.get_bind()).has_table('user_status'):
        op.drop_table('user_status')
    op.create_table('user_status',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('deactivated_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('deactivated_by', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )


def downgrade() -> None:
    op.drop_table('user_status')
