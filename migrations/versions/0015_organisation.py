"""organisation: retired and street-chief grids, departments' hours and merges,
routing rules by grid, street or everywhere, the county's calendar, phone codes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:40:00

- grids.kind (grid | road | scenic), grids.active and retired_at: a retired grid
  keeps its cases' history but takes no new ones.
- departments.working_hours (None: the county's), departments.merged_into_id.
- routing_rules: a scope (a grid, a street, everywhere) and a unique key naming
  scope and category; grid_id may be empty. The table is rebuilt on SQLite
  (nothing refers to it); existing rules are grid rules.
- calendar_days: the county's holiday overrides and local make-up days.
- provisioning_codes: one-time QR codes that log a phone in as a worker.
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: grids and departments are referenced by cases (no copy-and-move on SQLite).
    op.add_column('grids', sa.Column('kind', sa.String(length=16), nullable=False, server_default='grid'))
    op.add_column('grids', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('grids', sa.Column('retired_at', sa.DateTime(), nullable=True))
    op.add_column('departments', sa.Column('working_hours', sa.String(length=100), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':  # SQLite adds a column's reference with it, never after
        op.execute("ALTER TABLE departments ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_departments_merged_into_id_departments REFERENCES departments (id)")
    else:
        op.add_column('departments', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_departments_merged_into_id_departments'), 'departments', 'departments',
                              ['merged_into_id'], ['id'])

    op.add_column('routing_rules', sa.Column('key', sa.String(length=160), nullable=True))
    op.add_column('routing_rules', sa.Column('scope', sa.String(length=8), nullable=False, server_default='grid'))
    op.add_column('routing_rules', sa.Column('street', sa.String(length=100), nullable=True))
    op.add_column('routing_rules', sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE routing_rules SET key = 'grid:' || grid_id || '|category:' || "
               "COALESCE(CAST(category_id AS VARCHAR), '*'), updated_at = CURRENT_TIMESTAMP")
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_constraint('uq_routing_rules_grid_id', type_='unique')
        batch_op.alter_column('grid_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('key', existing_type=sa.String(length=160), nullable=False)
        batch_op.alter_column('scope', existing_type=sa.String(length=8), server_default=None)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_routing_rules_key'), ['key'])

    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('provisioning_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('device_token_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_provisioning_codes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_token_id'], ['device_tokens.id'], name=op.f('fk_provisioning_codes_device_token_id_device_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_provisioning_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_provisioning_codes_code_hash'))
    )
    with op.batch_alter_table('provisioning_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('provisioning_codes')
    op.drop_table('calendar_days')
    op.execute("DELETE FROM routing_rules WHERE grid_id IS NULL")
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_routing_rules_key'), type_='unique')
        batch_op.alter_column('grid_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_routing_rules_grid_id', ['grid_id', 'category_id'])
        batch_op.drop_column('updated_at')
        batch_op.drop_column('street')
        batch_op.drop_column('scope')
        batch_op.drop_column('key')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        if op.get_bind().dialect.name == 'postgresql':  # SQLite's rebuilt table leaves it out with the column
            batch_op.drop_constraint(batch_op.f('fk_departments_merged_into_id_departments'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('working_hours')
    for column in ('retired_at', 'active', 'kind'):  # plain DROP COLUMN: SpatiaLite refuses to rename grids
        op.execute(f"ALTER TABLE grids DROP COLUMN {column}")
