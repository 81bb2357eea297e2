"""evaluation: the cases a supervisor left out of the scores (考核), with the reason

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 21:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('excluded_by', sa.Integer(), nullable=True),
    sa.Column('excluded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['excluded_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )


def downgrade():
    op.drop_table('evaluation_exclusions')
