"""residents: ratings, rechecks, posters, rewards, one-time codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:19:37

- case_ratings: residents' verdicts on the handling (满意/基本满意/不满意), one per
  person per round of handling, with the department rated
- case_rechecks: 复核 of an unsatisfied rating, at most one pending per case
- posters: QR posters per grid or place; cases.poster_id, the poster a report came from
- reward_items, redemptions, point_entries: the rewards catalogue, one-time
  redemption codes, and the append-only points ledger
- one_time_codes: hashed codes texted to prove a phone number
- users.on_leaderboard (residents opt in), users.deleted_at (anonymised accounts)

As in 0006, `cases` and `users` are tables others refer to: on SQLite their new
columns are added in place, never by a batch copy.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    op.create_table('one_time_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes'))
    )
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_one_time_codes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_one_time_codes_phone'), ['phone'], unique=False)

    op.create_table('reward_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('cost > 0', name=op.f('ck_reward_items_cost_positive')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_reward_items_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_items')),
    sa.UniqueConstraint('code', name=op.f('uq_reward_items_code'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['reward_items.id'], name=op.f('fk_redemptions_item_id_reward_items')),
    sa.ForeignKeyConstraint(['used_by'], ['users.id'], name=op.f('fk_redemptions_used_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_redemptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('client_id', name=op.f('uq_redemptions_client_id')),
    sa.UniqueConstraint('code', name=op.f('uq_redemptions_code'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_user_id'), ['user_id'], unique=False)

    op.create_table('posters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_posters_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_posters_grid_id_grids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posters')),
    sa.UniqueConstraint('code', name=op.f('uq_posters_code'))
    )
    with op.batch_alter_table('posters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posters_grid_id'), ['grid_id'], unique=False)

    op.create_table('case_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_ratings_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_ratings_department_id_departments')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_ratings_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_ratings')),
    sa.UniqueConstraint('case_id', 'user_id', 'round', name=op.f('uq_case_ratings_case_id'))
    )
    with op.batch_alter_table('case_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_ratings_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_ratings_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_ratings_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_ratings_user_id'), ['user_id'], unique=False)

    op.create_table('point_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_point_entries_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_point_entries_redemption_id_redemptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_point_entries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_entries')),
    sa.UniqueConstraint('user_id', 'case_id', 'kind', name=op.f('uq_point_entries_user_id'))
    )
    with op.batch_alter_table('point_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_entries_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_entries_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_entries_user_id'), ['user_id'], unique=False)

    op.create_table('case_rechecks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_rechecks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_case_rechecks_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_rechecks_department_id_departments')),
    sa.ForeignKeyConstraint(['rating_id'], ['case_ratings.id'], name=op.f('fk_case_rechecks_rating_id_case_ratings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_rechecks'))
    )
    with op.batch_alter_table('case_rechecks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_rechecks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_case_rechecks_one_pending', ['case_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    if _sqlite():
        op.execute('ALTER TABLE cases ADD COLUMN poster_id INTEGER '
                   'CONSTRAINT fk_cases_poster_id_posters REFERENCES posters (id)')
        op.execute('ALTER TABLE users ADD COLUMN on_leaderboard BOOLEAN NOT NULL DEFAULT 0')
        op.execute('ALTER TABLE users ADD COLUMN deleted_at DATETIME')
    else:
        op.add_column('cases', sa.Column('poster_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_cases_poster_id_posters'), 'cases', 'posters', ['poster_id'], ['id'])
        op.add_column('users', sa.Column('on_leaderboard', sa.Boolean(), nullable=False, server_default=sa.false()))
        op.add_column('users', sa.Column('deleted_at', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_cases_poster_id'), 'cases', ['poster_id'], unique=False)



def downgrade():
    op.drop_index(op.f('ix_cases_poster_id'), table_name='cases')
    if _sqlite():
        op.execute('ALTER TABLE users DROP COLUMN deleted_at')
        op.execute('ALTER TABLE users DROP COLUMN on_leaderboard')
        op.execute('ALTER TABLE cases DROP COLUMN poster_id')
    else:
        op.drop_column('users', 'deleted_at')
        op.drop_column('users', 'on_leaderboard')
        op.drop_constraint(op.f('fk_cases_poster_id_posters'), 'cases', type_='foreignkey')
        op.drop_column('cases', 'poster_id')

    with op.batch_alter_table('case_rechecks', schema=None) as batch_op:
        batch_op.drop_index('uq_case_rechecks_one_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_case_rechecks_case_id'))

    op.drop_table('case_rechecks')
    with op.batch_alter_table('point_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_entries_user_id'))
        batch_op.drop_index(batch_op.f('ix_point_entries_created_at'))
        batch_op.drop_index(batch_op.f('ix_point_entries_case_id'))

    op.drop_table('point_entries')
    with op.batch_alter_table('case_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_ratings_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_ratings_department_id'))
        batch_op.drop_index(batch_op.f('ix_case_ratings_created_at'))
        batch_op.drop_index(batch_op.f('ix_case_ratings_case_id'))

    op.drop_table('case_ratings')
    with op.batch_alter_table('posters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posters_grid_id'))

    op.drop_table('posters')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_item_id'))

    op.drop_table('redemptions')
    op.drop_table('reward_items')
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_one_time_codes_phone'))
        batch_op.drop_index(batch_op.f('ix_one_time_codes_created_at'))

    op.drop_table('one_time_codes')
