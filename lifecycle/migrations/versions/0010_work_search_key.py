"""works.search_key: folded text for accent-insensitive search (lifecycle/search.py)

Revision ID: 0010
Revises: 0009
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), server_default='',
                                      nullable=False))
    # Existing works get their key from the state the projection already holds.
    from lifecycle.model import Work
    from lifecycle.search import search_key

    conn = op.get_bind()
    works = sa.table('works', sa.column('id', sa.Integer), sa.column('state', sa.Text),
                     sa.column('search_key', sa.Text))
    for work_id, state in conn.execute(sa.select(works.c.id, works.c.state)).all():
        key = search_key(Work.from_dict(json.loads(state)))
        conn.execute(works.update().where(works.c.id == work_id).values(search_key=key))


def downgrade() -> None:
    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.drop_column('search_key')
