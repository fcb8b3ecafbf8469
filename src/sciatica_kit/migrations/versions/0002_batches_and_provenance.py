"""Schema 2: every write is a batch (who, when, source); history keeps old and new values and
who changed them; programmes get per-patient version numbers.

Revision ID: 0002
Revises: 0001

Set-based copies (INSERT ... SELECT) through SQLAlchemy Core, the same on SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

from sciatica_kit.migrations.schema import tables_v1, tables_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_RENAMED = ("entries", "history", "programmes")


def upgrade() -> None:
    bind = op.get_bind()
    op.drop_index("history_patient", table_name="history")
    op.drop_index("programmes_patient", table_name="programmes")
    for name in _RENAMED:
        op.rename_table(name, f"{name}_v1")
    op.add_column("patients", sa.Column("created_by", sa.String(200)))

    old_md = sa.MetaData()
    old = tables_v1(old_md)
    for name in _RENAMED:  # the same definitions, under their temporary names
        old[name].name = f"{name}_v1"
        old[name].fullname = f"{name}_v1"
    new_md = sa.MetaData()
    new = tables_v2(new_md)
    new_md.create_all(bind, tables=[new[n] for n in ("batches", "batch_patients", "entries", "history", "programmes")])

    imp, ent, his, prog = old["imports"], old["entries"], old["history"], old["programmes"]
    b = new["batches"]
    op.execute(b.insert().from_select(
        ["batch_id", "entered_by", "entered_at", "source", "rows", "kind", "undoes", "undone_at"],
        sa.select(imp.c.import_id, imp.c.user, imp.c.at, imp.c.source, imp.c.rows, sa.literal("entry"),
                  sa.null(), imp.c.undone_at),
    ))
    op.execute(new["entries"].insert().from_select(
        ["patient_id", "date", "measure", "side", "value", "note", "batch_id"],
        sa.select(ent.c.patient_id, ent.c.date, ent.c.measure, ent.c.side, ent.c.value, ent.c.note, ent.c.import_id),
    ))
    touched = sa.union(
        sa.select(ent.c.import_id, ent.c.patient_id),
        sa.select(his.c.import_id, his.c.patient_id),
        sa.select(his.c.replaced_by, his.c.patient_id).where(his.c.replaced_by.is_not(None)),
    ).subquery()
    op.execute(new["batch_patients"].insert().from_select(
        ["batch_id", "patient_id"],
        sa.select(touched.c[0], touched.c[1]).where(touched.c[0].in_(sa.select(imp.c.import_id))),
    ))
    if bind.dialect.name == "postgresql":  # ids were copied as they were: move the sequence past them
        _move_sequence(bind, b, "batch_id")
    # the first release recorded an undo only in history: each undone import gets its undo batch
    undone = his.c.action == "undone"
    op.execute(b.insert().from_select(
        ["entered_by", "entered_at", "source", "rows", "kind", "undoes"],
        sa.select(sa.func.min(his.c.user), sa.func.min(his.c.at),
                  sa.literal("undo of batch ") + sa.cast(his.c.import_id, sa.String), sa.func.count(),
                  sa.literal("undo"), his.c.import_id).where(undone).group_by(his.c.import_id),
    ))
    undo_batch = (sa.select(b.c.batch_id).where(b.c.kind == "undo", b.c.undoes == his.c.import_id)
                  .limit(1).scalar_subquery())
    same_key = sa.and_(ent.c.patient_id == his.c.patient_id, ent.c.date == his.c.date,
                       ent.c.measure == his.c.measure, ent.c.side == his.c.side, ent.c.import_id == his.c.replaced_by)
    op.execute(new["history"].insert().from_select(
        ["id", "patient_id", "date", "measure", "side", "old_value", "old_note", "old_batch_id", "new_value",
         "new_note", "action", "batch_id", "changed_by", "changed_at"],
        sa.select(his.c.id, his.c.patient_id, his.c.date, his.c.measure, his.c.side, his.c.value, his.c.note,
                  his.c.import_id, sa.select(ent.c.value).where(same_key).scalar_subquery(),
                  sa.select(ent.c.note).where(same_key).scalar_subquery(), his.c.action,
                  sa.case((undone, undo_batch), else_=his.c.replaced_by), his.c.user, his.c.at),
    ))
    bp = new["batch_patients"]
    op.execute(bp.insert().from_select(
        ["batch_id", "patient_id"],
        sa.select(b.c.batch_id, bp.c.patient_id).select_from(b.join(bp, bp.c.batch_id == b.c.undoes))
        .where(b.c.kind == "undo").distinct(),
    ))
    version = sa.func.row_number().over(partition_by=prog.c.patient_id, order_by=prog.c.id)
    op.execute(new["programmes"].insert().from_select(
        ["id", "patient_id", "version", "created", "saved_at", "saved_by", "data"],
        sa.select(prog.c.id, prog.c.patient_id, version, prog.c.created, prog.c.saved_at, prog.c.user, prog.c.data),
    ))
    if bind.dialect.name == "postgresql":
        _move_sequence(bind, new["history"], "id")
        _move_sequence(bind, new["programmes"], "id")
    for name in _RENAMED:
        op.drop_table(f"{name}_v1")
    op.drop_table("imports")
    meta = old["meta"]
    op.execute(meta.update().where(meta.c.key == "schema").values(value="2"))


def _move_sequence(bind, table: sa.Table, column: str) -> None:
    """PostgreSQL: rows were copied with their ids, so the id sequence must start after them."""
    seq = sa.func.pg_get_serial_sequence(table.name, column)
    top = sa.select(sa.func.coalesce(sa.func.max(table.c[column]), 0) + 1).scalar_subquery()
    bind.execute(sa.select(sa.func.setval(seq, top, False)))


def downgrade() -> None:
    raise NotImplementedError("The kit never goes back to an older schema; restore the backup taken before the upgrade.")
