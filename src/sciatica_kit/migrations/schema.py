"""The store's table definitions, one frozen function per schema version.

Migrations import the version they start from and the one they build, so a later
change to the current schema never changes what an old migration does.  The store
uses :func:`tables_v2` (the current version).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["tables_v1", "tables_v2"]


def tables_v1(md: sa.MetaData) -> dict[str, sa.Table]:
    """The schema of the first release (meta ``schema`` = "1"), as it created it.

    Parameters
    ----------
    md : sqlalchemy.MetaData
        Metadata to define the tables on.

    Returns
    -------
    dict of str to sqlalchemy.Table
        The first release's tables by name.
    """

    def entry_columns(keyed: bool) -> list[sa.Column]:
        return [
            sa.Column("patient_id", sa.String(64), primary_key=keyed, nullable=False),
            sa.Column("date", sa.String(10), primary_key=keyed, nullable=False),
            sa.Column("measure", sa.String(32), primary_key=keyed, nullable=False),
            sa.Column("side", sa.String(8), primary_key=keyed, nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("import_id", sa.Integer, nullable=False),
        ]

    t = {
        "meta": sa.Table("meta", md, sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.String, nullable=False)),
        "patients": sa.Table("patients", md, sa.Column("patient_id", sa.String(64), primary_key=True),
                             sa.Column("created_at", sa.String, nullable=False)),
        "imports": sa.Table("imports", md, sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
                            sa.Column("at", sa.String, nullable=False), sa.Column("user", sa.String, nullable=False),
                            sa.Column("source", sa.String, nullable=False), sa.Column("rows", sa.Integer, nullable=False),
                            sa.Column("undone_at", sa.String)),
        "entries": sa.Table("entries", md, *entry_columns(True)),
        "history": sa.Table("history", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                            *entry_columns(False), sa.Column("action", sa.String(16), nullable=False),
                            sa.Column("replaced_by", sa.Integer), sa.Column("at", sa.String, nullable=False),
                            sa.Column("user", sa.String, nullable=False)),
        "programmes": sa.Table("programmes", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                               sa.Column("patient_id", sa.String(64), nullable=False),
                               sa.Column("created", sa.String(10), nullable=False), sa.Column("saved_at", sa.String, nullable=False),
                               sa.Column("user", sa.String, nullable=False), sa.Column("data", sa.Text, nullable=False)),
    }
    sa.Index("history_patient", t["history"].c.patient_id)
    sa.Index("programmes_patient", t["programmes"].c.patient_id)
    return t


def _key_columns(keyed: bool) -> list[sa.Column]:
    return [
        sa.Column("patient_id", sa.String(64), primary_key=keyed, nullable=False),
        sa.Column("date", sa.String(10), primary_key=keyed, nullable=False),
        sa.Column("measure", sa.String(32), primary_key=keyed, nullable=False),
        sa.Column("side", sa.String(8), primary_key=keyed, nullable=False),
    ]


def tables_v2(md: sa.MetaData) -> dict[str, sa.Table]:
    """Schema 2: batches (who, when, source) for every write, per-value provenance, old and new

    Parameters
    ----------
    md : sqlalchemy.MetaData
        Metadata to define the tables on.

    Returns
    -------
    dict of str to sqlalchemy.Table
        Schema 2's tables by name (batches and who entered what).
    values in history, numbered programme versions."""
    t = {
        "meta": sa.Table("meta", md, sa.Column("key", sa.String(64), primary_key=True),
                         sa.Column("value", sa.String(200), nullable=False)),
        "patients": sa.Table("patients", md, sa.Column("patient_id", sa.String(64), primary_key=True),
                             sa.Column("created_at", sa.String(40), nullable=False), sa.Column("created_by", sa.String(200))),
        "batches": sa.Table(
            "batches", md,
            sa.Column("batch_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("entered_by", sa.String(200), nullable=False),
            sa.Column("entered_at", sa.String(40), nullable=False),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),  # "entry" or "undo"
            sa.Column("undoes", sa.Integer),  # for an undo: the batch it undid
            sa.Column("undone_at", sa.String(40)),  # when no entry of the batch is current any more
        ),
        "batch_patients": sa.Table(
            "batch_patients", md,
            sa.Column("batch_id", sa.Integer, primary_key=True),
            sa.Column("patient_id", sa.String(64), primary_key=True),
        ),
        "entries": sa.Table("entries", md, *_key_columns(True),
                            sa.Column("value", sa.Float, nullable=False), sa.Column("note", sa.Text, nullable=False),
                            sa.Column("batch_id", sa.Integer, nullable=False)),
        "history": sa.Table(
            "history", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            *_key_columns(False),
            sa.Column("old_value", sa.Float, nullable=False),
            sa.Column("old_note", sa.Text, nullable=False),
            sa.Column("old_batch_id", sa.Integer, nullable=False),
            sa.Column("new_value", sa.Float),  # None: removed by an undo and nothing to restore
            sa.Column("new_note", sa.Text),
            sa.Column("action", sa.String(16), nullable=False),  # "corrected" or "undone"
            sa.Column("batch_id", sa.Integer),  # the batch that made the change (the correction or the undo)
            sa.Column("changed_by", sa.String(200), nullable=False),
            sa.Column("changed_at", sa.String(40), nullable=False),
        ),
        "programmes": sa.Table(
            "programmes", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("patient_id", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("created", sa.String(10), nullable=False),
            sa.Column("saved_at", sa.String(40), nullable=False),
            sa.Column("saved_by", sa.String(200), nullable=False),
            sa.Column("data", sa.Text, nullable=False),
            sa.UniqueConstraint("patient_id", "version", name="programmes_patient_version"),
        ),
    }
    sa.Index("entries_batch", t["entries"].c.batch_id)
    h = t["history"].c
    # SQLite joins by nested loops, so undo's lookup of what a batch overwrote needs the whole key;
    # PostgreSQL hash-joins, and every history index slows the copy of a big undone batch
    sa.Index("history_patient", h.patient_id).ddl_if(dialect="sqlite")
    sa.Index("history_batch", h.batch_id, h.patient_id, h.date, h.measure, h.side).ddl_if(dialect="sqlite")
    sa.Index("history_batch_pg", h.batch_id).ddl_if(dialect="postgresql")
    sa.Index("batch_patients_patient", t["batch_patients"].c.patient_id)
    return t
