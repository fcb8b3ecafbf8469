"""Write the corpus of malformed and awkward progress-log files and its manifest.

Every patient here is synthetic ("P001", "DEMO-xxx"); no real names.  Run it
from anywhere to rebuild the corpus beside this script::

    python tests/data/logs/make_corpus.py

Each case is written as a file plus a ``[[file]]`` entry in ``manifest.toml``:

* ``read``   keyword arguments for ``read_log`` (``today`` is always 2026-06-01)
* ``rows``   for accepted files: the exact tidy rows
             ``[patient_id, date, measure, side, value, note]``
* ``reject`` for rejected files: the ``{row, column}`` pairs ``LogError.problems``
             must name (a missing key means None: a file-level problem), and
  ``word``   a phrase the error message must contain.
* ``secret`` a note in the file that must never appear in an error message.

The expected values are written by hand below, never computed by the kit.
"""

from __future__ import annotations

import datetime as dt
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TODAY = "2026-06-01"
SECRET = "zebra-lantern-4471 private remark"
LONG = "patient_id,date,measure,side,value,note"

CASES: list[dict] = []


def case(name: str, content, *, rows=None, reject=None, word=None, read=None, secret=None, what=""):
    CASES.append(
        {
            "name": name,
            "content": content,
            "rows": rows,
            "reject": reject,
            "word": word,
            "read": read or {},
            "secret": secret,
            "what": what,
        }
    )


def csv_text(*lines: str, eol: str = "\n") -> str:
    return eol.join(lines) + eol


def xlsx(rows: list[list], number_formats: dict[int, str] | None = None):
    """A deferred .xlsx writer (openpyxl), so the content stays declarative."""

    def write(path: Path) -> None:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "visits"
        for r in rows:
            ws.append(r)
        for col, fmt in (number_formats or {}).items():
            for cells in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                for cell in cells:
                    cell.number_format = fmt
        fixed = dt.datetime(2026, 1, 1)
        wb.properties.created = fixed
        wb.properties.modified = fixed
        wb.save(path)

    return write


# =========================================================================== accepted

case(
    "long_basic.csv",
    csv_text(
        LONG,
        "P001,2026-01-05,pain,,7,first visit",
        "P001,2026-01-05,slr,left,40,tight hamstrings",
        "P001,2026-01-05,slr,right,75,",
        "P001,2026-01-19,pain,,5.5,",
        "P002,2026-02-02,odi,,34,",
    ),
    what="canonical long form",
    rows=[
        ["P001", "2026-01-05", "pain", "", 7.0, "first visit"],
        ["P001", "2026-01-05", "slr", "left", 40.0, "tight hamstrings"],
        ["P001", "2026-01-05", "slr", "right", 75.0, ""],
        ["P001", "2026-01-19", "pain", "", 5.5, ""],
        ["P002", "2026-02-02", "odi", "", 34.0, ""],
    ],
)

case(
    "wide_human_headers.csv",
    csv_text(
        "Patient ID,Date,Pain (0-10),SLR L,SLR (R),Fingertip to floor (cm),Notes",
        "P001,2026-01-05,7,40,70,25,walked in",
        "P001,2026-01-12,6,45,,22.5,",
    ),
    what="wide form, headers as clinicians write them",
    rows=[
        ["P001", "2026-01-05", "fingertip_floor", "", 25.0, "walked in"],
        ["P001", "2026-01-05", "pain", "", 7.0, "walked in"],
        ["P001", "2026-01-05", "slr", "left", 40.0, "walked in"],
        ["P001", "2026-01-05", "slr", "right", 70.0, "walked in"],
        ["P001", "2026-01-12", "fingertip_floor", "", 22.5, ""],
        ["P001", "2026-01-12", "pain", "", 6.0, ""],
        ["P001", "2026-01-12", "slr", "left", 45.0, ""],
    ],
)

case(
    "wide_dayfirst.csv",
    csv_text(
        "patient_id,date,pain,odi",
        "DEMO-001,31/01/2026,6,40",
        "DEMO-001,03/04/2026,4,28",
        "DEMO-001,7.5.2026,3,",
    ),
    what="UK day-first dates read with dayfirst=True",
    read={"dayfirst": True},
    rows=[
        ["DEMO-001", "2026-01-31", "odi", "", 40.0, ""],
        ["DEMO-001", "2026-01-31", "pain", "", 6.0, ""],
        ["DEMO-001", "2026-04-03", "odi", "", 28.0, ""],
        ["DEMO-001", "2026-04-03", "pain", "", 4.0, ""],
        ["DEMO-001", "2026-05-07", "pain", "", 3.0, ""],
    ],
)

case(
    "long_monthfirst.csv",
    csv_text(
        LONG,
        "P010,01/31/2026,pain,,6,",
        "P010,03/04/2026,pain,,5,",
        "P010,3/4/26,leg_pain,,4,",
    ),
    what="US month-first dates read with dayfirst=False (two-digit year too)",
    read={"dayfirst": False},
    rows=[
        ["P010", "2026-01-31", "pain", "", 6.0, ""],
        ["P010", "2026-03-04", "leg_pain", "", 4.0, ""],
        ["P010", "2026-03-04", "pain", "", 5.0, ""],
    ],
)

case(
    "wide_semicolon_decimal_comma.csv",
    csv_text(
        "patient_id;date;pain;schober;adherence;note",
        "P020;2026-01-05;6,5;19,5;87,5;gut",
        "P020;2026-01-12;5;21;100;",
    ),
    what="European CSV: ';' separator, decimal commas",
    rows=[
        ["P020", "2026-01-05", "adherence", "", 87.5, "gut"],
        ["P020", "2026-01-05", "pain", "", 6.5, "gut"],
        ["P020", "2026-01-05", "schober", "", 19.5, "gut"],
        ["P020", "2026-01-12", "adherence", "", 100.0, ""],
        ["P020", "2026-01-12", "pain", "", 5.0, ""],
        ["P020", "2026-01-12", "schober", "", 21.0, ""],
    ],
)

case(
    "wide_semicolon_point_decimal.csv",
    csv_text(
        "patient_id;date;adherence;odi",
        "P021;2026-01-05;7.5;32.5",
    ),
    what="';' file where someone typed a decimal point: 7.5 stays 7.5 (never 75)",
    rows=[
        ["P021", "2026-01-05", "adherence", "", 7.5, ""],
        ["P021", "2026-01-05", "odi", "", 32.5, ""],
    ],
)

case(
    "long_bom_crlf.csv",
    "\ufeff"
    + csv_text(
        LONG,
        "P030,2026-01-05,leg_pain,,8,",
        "P030,2026-01-05,back_pain,,5,sore",
        eol="\r\n",
    ),
    what="Excel 'CSV UTF-8': byte-order mark and Windows line ends",
    rows=[
        ["P030", "2026-01-05", "back_pain", "", 5.0, "sore"],
        ["P030", "2026-01-05", "leg_pain", "", 8.0, ""],
    ],
)

case(
    "wide_units_in_cells.csv",
    csv_text(
        "patient_id,date,pain,slr_left,slr_right,fingertip_floor,adherence,rmdq,lumbar_flexion",
        "P040,2026-01-05,7/10,45°,60 °,12 cm,30 %,9/24,55 deg",
    ),
    what="values written with their unit",
    rows=[
        ["P040", "2026-01-05", "adherence", "", 30.0, ""],
        ["P040", "2026-01-05", "fingertip_floor", "", 12.0, ""],
        ["P040", "2026-01-05", "lumbar_flexion", "", 55.0, ""],
        ["P040", "2026-01-05", "pain", "", 7.0, ""],
        ["P040", "2026-01-05", "rmdq", "", 9.0, ""],
        ["P040", "2026-01-05", "slr", "left", 45.0, ""],
        ["P040", "2026-01-05", "slr", "right", 60.0, ""],
    ],
)

case(
    "wide_blank_rows_trailing_spaces.csv",
    csv_text(
        "patient_id , date ,  pain  , note ",
        "",
        "  P050  , 2026-01-05 ,  7 ,  walked further  ",
        ",,,",
        "   ",
        "P050,2026-01-12,  5,",
        "",
    ),
    what="blank lines, blank rows of separators, spaces everywhere",
    rows=[
        ["P050", "2026-01-05", "pain", "", 7.0, "walked further"],
        ["P050", "2026-01-12", "pain", "", 5.0, ""],
    ],
)

case(
    "wide_trailing_separators.csv",
    csv_text(
        "patient_id,date,pain,odi,,",
        "P060,2026-01-05,7,40,,",
        "P060,2026-01-12,6,,,",
    ),
    what="trailing separators on every line (header too)",
    rows=[
        ["P060", "2026-01-05", "odi", "", 40.0, ""],
        ["P060", "2026-01-05", "pain", "", 7.0, ""],
        ["P060", "2026-01-12", "pain", "", 6.0, ""],
    ],
)

case(
    "wide_trailing_separators_data_only.csv",
    csv_text(
        "patient_id,date,pain,odi",
        "P061,2026-01-05,7,40,",
        "P061,2026-01-12,6,36,",
    ),
    what="a trailing separator on the data lines but not the header",
    rows=[
        ["P061", "2026-01-05", "odi", "", 40.0, ""],
        ["P061", "2026-01-05", "pain", "", 7.0, ""],
        ["P061", "2026-01-12", "odi", "", 36.0, ""],
        ["P061", "2026-01-12", "pain", "", 6.0, ""],
    ],
)

case(
    "long_trailing_separators_data_only.csv",
    csv_text(
        LONG,
        "P062,2026-01-05,slr,left,35,stiff,",
        "P062,2026-01-05,pain,,6,,",
    ),
    what="long form, trailing separator on data lines only",
    rows=[
        ["P062", "2026-01-05", "pain", "", 6.0, ""],
        ["P062", "2026-01-05", "slr", "left", 35.0, "stiff"],
    ],
)

case(
    "cp1252.csv",
    csv_text(
        "patient_id,date,Pain (0-10),Notes",
        'P070,2026-01-05,4,"Müdigkeit – besser, naïve café"',
    ).encode("cp1252"),
    what="Windows-1252 text (older Excel 'CSV')",
    rows=[
        ["P070", "2026-01-05", "pain", "", 4.0, "Müdigkeit – besser, naïve café"],
    ],
)

case(
    "tab_separated.tsv",
    csv_text(
        "patient_id\tdate\tmeasure\tside\tvalue\tnote",
        "P080\t2026-01-05\tslr\tL\t45\t",
        "P080\t2026-01-05\tslr\tRt\t80\tgood side",
        "P080\t2026-01-05\tsbi\t\t14\t",
    ),
    what="tab separated, sides written L / Rt",
    rows=[
        ["P080", "2026-01-05", "sbi", "", 14.0, ""],
        ["P080", "2026-01-05", "slr", "left", 45.0, ""],
        ["P080", "2026-01-05", "slr", "right", 80.0, "good side"],
    ],
)

case(
    "long_human_measure_names.csv",
    csv_text(
        LONG,
        "P090,2026-01-05,Pain (0-10),,6,",
        "P090,2026-01-05,SLR L,,50,",
        "P090,2026-01-05,Straight leg raise right,,65,",
        "P090,2026-01-05,Oswestry,,30,",
        "P090,2026-01-05,SCHOBER,,18.5,",
    ),
    what="long form whose measure cells use human names and implied sides",
    rows=[
        ["P090", "2026-01-05", "odi", "", 30.0, ""],
        ["P090", "2026-01-05", "pain", "", 6.0, ""],
        ["P090", "2026-01-05", "schober", "", 18.5, ""],
        ["P090", "2026-01-05", "slr", "left", 50.0, ""],
        ["P090", "2026-01-05", "slr", "right", 65.0, ""],
    ],
)

case(
    "long_identical_duplicate.csv",
    csv_text(
        LONG,
        "P100,2026-01-05,pain,,6,",
        "P100,2026-01-05,pain,,6,",
        "P100,2026-01-05,start_back,,5,",
    ),
    what="the same entry twice (a copy-paste) is kept once",
    rows=[
        ["P100", "2026-01-05", "pain", "", 6.0, ""],
        ["P100", "2026-01-05", "start_back", "", 5.0, ""],
    ],
)

case(
    "quoted_notes.csv",
    csv_text(
        LONG,
        'P110,2026-01-05,pain,,5,"better, but ""tired"""',
        "P110,2026-01-12,pain,,4,=not a formula",
        "P110,2026-01-19,pain,,3,-3 flare days",
    ),
    what="quoted notes with separators and quotes; notes that look like formulas",
    rows=[
        ["P110", "2026-01-05", "pain", "", 5.0, 'better, but "tired"'],
        ["P110", "2026-01-12", "pain", "", 4.0, "=not a formula"],
        ["P110", "2026-01-19", "pain", "", 3.0, "-3 flare days"],
    ],
)

case(
    "wide.xlsx",
    xlsx(
        [
            [
                "Patient ID",
                "Visit date",
                "Pain (0-10)",
                "SLR Left",
                "SLR right (deg)",
                "ODI (%)",
                "Comments",
            ],
            ["DEMO-201", "2026-01-05", 7, 40, 72.5, 44, "first visit"],
            ["DEMO-201", "2026-02-02", "5/10", "50°", None, None, None],
            [None, None, None, None, None, None, None],
        ]
    ),
    what="Excel workbook, wide, mixed numbers and text cells, padding row",
    rows=[
        ["DEMO-201", "2026-01-05", "odi", "", 44.0, "first visit"],
        ["DEMO-201", "2026-01-05", "pain", "", 7.0, "first visit"],
        ["DEMO-201", "2026-01-05", "slr", "left", 40.0, "first visit"],
        ["DEMO-201", "2026-01-05", "slr", "right", 72.5, "first visit"],
        ["DEMO-201", "2026-02-02", "pain", "", 5.0, ""],
        ["DEMO-201", "2026-02-02", "slr", "left", 50.0, ""],
    ],
)

case(
    "long.xlsx",
    xlsx(
        [
            ["patient_id", "date", "measure", "side", "value", "note"],
            ["DEMO-202", "2026-03-02", "rmdq", None, 11, None],
            ["DEMO-202", "2026-03-02", "slr", "right", 55.5, "sharp"],
            [1234, "2026-03-03", "adherence", "", 80, ""],
        ]
    ),
    what="Excel workbook, long, numeric patient id",
    rows=[
        ["1234", "2026-03-03", "adherence", "", 80.0, ""],
        ["DEMO-202", "2026-03-02", "rmdq", "", 11.0, ""],
        ["DEMO-202", "2026-03-02", "slr", "right", 55.5, "sharp"],
    ],
)

case(
    "excel_dates.xlsx",
    xlsx(
        [
            ["patient_id", "date", "leg_pain", "note"],
            ["DEMO-203", dt.datetime(2026, 1, 5), 8, None],
            ["DEMO-203", dt.datetime(2026, 1, 12, 14, 30), 6, "afternoon visit"],
            ["DEMO-203", dt.date(2026, 1, 19), 5, None],
        ],
        number_formats={2: "DD/MM/YYYY"},
    ),
    what="real Excel date cells (formatted day-first, one with a time)",
    rows=[
        ["DEMO-203", "2026-01-05", "leg_pain", "", 8.0, ""],
        ["DEMO-203", "2026-01-12", "leg_pain", "", 6.0, "afternoon visit"],
        ["DEMO-203", "2026-01-19", "leg_pain", "", 5.0, ""],
    ],
)

case(
    "percent_cells.xlsx",
    xlsx(
        [
            ["patient_id", "date", "adherence", "odi", "pain"],
            ["DEMO-204", "2026-01-05", 0.3, 0.345, 6],
            ["DEMO-204", "2026-01-12", 1, 0.2, 5],
        ],
        number_formats={3: "0%", 4: "0.0%"},
    ),
    what="percent-formatted Excel cells hold 0.3 for 30 %: read as the percentage typed",
    rows=[
        ["DEMO-204", "2026-01-05", "adherence", "", 30.0, ""],
        ["DEMO-204", "2026-01-05", "odi", "", 34.5, ""],
        ["DEMO-204", "2026-01-05", "pain", "", 6.0, ""],
        ["DEMO-204", "2026-01-12", "adherence", "", 100.0, ""],
        ["DEMO-204", "2026-01-12", "odi", "", 20.0, ""],
        ["DEMO-204", "2026-01-12", "pain", "", 5.0, ""],
    ],
)

# =========================================================================== rejected

case(
    "percent_pain.xlsx",
    xlsx(
        [["patient_id", "date", "pain"], ["DEMO-302", "2026-01-05", 0.7]], number_formats={3: "0%"}
    ),
    what="a pain score formatted as a percentage: the unit does not belong to the measure",
    reject=[{"row": 2, "column": "pain"}],
    word="'70%' is not a number",
)

case(
    "two_columns_same_measure.csv",
    csv_text("patient_id,date,Pain,pain (0-10)", "P320,2026-01-05,5,6"),
    what="two columns that both mean pain",
    reject=[{"row": 1, "column": "Pain"}, {"row": 1, "column": "pain (0-10)"}],
    word="both mean 'pain'",
)

case(
    "pain_11.csv",
    csv_text(LONG, "P300,2026-01-05,pain,,11,", "P300,2026-01-12,pain,,6,"),
    what="pain above 10",
    reject=[{"row": 2, "column": "value"}],
    word="outside the range",
)

case(
    "negative_slr.csv",
    csv_text("patient_id,date,SLR L,SLR R", "P301,2026-01-05,-5,70"),
    what="negative straight leg raise",
    reject=[{"row": 2, "column": "SLR L"}],
    word="outside the range",
)

case(
    "unknown_measure.csv",
    csv_text(LONG, "P302,2026-01-05,pian,,5,"),
    what="misspelt measure",
    reject=[{"row": 2, "column": "measure"}],
    word="Did you mean 'pain'?",
)

case(
    "unparseable_date.csv",
    csv_text(LONG, "P303,last tuesday,pain,,5,"),
    what="a date nobody can read",
    reject=[{"row": 2, "column": "date"}],
    word="not a date the kit can read",
)

case(
    "feb_30.csv",
    csv_text(LONG, "P304,2026-02-30,pain,,5,", "P304,30/02/2026,odi,,20,"),
    read={"dayfirst": True},
    what="30 February, ISO and day-first",
    reject=[{"row": 2, "column": "date"}, {"row": 3, "column": "date"}],
    word="not a real calendar date",
)

case(
    "future_date.csv",
    csv_text(LONG, "P305,2026-05-30,pain,,5,", "P305,2031-01-05,pain,,4,"),
    what="a visit after today (today=2026-06-01)",
    reject=[{"row": 3, "column": "date"}],
    word="in the future",
)

case(
    "ambiguous_date.csv",
    csv_text("patient_id,date,pain", "P306,03/04/2026,5", "P306,13/04/2026,4"),
    what="03/04/2026 without dayfirst: reported, not guessed (13/04 is unambiguous)",
    reject=[{"row": 2, "column": "date"}],
    word="could be day/month or month/day",
)

case(
    "missing_patient_id.csv",
    csv_text(LONG, ",2026-01-05,pain,,5,", "P307,2026-01-05,pain,,5,"),
    what="a row without a patient id",
    reject=[{"row": 2, "column": "patient_id"}],
    word="patient id is missing",
)

case(
    "side_on_unsided.csv",
    csv_text(LONG, f"P308,2026-01-05,pain,left,5,{SECRET}"),
    what="a side on a measure that has none",
    reject=[{"row": 2, "column": "side"}],
    word="has no sides",
    secret=SECRET,
)

case(
    "sided_without_side.csv",
    csv_text(LONG, "P309,2026-01-05,slr,,45,"),
    what="straight leg raise with no side",
    reject=[{"row": 2, "column": "side"}],
    word="measured per side",
)

case(
    "wide_slr_without_side.csv",
    csv_text("patient_id,date,SLR,pain", "P310,2026-01-05,45,3"),
    what="a wide column 'SLR' that does not say which leg",
    reject=[{"row": 1, "column": "SLR"}],
    word="measured per side",
)

case(
    "conflicting_duplicate.csv",
    csv_text(
        LONG,
        f"P311,2026-01-05,pain,,6,{SECRET}",
        "P311,2026-01-05,slr,left,40,",
        f"P311,2026-01-05,pain,,4,{SECRET}",
    ),
    what="two different values for the same patient, date, measure and side: both rows named",
    reject=[{"row": 2, "column": "value"}, {"row": 4, "column": "value"}],
    word="different value",
    secret=SECRET,
)

case("empty.csv", "", what="0 bytes", reject=[{}], word="empty")

case(
    "header_only.csv",
    csv_text(LONG),
    what="a header and nothing else",
    reject=[{}],
    word="no entries",
)

case(
    "not_a_log.pdf",
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    what="a PDF",
    reject=[{}],
    word="not a log file type",
)

case(
    "not_a_log.docx",
    "docx",
    what="a Word document (a zip, but not a workbook)",
    reject=[{}],
    word="cannot be opened",
)

case(
    "binary.csv",
    bytes(range(256)) * 4,
    what="binary bytes named .csv",
    reject=[{}],
    word="not text",
)

case(
    "old_excel.xls",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    what="legacy Excel 97 .xls",
    reject=[{}],
    word=".xls files are not supported",
)

case(
    "text_named_xlsx.xlsx",
    csv_text("patient_id,date,pain", "P312,2026-01-05,5"),
    what="a CSV saved with an .xlsx name",
    reject=[{}],
    word="not an Excel workbook",
)

case(
    "unknown_column.csv",
    csv_text("patient_id,date,pain,Bogus score,Notes", f"P313,2026-01-05,5,3,{SECRET}"),
    what="a column that is no measure",
    reject=[{"row": 1, "column": "Bogus score"}],
    word="not a known measure",
    secret=SECRET,
)

case(
    "rmdq_not_integer.csv",
    csv_text(LONG, "P314,2026-01-05,rmdq,,4.5,", "P314,2026-01-12,rmdq,,five,"),
    what="Roland-Morris is a count",
    reject=[{"row": 2, "column": "value"}, {"row": 3, "column": "value"}],
    word="not a whole number",
)

case(
    "unit_mismatch.csv",
    csv_text("patient_id,date,pain,slr_left,fingertip_floor", "P315,2026-01-05,45 cm,40 cm,12°"),
    what="units that do not belong to the measure",
    reject=[
        {"row": 2, "column": "pain"},
        {"row": 2, "column": "slr_left"},
        {"row": 2, "column": "fingertip_floor"},
    ],
    word="units must match the measure",
)

case(
    "ragged_row.csv",
    csv_text("patient_id,date,pain", "P316,2026-01-05,5", "P316,2026-01-12,4,3,2"),
    what="a row with more cells than the header",
    reject=[{"row": 3}],
    word="different number of columns",
)

case(
    "extra_cells_every_row.csv",
    csv_text("patient_id,date,pain", "P319,2026-01-05,5,3", "P319,2026-01-12,4,2"),
    what="every row has one cell more than the header names: reported, never shifted into the wrong columns",
    reject=[{"row": 1}],
    word="more cells than the header",
)

case(
    "thousands_in_decimal_comma.csv",
    csv_text("patient_id;date;adherence", "P317;2026-01-05;1.000,5"),
    what="a value no measure can have, in a decimal-comma file",
    reject=[{"row": 2, "column": "adherence"}],
    word="not a number",
)

case(
    "rejected.xlsx",
    xlsx(
        [
            ["patient_id", "date", "pain", "note"],
            ["DEMO-301", "2026-01-05", 12, SECRET],
            ["DEMO-301", None, 5, None],
            ["DEMO-301", "2026-01-19", 4, None],
        ]
    ),
    what="an Excel workbook with problems: rows are the sheet's row numbers",
    reject=[{"row": 2, "column": "pain"}, {"row": 3, "column": "date"}],
    word="outside the range",
    secret=SECRET,
)

case(
    "many_problems.csv",
    csv_text(
        LONG,
        f"P318,2026-01-05,pain,,11,{SECRET}",
        "P318,2026-02-30,odi,,20,",
        ",2026-01-05,pain,,5,",
        "P318,2026-01-05,pian,,5,",
        "P318,2026-01-05,slr,,45,",
        "P318,2026-01-05,pain,right,5,",
        "P318,2031-01-01,pain,,5,",
        "P318,2026-01-06,rmdq,,2.5,",
        "P318,2026-01-07,pain,,45 cm,",
        "P318,2026-01-08,slr,left,-1,",
    ),
    what="one problem on every row: all of them are listed",
    reject=[
        {"row": 2, "column": "value"},
        {"row": 3, "column": "date"},
        {"row": 4, "column": "patient_id"},
        {"row": 5, "column": "measure"},
        {"row": 6, "column": "side"},
        {"row": 7, "column": "side"},
        {"row": 8, "column": "date"},
        {"row": 9, "column": "value"},
        {"row": 10, "column": "value"},
        {"row": 11, "column": "value"},
    ],
    word="10 problem(s) found",
    secret=SECRET,
)


# =========================================================================== writing


def _docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in (
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", "<w:document/>"),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            z.writestr(info, text)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def manifest_text() -> str:
    out = [
        "# Generated by make_corpus.py (edit the script, not this file).",
        "# today = the date read_log is told is today, for every file.",
        f'today = "{TODAY}"',
        "",
    ]
    for c in CASES:
        out.append("[[file]]")
        out.append(f"name = {_toml_value(c['name'])}")
        out.append(f"what = {_toml_value(c['what'])}")
        if c["read"]:
            out.append(f"read = {_toml_value(c['read'])}")
        if c["rows"] is not None:
            out.append("rows = [")
            out += [f"  {_toml_value(r)}," for r in c["rows"]]
            out.append("]")
        else:
            out.append(f"reject = {_toml_value(c['reject'])}")
            out.append(f"word = {_toml_value(c['word'])}")
        if c["secret"]:
            out.append(f"secret = {_toml_value(c['secret'])}")
        out.append("")
    return "\n".join(out)


def build(folder: Path = HERE) -> list[Path]:
    """Write every corpus file and manifest.toml into ``folder``; return the file paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for c in CASES:
        path = folder / c["name"]
        content = c["content"]
        if callable(content):
            content(path)
        elif c["name"].endswith(".docx"):
            _docx(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
        written.append(path)
    (folder / "manifest.toml").write_text(manifest_text(), encoding="utf-8")
    return written


if __name__ == "__main__":
    files = build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"wrote {len(files)} log files and manifest.toml")
