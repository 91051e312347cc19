"""throttle: failed-login counts per account name and per client address

Revision ID: 0006
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

# The model's module registers the table on SQLModel.metadata whenever the migrations load, so
# the schema the models declare includes it even in a process that never imported the web app.
import lifecycle.throttle_store  # noqa: F401

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Counts are disposable (a lockout of minutes). A schema reset that dropped the models'
    # tables before this module had registered its own can leave an old copy behind: start
    # from an empty one rather than fail.
    if sa.inspect(op.get_bind()).has_table('login_throttle'):
        op.drop_table('login_throttle')
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
