"""hardening: login sessions that can end, shared abuse-limit counters, phones in one form

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00

- login_sessions: one row per login on the site; the session and remember
  cookies carry its key (only a SHA-256 is kept), so logging out, a password
  reset or a deactivation ends it (accounts/sessions.py). Cookies made before
  this migration carry a bare user id and no longer log anyone in: people log
  in once more.
- rate_limits: the abuse limits' counters when no Redis is configured, shared by
  every worker process (civic/ratelimit.py): a bucket, its count, when it resets.
- users.phone: numbers stored with full-width or other scripts' digits are
  written in ASCII digits (civic/phones.py), unless another account already has
  that number (then both stay as they are, for an administrator to decide).
"""
import unicodedata

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _ascii_digits(text):
    return "".join(str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch for ch in text)


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_sessions_key_hash'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('rate_limits',
    sa.Column('bucket', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_rate_limits'))
    )
    with op.batch_alter_table('rate_limits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limits_expires_at'), ['expires_at'], unique=False)

    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('phone', sa.String))
    rows = conn.execute(sa.select(users.c.id, users.c.phone).where(users.c.phone.is_not(None))).all()
    taken = {phone for _, phone in rows}
    for user_id, phone in rows:
        plain = _ascii_digits(phone)
        if plain != phone and plain not in taken:
            conn.execute(users.update().where(users.c.id == user_id).values(phone=plain))
            taken.add(plain)


def downgrade():
    with op.batch_alter_table('rate_limits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limits_expires_at'))
    op.drop_table('rate_limits')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))
    op.drop_table('login_sessions')
