"""stats rollups: the daily roll-up of case activity for the dashboards

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:49:31

- stats_daily: one row per (local day, department, grid, category), 0 standing for
  "none" in the key (a NULL in a unique key would make the upsert insert twice);
  additive counters (reported … unsatisfied), sums of minutes to acknowledge and
  to resolve, and two histograms of those minutes (ack_h0…9, resolve_h0…9; the
  bucket edges are in civic/stats/models.py)

The table starts empty: fill it with `flask --app app stats rebuild`.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('reported', sa.Integer(), server_default='0', nullable=False),
    sa.Column('accepted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rejected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('dispatched', sa.Integer(), server_default='0', nullable=False),
    sa.Column('acknowledged', sa.Integer(), server_default='0', nullable=False),
    sa.Column('acknowledged_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('handled', sa.Integer(), server_default='0', nullable=False),
    sa.Column('handled_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('closed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reopened', sa.Integer(), server_default='0', nullable=False),
    sa.Column('returned', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rework', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ratings', sa.Integer(), server_default='0', nullable=False),
    sa.Column('satisfied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('basic', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unsatisfied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_minutes_sum', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('resolve_minutes_sum', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('ack_h0', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h1', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h2', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h3', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h4', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h5', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h6', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h7', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h8', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_h9', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h0', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h1', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h2', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h3', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h4', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h5', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h6', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h7', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h8', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolve_h9', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('day', 'department_id', 'grid_id', 'category_id', name=op.f('pk_stats_daily'))
    )
    with op.batch_alter_table('stats_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stats_daily_department_id'), ['department_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stats_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stats_daily_department_id'))

    op.drop_table('stats_daily')
