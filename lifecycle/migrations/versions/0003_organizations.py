"""organizations: the organizations projection; users tied to an organization and a person;
works' stage entry time (overdue is measured from it)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tax_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_tax_id'), ['tax_id'], unique=True)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_users_organization_id'), ['organization_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_users_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_entered_at', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.drop_column('stage_entered_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_person_id'))
        batch_op.drop_index(batch_op.f('ix_users_organization_id'))
        batch_op.drop_column('person_id')
        batch_op.drop_column('organization_id')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_tax_id'))
        batch_op.drop_index(batch_op.f('ix_organizations_name_key'))
    op.drop_table('organizations')
