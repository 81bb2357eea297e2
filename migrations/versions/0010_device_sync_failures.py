"""device sync failures: what a phone's last heartbeat said about failed syncs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:10:00

- devices.sync_failures: failed sync attempts in the phone's last 24 hours (a
  server error, or no answer while the phone believed it was online)
- devices.last_failure_at, devices.last_failure: when the last one was, and its
  error code (HTTP status or "network")
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN on both databases (no batch copy of the table).
    op.add_column('devices', sa.Column('sync_failures', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('devices', sa.Column('last_failure_at', sa.DateTime(), nullable=True))
    op.add_column('devices', sa.Column('last_failure', sa.String(length=64), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for column in ('last_failure', 'last_failure_at', 'sync_failures'):
            op.execute(f'ALTER TABLE devices DROP COLUMN {column}')
    else:
        op.drop_column('devices', 'last_failure')
        op.drop_column('devices', 'last_failure_at')
        op.drop_column('devices', 'sync_failures')
