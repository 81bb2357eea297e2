"""field app: case assignee, idempotent task actions, devices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:20:40

- cases.assignee_id (FK users, indexed) and cases.assigned_at
- case_events.client_id (UNIQUE): the device-made id of a task action
- devices: one row per installed field app, with its last heartbeat

SQLite: `cases` is a SpatiaLite table that other tables refer to, so it is not
copied by a batch operation (SpatiaLite's RenameTable refuses with foreign keys
on, and a copy would lose the geometry registration). Its new columns are added
in place with ALTER TABLE ADD COLUMN (the foreign key inline) and dropped again
with ALTER TABLE DROP COLUMN (SQLite >= 3.35). `case_events` needs a UNIQUE
constraint, which SQLite can only add by copying the table: batch mode does that.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('app_version', sa.String(length=32), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('oldest_pending_at', sa.DateTime(), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('storage_used', sa.BigInteger(), nullable=True),
    sa.Column('storage_quota', sa.BigInteger(), nullable=True),
    sa.Column('persisted', sa.Boolean(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('device_id', name=op.f('uq_devices_device_id'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_case_events_client_id'), ['client_id'])

    if _sqlite():
        op.execute('ALTER TABLE cases ADD COLUMN assignee_id INTEGER '
                   'CONSTRAINT fk_cases_assignee_id_users REFERENCES users (id)')
        op.execute('ALTER TABLE cases ADD COLUMN assigned_at DATETIME')
        op.create_index(op.f('ix_cases_assignee_id'), 'cases', ['assignee_id'], unique=False)
    else:
        op.add_column('cases', sa.Column('assignee_id', sa.Integer(), nullable=True))
        op.add_column('cases', sa.Column('assigned_at', sa.DateTime(), nullable=True))
        op.create_index(op.f('ix_cases_assignee_id'), 'cases', ['assignee_id'], unique=False)
        op.create_foreign_key(op.f('fk_cases_assignee_id_users'), 'cases', 'users', ['assignee_id'], ['id'])


def downgrade():
    op.drop_index(op.f('ix_cases_assignee_id'), table_name='cases')
    if _sqlite():
        op.execute('ALTER TABLE cases DROP COLUMN assigned_at')
        op.execute('ALTER TABLE cases DROP COLUMN assignee_id')
    else:
        op.drop_constraint(op.f('fk_cases_assignee_id_users'), 'cases', type_='foreignkey')
        op.drop_column('cases', 'assigned_at')
        op.drop_column('cases', 'assignee_id')

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_case_events_client_id'), type_='unique')
        batch_op.drop_column('client_id')

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_user_id'))
        batch_op.drop_index(batch_op.f('ix_devices_last_seen_at'))

    op.drop_table('devices')
