"""stats by dimension and keywords: the roll-ups the unfiltered dashboards read

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:10:00

- stats_daily_by: the counters of stats_daily summed per (day, dimension, key):
  dimension 'department', 'grid' or 'category' with that id (0: none), or 'all'
  with key 0; kept by the same upsert as stats_daily
- stats_keywords: cases per local day whose description has the word

Both start empty: fill them with `flask --app app stats rebuild`.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The counters of stats_daily (0008), as they were when this table was made.
COUNTERS = (
    'reported', 'accepted', 'rejected', 'dispatched', 'acknowledged', 'acknowledged_on_time', 'handled',
    'handled_on_time', 'closed', 'reopened', 'returned', 'rework', 'ratings', 'satisfied', 'basic',
    'unsatisfied', 'ack_minutes_sum', 'resolve_minutes_sum', 'ack_h0', 'ack_h1', 'ack_h2', 'ack_h3',
    'ack_h4', 'ack_h5', 'ack_h6', 'ack_h7', 'ack_h8', 'ack_h9', 'resolve_h0', 'resolve_h1',
    'resolve_h2', 'resolve_h3', 'resolve_h4', 'resolve_h5', 'resolve_h6', 'resolve_h7', 'resolve_h8',
    'resolve_h9'
)


def _counter_columns():
    return [sa.Column(name, sa.BigInteger() if name.endswith("_sum") else sa.Integer(), server_default='0',
                      nullable=False) for name in COUNTERS]


def upgrade():
    op.create_table('stats_daily_by',
    sa.Column('dimension', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    *_counter_columns(),
    # dimension first: a view reads one dimension's rows for a run of days, a range of the key
    sa.PrimaryKeyConstraint('dimension', 'day', 'key_id', name=op.f('pk_stats_daily_by'))
    )
    op.create_table('stats_keywords',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('word', sa.String(length=32), nullable=False),
    sa.Column('n', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('day', 'word', name=op.f('pk_stats_keywords'))
    )


def downgrade():
    op.drop_table('stats_keywords')
    op.drop_table('stats_daily_by')
