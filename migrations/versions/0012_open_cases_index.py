"""open cases index: status, resolve deadline, grid, department, category, id and point

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:30:00

ix_cases_status_due replaces ix_cases_status: the supervisors' map (shading
and clusters) and the "overdue now" counts and list read the open cases from
the index alone (an
index-only scan on PostgreSQL), never the closed bulk of the table.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = ['status', 'resolve_due_at', 'grid_id', 'department_id', 'category_id', 'id', 'lat', 'lng']


def upgrade():
    # Plain CREATE/DROP INDEX: no batch copy of the cases table on SQLite.
    op.create_index('ix_cases_status_due', 'cases', COLUMNS, unique=False)
    op.drop_index('ix_cases_status', table_name='cases')


def downgrade():
    op.create_index('ix_cases_status', 'cases', ['status'], unique=False)
    op.drop_index('ix_cases_status_due', table_name='cases')
