"""Clinical safety, exhaustively: every condition subset x phase x findings subset, and red flags.

The rules checked here come straight from the catalogue records, independently of
how ``build_programme`` applies them, so a rule the builder forgets fails here:

* a red flag always blocks: empty table, a referral at the right urgency, naming whom to refer to;
* what a condition, finding or phase keeps out never reaches the table unless the
  clinician forces it in, and a forced row says so and what it overrides;
* every row has a reason and a dose source; numeric doses stay inside the catalogued range;
* the handout always carries the safety note and the disclaimer (blocked programmes too).

The default run covers all 2^9 x 3 x 2^3 = 12 288 unblocked combinations.  The slow variants
(``make soak``: SOAK=1, -m soak) add the full product with every red-flag option, force every
excluded exercise in every combination and render every handout; without SOAK they run a sample.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

import sciatica_kit as sk
from helpers_reliability import SOAK, count, report
from sciatica_kit.catalog import DOSE_FIELDS, URGENCIES
from sciatica_kit.export import handout_html
from sciatica_kit.programme import DISCLAIMER, SAFETY_NOTE

PHASES = ("acute", "subacute", "chronic")


@pytest.fixture(scope="module")
def cat():
    return sk.load_catalog()


def _subsets(items):
    items = list(items)
    return [tuple(c) for r in range(len(items) + 1) for c in itertools.combinations(items, r)]


def _kept_out_by_rules(cat, conditions, phase, findings) -> dict[str, str]:
    """Exercises the catalogue keeps out for these inputs (id -> which rule), read from the records."""
    ex = cat.records["exercises"]
    out: dict[str, str] = {}
    for c in conditions:
        for item in cat.records["conditions"][c]["excludes"]:
            if not set(item.get("unless_findings", [])) & set(findings):
                out.setdefault(item["exercise"], f"condition {c}")
    for f in findings:
        rec = cat.records["findings"][f]
        for item in rec["excludes"]:
            out.setdefault(item["exercise"], f"finding {f}")
        banned = {item["category"] for item in rec["excludes_categories"]}
        for ex_id, e in ex.items():
            if e["category"] in banned:
                out.setdefault(ex_id, f"finding {f} (category {e['category']})")
    for ex_id, e in ex.items():
        if phase not in e["phases"]:
            out.setdefault(ex_id, f"phase {phase}")
    return out


_ROW_COLUMNS = ("exercise_id", *DOSE_FIELDS, "reason", "dose_source", "stop_if", "indicated_by", "cautions")


def _rows(prog) -> list[dict]:
    """The table as plain dicts (pandas' row iteration is slow for 12 000 programmes)."""
    table = prog.table
    cols = {c: table[c].tolist() for c in _ROW_COLUMNS}
    return [dict(zip(_ROW_COLUMNS, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def _check_doses(cat, prog, *, rows=None):
    doses = {ex_id: rec["doses"] for ex_id, rec in cat.records["exercises"].items()}
    for row in rows if rows is not None else _rows(prog):
        for name in DOSE_FIELDS:
            value = row[name]
            rng = doses[row["exercise_id"]].get(name)
            where = f"{row['exercise_id']}.{name}={value!r} (catalogued {rng}) in {prog!r}"
            if rng is None:
                assert pd.isna(value), "a dose was invented where no source gives one: " + where
                continue
            low, high = rng
            assert not pd.isna(value), "a catalogued dose went missing: " + where
            v = float(value)
            assert math.isfinite(v) and v > 0, where
            assert v <= high + 1e-9, "dose above the catalogued ceiling: " + where
            if not math.isnan(low):
                assert v >= low - 1e-9, "dose below the catalogued range: " + where


def _check_rows_explained(prog, *, rows=None):
    for row in rows if rows is not None else _rows(prog):
        for col in ("reason", "dose_source", "stop_if", "indicated_by"):
            assert isinstance(row[col], str) and row[col].strip(), f"{row['exercise_id']} has no {col} in {prog!r}"


def _check_handout(prog):
    text = handout_html(prog, pictures=False)
    assert SAFETY_NOTE.replace("'", "&#x27;") in text, f"safety note missing from the handout of {prog!r}"
    assert DISCLAIMER.replace("'", "&#x27;") in text, f"disclaimer missing from the handout of {prog!r}"


def test_every_unblocked_combination_keeps_the_rules(cat):
    """2^9 condition subsets x 3 phases x 2^3 findings subsets: exclusions win, doses in range."""
    _sweep_unblocked(cat, full=False)


@pytest.mark.soak
def test_soak_every_combination_with_every_override(cat):
    """Every combination, every excluded exercise forced in, every handout rendered (sampled without SOAK)."""
    _sweep_unblocked(cat, full=True, stride=1 if SOAK else 257)


def _sweep_unblocked(cat, *, full: bool, stride: int = 1):
    conditions_all = list(cat.conditions.index)
    findings_all = list(cat.findings.index)
    assert len(conditions_all) == 9 and len(findings_all) == 3
    built = forced = 0
    forced_seen: set[tuple[str, str]] = set()
    empty_with_conditions = []
    for n, (conds, phase, finds) in enumerate(itertools.product(_subsets(conditions_all), PHASES, _subsets(findings_all))):
        if n % stride:
            continue
        prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), catalog=cat)
        built += 1
        assert not prog.blocked and prog.referral is None
        rows = _rows(prog)
        in_table = {r["exercise_id"] for r in rows}
        assert len(in_table) == len(rows), f"an exercise appears twice in {prog!r}"
        kept_out = _kept_out_by_rules(cat, conds, phase, finds)
        leaked = {e: kept_out[e] for e in in_table & set(kept_out)}
        assert not leaked, f"{conds} {phase} {finds}: kept-out exercises in the table: {leaked}"
        excluded = dict(zip(prog.excluded["exercise_id"], prog.excluded["reason"], strict=True))
        assert not in_table & set(excluded), f"{prog!r}: excluded exercises in the table"
        assert all(isinstance(r, str) and r.strip() for r in excluded.values()), "an exclusion without a reason"
        _check_rows_explained(prog, rows=rows)
        _check_doses(cat, prog, rows=rows)
        if conds and not rows:
            empty_with_conditions.append((conds, phase, finds))
        if full or n % 8 == 0:
            _check_handout(prog)
        # Force in what the rules kept out: once per (exercise, reason) by default, every time when full.
        for ex_id, why in excluded.items():
            if not full and (ex_id, why) in forced_seen:
                continue
            forced_seen.add((ex_id, why))
            f_prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), include={ex_id: "clinician judgement"}, catalog=cat)
            forced += 1
            f_rows = _rows(f_prog)
            row = next(r for r in f_rows if r["exercise_id"] == ex_id)
            assert "Forced in by the clinician: clinician judgement" in row["reason"], row["reason"]
            assert f"(overrides: {why})" in row["reason"], f"forced {ex_id}: the reason does not say what it overrides"
            assert "Clinician override" in row["cautions"]
            assert ex_id not in set(f_prog.excluded["exercise_id"])
            assert [o for o in f_prog.overrides if o["exercise_id"] == ex_id and o["action"] == "forced"]
            others = {r["exercise_id"] for r in f_rows} - {ex_id}
            assert not others & set(kept_out), "forcing one exercise let another kept-out one in"
            _check_rows_explained(f_prog, rows=f_rows)
            _check_doses(cat, f_prog, rows=f_rows)
    count("programmes built (clinical safety)", built + forced)
    report("clinical safety" + (" (every override)" if full else ""), combinations=built, forced_overrides_checked=forced,
           empty_programmes_with_conditions=len(empty_with_conditions))
    assert built == len(range(0, 512 * 3 * 8, stride))


def test_empty_condition_list_gives_an_explained_programme_or_nothing(cat):
    """build_programme([]) is allowed: whatever it returns (phase-only exercises or nothing) is still safe."""
    for phase in PHASES:
        prog = sk.build_programme([], phase=phase, catalog=cat)
        assert not prog.blocked
        _check_rows_explained(prog)
        _check_doses(cat, prog)
        _check_handout(prog)


def _red_flag_options(cat):
    flags = list(cat.red_flags.index)
    return [(f,) for f in flags] + list(itertools.combinations(flags, 2))


def _check_blocked(cat, prog, flags):
    assert prog.blocked, f"red flags {flags} did not block {prog!r}"
    assert prog.table.empty, f"red flags {flags}: the table is not empty"
    ref = prog.referral
    assert ref is not None and ref.urgency in URGENCIES
    expected = min((cat.records["red_flags"][f]["urgency"] for f in flags), key=URGENCIES.index)
    assert ref.urgency == expected, f"{flags}: urgency {ref.urgency}, expected {expected}"
    assert ref.refer_to and ref.refer_to in ref.text, "the referral text does not name whom to refer to"
    for f in flags:
        rec = cat.records["red_flags"][f]
        assert rec["refer_to"] in ref.text, f"{f}: '{rec['refer_to']}' missing from the referral text"
        assert rec["name"] in ref.text
    assert set(ref.red_flags) == set(flags)
    html = handout_html(prog, pictures=False)
    assert SAFETY_NOTE.replace("'", "&#x27;") in html and DISCLAIMER.replace("'", "&#x27;") in html
    assert 'class="referral"' in html and 'class="exercise"' not in html


def test_a_red_flag_always_blocks(cat):
    """Every single red flag and every pair, across phases, findings and condition subsets (and forced includes)."""
    _sweep_red_flags(cat, full=False)


@pytest.mark.soak
def test_soak_red_flags_over_every_condition_subset(cat):
    _sweep_red_flags(cat, full=SOAK, sample=not SOAK)


def _sweep_red_flags(cat, *, full: bool, sample: bool = False):
    cond_subsets = _subsets(cat.conditions.index)
    find_subsets = _subsets(cat.findings.index)
    some_exercise = next(iter(cat.exercises.index))
    n = 0
    for k, flags in enumerate(_red_flag_options(cat)):
        combos = itertools.product(PHASES, find_subsets)
        for j, (phase, finds) in enumerate(combos):
            subsets = cond_subsets if full else [cond_subsets[(k * 37 + j * 11) % len(cond_subsets)]]
            if sample and (k + j) % 5:
                continue
            for conds in subsets:
                prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), red_flags=list(flags), catalog=cat)
                _check_blocked(cat, prog, flags)
                forced = sk.build_programme(list(conds), phase=phase, findings=list(finds), red_flags=list(flags),
                                            include=[some_exercise], catalog=cat)
                _check_blocked(cat, forced, flags)
                n += 2
    count("programmes built (clinical safety)", n)
    report("red flags" + (" (every condition subset)" if full else ""), blocked_programmes_checked=n)


def test_red_flag_blocks_after_editing_methods(cat):
    """add / set_dose / remove rebuild the programme: the red flag keeps blocking."""
    prog = sk.build_programme(["sciatica"], red_flags=["cauda_equina"], catalog=cat)
    for edited in (prog.add("walking", "patient asked"), prog.set_dose("walking", days_per_week=5), prog.remove("walking")):
        _check_blocked(cat, edited, ("cauda_equina",))


@pytest.mark.slow
def test_clinician_dose_edits_outside_the_range_are_flagged(cat):
    """A dose the clinician sets outside the catalogued range is kept but carries a caution."""
    prog = sk.build_programme(["sciatica", "herniated_disc", "piriformis_syndrome"], catalog=cat)
    for ex_id in prog.table["exercise_id"]:
        for name in DOSE_FIELDS:
            high = cat.exercises.at[ex_id, f"{name}_high"]
            value = 999 if pd.isna(high) else float(high) * 3 + 1
            value = round(value)
            edited = prog.set_dose(ex_id, **{name: value})
            row = edited.table.set_index("exercise_id").loc[ex_id]
            assert float(row[name]) == value
            assert "outside the source range" in row["cautions"], (ex_id, name)
            assert "Dose edited by the clinician" in row["reason"]
