"""reply templates (惯用语): the words staff use again and again for a step, per category

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 21:10:00

- reply_templates: step, category (NULL: every category), title, text with
  placeholders filled from the case (civic/cases/replies.py). `flask catalogue`
  adds the standard ones.
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reply_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reply_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_templates_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_reply_templates_category_id'), ['category_id'], unique=False)


def downgrade():
    op.drop_table('reply_templates')
