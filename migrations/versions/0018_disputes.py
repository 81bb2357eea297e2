"""disputed returns: a case returned twice waits for a supervisor's decision (仲裁)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 20:10:00

- cases.dispute: "arbitration" once a case has been returned (退回) a second time,
  "decided" once a supervisor has named its department (final for that case).
  Existing cases returned twice or more and waiting in the queue are marked for
  arbitration; the rest have no dispute.
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('dispute', sa.String(length=16), nullable=True))
    op.execute("UPDATE cases SET dispute = 'arbitration' WHERE status = 'accepted' AND "
               "(SELECT count(*) FROM case_events e WHERE e.case_id = cases.id AND e.action = 'return') >= 2")


def downgrade():
    # In place: copying cases (others refer to it) fails on SpatiaLite's RenameTable (0017).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE cases DROP COLUMN dispute')
    else:
        op.drop_column('cases', 'dispute')
