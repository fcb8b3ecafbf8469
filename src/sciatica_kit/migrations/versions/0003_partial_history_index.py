"""Schema 3: history's batch index holds only corrected values (a partial index), so the rows an
undo writes cost no index upkeep; undoing a 1M-row import no longer spends most of its time there.

Revision ID: 0003
Revises: 0002

Indexes only: no row is copied or changed.
"""

import sqlalchemy as sa
from alembic import op

from sciatica_kit.migrations.schema import CORRECTED

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.drop_index("history_batch", table_name="history")
    else:
        op.drop_index("history_batch_pg", table_name="history")
    op.create_index("history_corrected", "history", ["batch_id", "patient_id", "date", "measure", "side"],
                    sqlite_where=sa.text(CORRECTED), postgresql_where=sa.text(CORRECTED))
    meta = sa.table("meta", sa.column("key"), sa.column("value"))
    op.execute(meta.update().where(meta.c.key == "schema").values(value="3"))


def downgrade() -> None:
    raise NotImplementedError("The kit never goes back to an older schema; restore the backup taken before the upgrade.")
