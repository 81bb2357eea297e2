"""roll-ups per department: no row that every report of the day must lock

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:40:00

- stats_daily_by gets department_id in its key: a day's grid or category row is
  one per department that worked there, and the day's single "all" row is gone
  (the day's total is the sum of its department rows, read at query time). Two
  reports for different departments then never add to the same row, so neither
  waits for the other's commit. Refilled from stats_daily, which has every key.
- stats_keywords gets department_id in its key for the same reason; the words
  counted so far keep department 0 (their sums are unchanged).
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The counters of stats_daily as they are at this revision (0008's, unchanged since).
COUNTERS = (
    'reported', 'accepted', 'rejected', 'dispatched', 'acknowledged', 'acknowledged_on_time', 'handled',
    'handled_on_time', 'closed', 'reopened', 'returned', 'rework', 'ratings', 'satisfied', 'basic',
    'unsatisfied', 'ack_minutes_sum', 'resolve_minutes_sum', 'ack_h0', 'ack_h1', 'ack_h2', 'ack_h3',
    'ack_h4', 'ack_h5', 'ack_h6', 'ack_h7', 'ack_h8', 'ack_h9', 'resolve_h0', 'resolve_h1',
    'resolve_h2', 'resolve_h3', 'resolve_h4', 'resolve_h5', 'resolve_h6', 'resolve_h7', 'resolve_h8',
    'resolve_h9'
)
SUMS = ", ".join(f"SUM({c})" for c in COUNTERS)
NAMES = ", ".join(COUNTERS)


def _counter_columns():
    return [sa.Column(name, sa.BigInteger() if name.endswith("_sum") else sa.Integer(), server_default='0',
                      nullable=False) for name in COUNTERS]


def _by_table(key, pk_name):
    op.create_table('stats_daily_by',
                    sa.Column('dimension', sa.String(length=12), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('key_id', sa.Integer(), nullable=False),
                    *([sa.Column('department_id', sa.Integer(), nullable=False, server_default='0')]
                      if 'department_id' in key else []),
                    *_counter_columns(),
                    sa.PrimaryKeyConstraint(*key, name=pk_name))


def _keywords_table(key):
    op.create_table('stats_keywords',
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('word', sa.String(length=32), nullable=False),
                    *([sa.Column('department_id', sa.Integer(), nullable=False, server_default='0')]
                      if 'department_id' in key else []),
                    sa.Column('n', sa.Integer(), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint(*key, name=op.f('pk_stats_keywords')))


def upgrade():
    op.rename_table('stats_keywords', 'stats_keywords_old')
    if op.get_bind().dialect.name == 'postgresql':  # the old primary key's name would clash
        op.execute('ALTER TABLE stats_keywords_old RENAME CONSTRAINT pk_stats_keywords TO pk_stats_keywords_old')
    _keywords_table(('day', 'word', 'department_id'))
    op.execute('INSERT INTO stats_keywords (day, word, department_id, n) SELECT day, word, 0, n FROM stats_keywords_old')
    op.drop_table('stats_keywords_old')

    op.drop_table('stats_daily_by')
    _by_table(('dimension', 'day', 'key_id', 'department_id'), op.f('pk_stats_daily_by'))
    for dimension, key in (('department', 'department_id'), ('grid', 'grid_id'), ('category', 'category_id')):
        op.execute(f"INSERT INTO stats_daily_by (dimension, day, key_id, department_id, {NAMES}) "
                   f"SELECT '{dimension}', day, {key}, department_id, {SUMS} FROM stats_daily "
                   f"GROUP BY day, {key}, department_id")


def downgrade():
    op.drop_table('stats_daily_by')
    _by_table(('dimension', 'day', 'key_id'), op.f('pk_stats_daily_by'))
    for dimension, key in (('department', 'department_id'), ('grid', 'grid_id'), ('category', 'category_id')):
        op.execute(f"INSERT INTO stats_daily_by (dimension, day, key_id, {NAMES}) "
                   f"SELECT '{dimension}', day, {key}, {SUMS} FROM stats_daily GROUP BY day, {key}")
    op.execute(f"INSERT INTO stats_daily_by (dimension, day, key_id, {NAMES}) "
               f"SELECT 'all', day, 0, {SUMS} FROM stats_daily GROUP BY day")

    op.rename_table('stats_keywords', 'stats_keywords_new')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE stats_keywords_new RENAME CONSTRAINT pk_stats_keywords TO pk_stats_keywords_new')
    _keywords_table(('day', 'word'))
    op.execute('INSERT INTO stats_keywords (day, word, n) SELECT day, word, SUM(n) FROM stats_keywords_new '
               'GROUP BY day, word')
    op.drop_table('stats_keywords_new')
