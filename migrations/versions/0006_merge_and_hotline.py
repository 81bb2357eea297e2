"""merge ("me too") and hotline intake

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:00:00

- cases.merged_into_id (FK cases, indexed): a duplicate merged into the case that
  goes on; the duplicate itself is rejected
- cases.caller_phone: the hotline (12345) caller's number, shown masked
- case_followers: people who follow a case they did not report (the reporters of
  the duplicates merged into it), so they see its progress and are told of it

As in 0002, `cases` is a SpatiaLite table others refer to: on SQLite its new columns
are added in place (the foreign key inline), never by a batch copy.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    if _sqlite():
        op.execute('ALTER TABLE cases ADD COLUMN merged_into_id INTEGER '
                   'CONSTRAINT fk_cases_merged_into_id_cases REFERENCES cases (id)')
        op.execute('ALTER TABLE cases ADD COLUMN caller_phone VARCHAR(20)')
    else:
        op.add_column('cases', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.add_column('cases', sa.Column('caller_phone', sa.String(length=20), nullable=True))
        op.create_foreign_key(op.f('fk_cases_merged_into_id_cases'), 'cases', 'cases', ['merged_into_id'], ['id'])
    op.create_index(op.f('ix_cases_merged_into_id'), 'cases', ['merged_into_id'], unique=False)

    op.create_table('case_followers',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('via_case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_followers_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_followers_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['via_case_id'], ['cases.id'], name=op.f('fk_case_followers_via_case_id_cases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('case_id', 'user_id', name=op.f('pk_case_followers'))
    )
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_followers_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_followers_user_id'))
    op.drop_table('case_followers')
    op.drop_index(op.f('ix_cases_merged_into_id'), table_name='cases')
    if _sqlite():
        op.execute('ALTER TABLE cases DROP COLUMN caller_phone')
        op.execute('ALTER TABLE cases DROP COLUMN merged_into_id')
    else:
        op.drop_constraint(op.f('fk_cases_merged_into_id_cases'), 'cases', type_='foreignkey')
        op.drop_column('cases', 'caller_phone')
        op.drop_column('cases', 'merged_into_id')
