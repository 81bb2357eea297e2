"""case stages: each stage of a case with its owner and its own clock; urgency levels

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 15:10:00

- case_stages: accept, dispatch, acknowledge, handle, verify, close, each round
  with its owner, start, deadline, end and on-time flag (civic/cases/stages.py).
- categories.urgency (emergency, urgent, normal, complex) takes the place of the
  `urgent` flag (urgent → emergency, the rest normal); cases.urgency, the case's
  level, starts as its category's.
- stats_daily and stats_daily_by get the dispatchers' counters (accept and
  dispatch stages ended, and in time).
- The stage rows of every existing case are built from its events, with today's
  time limits. The roll-ups are not counted again here: `flask stats rebuild`
  does it (README: how the figures change).
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

NEW_COUNTERS = ('accept_stages', 'accept_stages_on_time', 'dispatch_stages', 'dispatch_stages_on_time')


def upgrade():
    op.create_table('case_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_stages_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_stages')),
    sa.UniqueConstraint('case_id', 'stage', 'round', name='uq_case_stages_round')
    )
    with op.batch_alter_table('case_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_stages_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_stages_stage_done', ['stage', 'done_at'], unique=False)

    op.add_column('categories', sa.Column('urgency', sa.String(length=16), server_default='normal', nullable=False))
    op.execute("UPDATE categories SET urgency = 'emergency' WHERE urgent")
    _drop_columns('categories', 'urgent')

    op.add_column('cases', sa.Column('urgency', sa.String(length=16), server_default='normal', nullable=False))
    op.execute("UPDATE cases SET urgency = (SELECT urgency FROM categories WHERE categories.id = cases.category_id)")

    for table in ('stats_daily', 'stats_daily_by'):
        for name in NEW_COUNTERS:
            op.add_column(table, sa.Column(name, sa.Integer(), server_default='0', nullable=False))

    _build_stages()


def _build_stages():
    """The stage rows of the cases there are, from their events (civic/cases/stages.py
    reads only the columns it names, so a later column does not break this)."""
    from flask import current_app

    from civic.cases.stages import rebuild

    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM case_events LIMIT 1")).first() is not None:
        rebuild(connection, current_app)


def _drop_columns(table, *names):
    """In place (SQLite >= 3.35 drops a column itself): copying a table that others
    refer to (cases, categories) fails on SpatiaLite's RenameTable, as in 0002."""
    for name in names:
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')
        else:
            op.drop_column(table, name)


def downgrade():
    for table in ('stats_daily_by', 'stats_daily'):
        _drop_columns(table, *reversed(NEW_COUNTERS))
    _drop_columns('cases', 'urgency')
    op.add_column('categories', sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE categories SET urgent = (urgency = 'emergency')")
    _drop_columns('categories', 'urgency')
    with op.batch_alter_table('case_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_case_stages_stage_done')
        batch_op.drop_index(batch_op.f('ix_case_stages_case_id'))
    op.drop_table('case_stages')
