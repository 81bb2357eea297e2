"""parking (挂账): requests to park a case until a review date, and the parked cases' review dates

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 20:40:00

- park_requests: the department's request (reason, what it needs, review date),
  the supervisor's decision, and when the case came back.
- cases.parked_until: the review date of a parked case (status "parked"), which
  the periodic job reads to bring it back.
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('park_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('review_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('resumed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('park_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_park_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_park_requests_one_pending', ['case_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))
    op.add_column('cases', sa.Column('parked_until', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_cases_parked_until'), 'cases', ['parked_until'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_cases_parked_until'), table_name='cases')
    # In place: copying cases (others refer to it) fails on SpatiaLite's RenameTable (0017).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE cases DROP COLUMN parked_until')
    else:
        op.drop_column('cases', 'parked_until')
    op.drop_table('park_requests')
