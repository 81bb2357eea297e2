"""group webhooks: departments' chat-group robots and the log of group notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00

- departments.webhook_kind (wecom | dingtalk | feishu; NULL: told from the URL's host)
  and departments.webhook_secret (DingTalk / Feishu signing), both nullable, next to
  the existing webhook_url
- webhook_deliveries: one message about a case to a department's group (dispatch,
  escalation, close), with its status, attempts and next attempt;
  ix_webhook_deliveries_due finds due retries

`departments` is referred to by other tables, so on SQLite its new columns are added
and dropped in place (ALTER TABLE ADD/DROP COLUMN, SQLite >= 3.35), never by a
batch copy; the columns carry no constraints, so this is the same on PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('departments', sa.Column('webhook_kind', sa.String(length=16), nullable=True))
    op.add_column('departments', sa.Column('webhook_secret', sa.String(length=200), nullable=True))

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('adapter', sa.String(length=16), nullable=False),
    sa.Column('message', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_webhook_deliveries_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_webhook_deliveries_department_id_departments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_case_id'))
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE departments DROP COLUMN webhook_secret')
        op.execute('ALTER TABLE departments DROP COLUMN webhook_kind')
    else:
        op.drop_column('departments', 'webhook_secret')
        op.drop_column('departments', 'webhook_kind')
