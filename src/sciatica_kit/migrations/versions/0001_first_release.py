"""The schema of the first release (meta schema "1"): the base that older stores are stamped at.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from sciatica_kit.migrations.schema import tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    md = sa.MetaData()
    tables_v1(md)
    md.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("The kit never goes back to an older schema; restore a backup instead.")
