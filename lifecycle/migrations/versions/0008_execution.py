"""execution under oversight: no new table

Valuations, milestones, amendments and recorded deadlines live in each work's projection (the
JSON state the log rebuilds), so this revision changes no schema. It keeps the revision chain
that later migrations build on.

Revision ID: 0008
Revises: 0007
"""

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
