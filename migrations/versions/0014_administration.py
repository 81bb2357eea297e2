"""administration: the audit log, and one-time passwords that must be changed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:30:00

- audit_entries: every administrative change and every login (who, when, from
  where, what, before and after); append-only: a trigger refuses any UPDATE.
- users.must_change_password: set for accounts made with a one-time password (an
  import); until the user sets their own, their logins can only do that.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('target_label', sa.String(length=200), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_entries_target', ['target_type', 'target_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$")
        op.execute("CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
                   "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
                   "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END")

    # A plain ADD COLUMN on both databases: a batch (copy-and-move) of users on SQLite would
    # drop a table every other table refers to, which a county's filled database refuses.
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update" +
               (" ON audit_entries" if op.get_bind().dialect.name == 'postgresql' else ""))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    op.drop_table('audit_entries')
