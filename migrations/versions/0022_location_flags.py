"""place checks: what a report's place checks found (outside the county, an old photo, a photo far from the phone)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 01:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('location_flags', sa.JSON(), nullable=True))


def downgrade():
    op.execute('ALTER TABLE cases DROP COLUMN location_flags')
