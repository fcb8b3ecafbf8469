"""Clinical safety, exhaustively: every condition subset x phase x findings subset (and populations), and red flags.

The rules checked here come straight from the catalogue records, independently of
how ``build_programme`` applies them, so a rule the builder forgets fails here:

* a blocking red flag always blocks: empty table, a referral at the most urgent tier
  (combinations included), naming whom to refer to; a flag that does not block
  (suspected inflammatory back pain) refers alongside the programme; the result
  never depends on tick order;
* what a condition, finding, population, phase or the directional-preference rule
  keeps out never reaches the table unless the clinician forces it in, and a forced
  row says so and what it overrides; at most one tensioner per nerve; never more
  rows than the size ceiling;
* every row has a reason and a dose source; numeric doses are a source figure;
* the handout always carries the safety note and the disclaimer (blocked programmes too).

The default run covers 2^9 condition subsets x 3 phases x the 6 allowed finding subsets
(both directional preferences at once are refused) = 9 216 unblocked combinations, and
each population over a sample.  The slow variants (``make soak``: SOAK=1, -m soak) add
every population over every combination, force every excluded exercise in every
combination and render every handout; without SOAK they run a sample.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

import sciatica_kit as sk
from helpers_reliability import SOAK, count, report
from sciatica_kit.catalog import DOSE_FIELDS
from sciatica_kit.export import handout_html
from sciatica_kit.programme import DEFAULT_MAX_EXERCISES, DISCLAIMER, SAFETY_NOTE

PHASES = ("acute", "subacute", "chronic")


@pytest.fixture(scope="module")
def cat():
    return sk.load_catalog()


def _subsets(items):
    items = list(items)
    return [tuple(c) for r in range(len(items) + 1) for c in itertools.combinations(items, r)]


def _finding_subsets(cat):
    """Finding subsets a clinician may tick: never both directional preferences."""
    prefs = {f for f, r in cat.records["findings"].items() if r["directional_preference"]}
    return [s for s in _subsets(cat.findings.index) if len(prefs & set(s)) < 2]


def _kept_out_by_rules(cat, conditions, phase, findings, population=()) -> dict[str, str]:
    """Exercises the catalogue keeps out for these inputs (id -> which rule), read from the records."""
    ex = cat.records["exercises"]
    out: dict[str, str] = {}
    for c in conditions:
        for item in cat.records["conditions"][c]["excludes"]:
            if not set(item.get("unless_findings", [])) & set(findings):
                out.setdefault(item["exercise"], f"condition {c}")
    prefs = set()
    for f in findings:
        rec = cat.records["findings"][f]
        prefs.add(rec["directional_preference"])
        for item in rec["excludes"]:
            out.setdefault(item["exercise"], f"finding {f}")
        banned = {item["category"] for item in rec["excludes_categories"]}
        nerves = {item["nerve"] for item in rec.get("excludes_tensioners", [])}
        for ex_id, e in ex.items():
            if e["category"] in banned:
                out.setdefault(ex_id, f"finding {f} (category {e['category']})")
            if e["nerve_tensioner"] in nerves:
                out.setdefault(ex_id, f"finding {f} ({e['nerve_tensioner']} tensioner)")
    for p in population:
        rec = cat.records["populations"][p]
        for item in rec["excludes"]:
            out.setdefault(item["exercise"], f"population {p}")
        for item in rec["excludes_where"]:
            for ex_id, e in ex.items():
                if e.get(item["field"]) == item["value"]:
                    out.setdefault(ex_id, f"population {p} ({item['field']})")
    for ex_id, e in ex.items():
        if phase not in e["phases"]:
            out.setdefault(ex_id, f"phase {phase}")
        if e["directional"] and e["direction"] not in prefs:
            out.setdefault(ex_id, "no assessed directional preference")
    return out


_ROW_COLUMNS = ("exercise_id", *DOSE_FIELDS, "dose", "reason", "dose_source", "stop_if", "indicated_by", "cautions")


def _rows(prog) -> list[dict]:
    """The table as plain dicts (pandas' row iteration is slow for 12 000 programmes)."""
    table = prog.table
    cols = {c: table[c].tolist() for c in _ROW_COLUMNS}
    return [dict(zip(_ROW_COLUMNS, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def _check_doses(cat, prog, *, rows=None):
    """Numeric doses are the lowest source figure (the only one for "up to"); NA where no source gives one."""
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
            expected = high if math.isnan(low) else low
            assert v == pytest.approx(expected), "the numeric dose is not the source's lowest figure: " + where


def _check_rows_explained(prog, *, rows=None):
    for row in rows if rows is not None else _rows(prog):
        for col in ("reason", "dose_source", "stop_if", "indicated_by", "dose"):
            assert isinstance(row[col], str) and row[col].strip(), f"{row['exercise_id']} has no {col} in {prog!r}"


def _check_nerve_load(cat, prog, *, rows, forced=()):
    ex = cat.records["exercises"]
    nerves = [ex[r["exercise_id"]]["nerve_tensioner"] for r in rows if r["exercise_id"] not in forced]
    nerves = [n for n in nerves if n]
    assert len(nerves) == len(set(nerves)), f"more than one tensioner for a nerve in {prog!r}"
    assert len(rows) <= prog.max_exercises, f"{prog!r} is over the size ceiling"


def _check_handout(prog):
    text = handout_html(prog, pictures=False)
    assert SAFETY_NOTE.replace("'", "&#x27;") in text, f"safety note missing from the handout of {prog!r}"
    assert DISCLAIMER.replace("'", "&#x27;") in text, f"disclaimer missing from the handout of {prog!r}"


SWEEP_SHARDS = 4  # the sweep in four parts, so that make test's workers share it


@pytest.mark.parametrize("shard", range(SWEEP_SHARDS))
def test_every_unblocked_combination_keeps_the_rules(cat, shard):
    """2^9 condition subsets x 3 phases x 2^3 findings subsets: exclusions win, doses in range."""
    _sweep_unblocked(cat, full=False, shard=shard)


@pytest.mark.soak
def test_soak_every_combination_with_every_override(cat):
    """Every combination, every excluded exercise forced in, every handout rendered (sampled without SOAK)."""
    _sweep_unblocked(cat, full=True, stride=1 if SOAK else 257)


def _sweep_unblocked(cat, *, full: bool, stride: int = 1, shard: int | None = None):
    """Every combination (every ``stride``-th), or with ``shard`` one of SWEEP_SHARDS interleaved parts."""
    conditions_all = list(cat.conditions.index)
    finding_sets = _finding_subsets(cat)
    assert len(conditions_all) == 9 and len(finding_sets) == 6
    populations = [()] + [(p,) for p in cat.populations.index]
    built = forced = 0
    forced_seen: set[tuple[str, str]] = set()
    empty_with_conditions = []
    for n, (conds, phase, finds) in enumerate(itertools.product(_subsets(conditions_all), PHASES, finding_sets)):
        if n % stride or (shard is not None and (n // 8) % SWEEP_SHARDS != shard):
            continue
        # every population in the full run; otherwise one population in turn on every 4th combination
        pops = populations if full else [populations[(n // 4) % len(populations)]] if n % 4 == 0 else [()]
        for pop in pops:
            kw = {"weeks_since_surgery": 6} if "after_spinal_surgery" in pop else {}
            prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), population=list(pop), catalog=cat,
                                      max_exercises=DEFAULT_MAX_EXERCISES, **kw)
            built += 1
            assert not prog.blocked and prog.referral is None
            rows = _rows(prog)
            in_table = {r["exercise_id"] for r in rows}
            assert len(in_table) == len(rows), f"an exercise appears twice in {prog!r}"
            kept_out = _kept_out_by_rules(cat, conds, phase, finds, pop)
            leaked = {e: kept_out[e] for e in in_table & set(kept_out)}
            assert not leaked, f"{conds} {phase} {finds} {pop}: kept-out exercises in the table: {leaked}"
            excluded = dict(zip(prog.excluded["exercise_id"], prog.excluded["reason"], strict=True))
            assert not in_table & set(excluded), f"{prog!r}: excluded exercises in the table"
            assert all(isinstance(r, str) and r.strip() for r in excluded.values()), "an exclusion without a reason"
            assert all("Kept out for size" in excluded[e] for e in prog.kept_out_for_size)
            _check_rows_explained(prog, rows=rows)
            _check_doses(cat, prog, rows=rows)
            _check_nerve_load(cat, prog, rows=rows)
            if conds and not rows:
                empty_with_conditions.append((conds, phase, finds))
            if full or n % 8 == 0:
                _check_handout(prog)
            # Force in what the rules kept out: once per (exercise, reason) by default, every time when full.
            for ex_id, why in excluded.items():
                if not full and (ex_id, why) in forced_seen:
                    continue
                forced_seen.add((ex_id, why))
                f_prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), population=list(pop),
                                            include={ex_id: "clinician judgement"}, catalog=cat,
                                            max_exercises=DEFAULT_MAX_EXERCISES, **kw)
                forced += 1
                f_rows = _rows(f_prog)
                row = next(r for r in f_rows if r["exercise_id"] == ex_id)
                if ex_id in prog.kept_out_for_size:  # kept out only for size: one click brings it back
                    assert "by the clinician: clinician judgement" in row["reason"], row["reason"]
                    assert len(f_rows) <= f_prog.max_exercises
                    continue
                assert "Forced in by the clinician: clinician judgement" in row["reason"], row["reason"]
                assert f"(overrides: {why})" in row["reason"], f"forced {ex_id}: the reason does not say what it overrides"
                assert "Clinician override" in row["cautions"]
                assert ex_id not in set(f_prog.excluded["exercise_id"])
                assert [o for o in f_prog.overrides if o["exercise_id"] == ex_id and o["action"] == "forced"]
                others = {r["exercise_id"] for r in f_rows} - {ex_id}
                assert not others & set(kept_out), "forcing one exercise let another kept-out one in"
                _check_rows_explained(f_prog, rows=f_rows)
                _check_doses(cat, f_prog, rows=f_rows)
                _check_nerve_load(cat, f_prog, rows=f_rows, forced={ex_id})
    count("programmes built (clinical safety)", built + forced)
    report("clinical safety" + (" (every override)" if full else ""), combinations=built, forced_overrides_checked=forced,
           empty_programmes_with_conditions=len(empty_with_conditions))
    every = range(0, 512 * 3 * 6, stride)
    assert built >= (len(every) if shard is None else sum((n // 8) % SWEEP_SHARDS == shard for n in every))


def test_empty_condition_list_gives_an_explained_programme_or_nothing(cat):
    """build_programme([]) is allowed: whatever it returns (phase-only exercises or nothing) is still safe."""
    for phase in PHASES:
        prog = sk.build_programme([], phase=phase, catalog=cat, max_exercises=DEFAULT_MAX_EXERCISES)
        assert not prog.blocked
        _check_rows_explained(prog)
        _check_doses(cat, prog)
        _check_handout(prog)


def _red_flag_options(cat):
    flags = list(cat.red_flags.index)
    return [(f,) for f in flags] + list(itertools.combinations(flags, 2))


def _expected_leads(cat, flags):
    """(tier, lead id) for ticked flags, read from the records: combinations count like flags."""
    recs = cat.records
    cands = [(f, recs["red_flags"][f]["urgency"], recs["red_flags"][f]["precedence"]) for f in flags]
    for cid, c in recs["combinations"].items():
        if set(c["all_of"]) <= set(flags) and (not c["any_of"] or set(c["any_of"]) & set(flags)):
            cands.append((cid, c["urgency"], c["precedence"]))
    lead = min(cands, key=lambda x: (cat.urgencies.index(x[1]), x[2], x[0]))
    return lead[1], lead[0]


def _check_referral(cat, prog, flags):
    ref = prog.referral
    blocks = any(cat.records["red_flags"][f]["blocks"] for f in flags)
    assert ref is not None and ref.urgency in cat.urgencies
    tier, lead = _expected_leads(cat, flags)
    assert (ref.urgency, ref.flags[0].id) == (tier, lead), f"{flags}: {ref.urgency}/{ref.flags[0].id}, expected {tier}/{lead}"
    assert ref.headline == cat.records["urgency_tiers"][tier]["headline"]
    assert "same day or within days" not in ref.text.lower()
    assert ref.refer_to and ref.refer_to in ref.text, "the referral text does not name whom to refer to"
    for f in flags:
        rec = cat.records["red_flags"][f]
        assert rec["refer_to"] in ref.text, f"{f}: '{rec['refer_to']}' missing from the referral text"
        assert rec["name"] in ref.text and rec["action"] in ref.text
    assert set(ref.red_flags) == set(flags)
    assert ref.blocking is blocks and prog.blocked is blocks
    html = handout_html(prog, pictures=False)
    assert SAFETY_NOTE.replace("'", "&#x27;") in html and DISCLAIMER.replace("'", "&#x27;") in html
    if blocks:
        assert prog.table.empty, f"red flags {flags}: the table is not empty"
        assert 'class="referral"' in html and 'class="exercise"' not in html
    else:
        assert 'class="exercise"' in html or prog.table.empty


def _check_blocked(cat, prog, flags):
    assert prog.blocked, f"red flags {flags} did not block {prog!r}"
    _check_referral(cat, prog, flags)


def test_a_red_flag_always_refers_at_the_most_urgent_tier(cat):
    """Every single red flag and every pair, across phases, findings and condition subsets (and forced includes)."""
    _sweep_red_flags(cat, full=False)


@pytest.mark.soak
def test_soak_red_flags_over_every_condition_subset(cat):
    _sweep_red_flags(cat, full=SOAK, sample=not SOAK)


def _sweep_red_flags(cat, *, full: bool, sample: bool = False):
    cond_subsets = _subsets(cat.conditions.index)
    find_subsets = _finding_subsets(cat)
    some_exercise = next(iter(cat.exercises.index))
    n = 0
    for k, flags in enumerate(_red_flag_options(cat)):
        combos = itertools.product(PHASES, find_subsets)
        for j, (phase, finds) in enumerate(combos):
            subsets = cond_subsets if full else [cond_subsets[(k * 37 + j * 11) % len(cond_subsets)]]
            if sample and (k + j) % 5:
                continue
            if not full and j % 3:
                continue
            for conds in subsets:
                prog = sk.build_programme(list(conds), phase=phase, findings=list(finds), red_flags=list(flags), catalog=cat)
                _check_referral(cat, prog, flags)
                forced = sk.build_programme(list(conds), phase=phase, findings=list(finds), red_flags=list(flags)[::-1],
                                            include=[some_exercise], catalog=cat)
                _check_referral(cat, forced, flags)
                assert forced.referral.text == prog.referral.text, "the referral depends on tick order"
                n += 2
    count("programmes built (clinical safety)", n)
    report("red flags" + (" (every condition subset)" if full else ""), referrals_checked=n)


def test_tick_order_never_changes_the_referral(cat):
    flags = list(cat.red_flags.index)
    base = sk.screening.screen(flags, catalog=cat)
    for shift in range(len(flags)):
        assert sk.screening.screen(flags[shift:] + flags[:shift], catalog=cat) == base
        assert sk.screening.screen((flags[shift:] + flags[:shift])[::-1], catalog=cat) == base


@pytest.mark.parametrize(("flags", "lead", "urgency"), [
    (["cancer_history", "progressive_neuro_deficit"], "mscc_suspected", "emergency"),
    (["cancer_history", "thoracic_pain"], "mscc_suspected", "emergency"),
    (["cancer_history", "cauda_equina"], "mscc_suspected", "emergency"),
    (["cancer_history"], "cancer_history", "urgent"),
    (["cancer_suspected", "progressive_neuro_deficit"], "progressive_neuro_deficit", "same_day"),
    (["major_trauma", "fracture_suspected"], "major_trauma", "emergency"),
    (["aaa_suspected"], "aaa_suspected", "emergency"),
    (["inflammatory_suspected", "cancer_suspected"], "cancer_suspected", "urgent"),
])
def test_combinations_and_new_flags_lead_as_data_says(cat, flags, lead, urgency):
    for order in (flags, flags[::-1]):
        ref = sk.screening.screen(order, catalog=cat)
        assert (ref.flags[0].id, ref.urgency) == (lead, urgency)
        assert len(ref.flags) >= len(flags)  # every ticked flag still listed with its own action
    if lead == "mscc_suspected":
        assert "MSCC" in ref.refer_to and "24 hours" in ref.text
        assert "NICE NG234" in ref.flags[0].sources[0]


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
            rng = cat.records["exercises"][ex_id]["doses"].get(name)
            if rng is not None and math.isinf(rng[1]):
                continue  # "at least N": any larger number is inside what the source says
            high = cat.exercises.at[ex_id, f"{name}_high"]
            value = 999 if pd.isna(high) else float(high) * 3 + 1
            value = round(value)
            edited = prog.set_dose(ex_id, **{name: value})
            row = edited.table.set_index("exercise_id").loc[ex_id]
            assert float(row[name]) == value
            assert "outside the source range" in row["cautions"], (ex_id, name)
            assert "Dose edited by the clinician" in row["reason"]


# --------------------------------------------------------------------------- doses as the sources give them

# Every figure the sources give for an exercise's dose (clinical-facts.md section 1), written out
# here independently of the catalogue, plus unit conversions of them (3 miles = 4.8 km).
SOURCE_FIGURES = {
    "seated_sciatic_nerve_glide": {15, 5},  # 15 reps, up to 5 times a day (seed 000)
    "supine_sciatic_nerve_glide": {20, 2, 3},  # 20 slow reps, 2-3 times a day (seed 002)
    "prone_press_up_on_forearms": {5, 10, 8},  # hold 5-10 s, 8-10 reps (seed 003)
    "floor_bridge": {5},  # hold 5 s (seed 003)
    "knee_to_chest_stretch": {20, 30, 3},  # 20-30 s, 3 times (seed 003)
    "sciatic_mobilising_stretch": {20, 30, 2, 3},  # 20-30 s, 2-3 times (seed 003)
    "supine_hamstring_stretch_strap": {15, 20, 2},  # 15-20 s, 2 times each leg (seed 004)
    "supine_glute_stretch": {15, 2},  # 15 s, 2 reps each side, at least 2 times a day (seed 004)
    "walking": {3, 4.8},  # build up to 3 miles (4.8 km) a day (seed 001)
}
_WORD_NUMBERS = {"once": 1, "twice": 2}


def _numbers(text: str) -> set[float]:
    import re

    found = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)}
    found |= {float(v) for w, v in _WORD_NUMBERS.items() if re.search(rf"\b{w}\b", text, re.I)}
    return found


def test_every_number_in_every_dose_text_is_a_source_figure(cat):
    """Every exercise in every phase: each number in the dose text is a source figure (or its conversion)."""
    checked = 0
    for ex_id in cat.exercises.index:
        for phase in PHASES:
            prog = sk.build_programme([], phase=phase, include={ex_id: "dose check"}, catalog=cat, max_exercises=8)
            (dose,) = prog.table.loc[prog.table["exercise_id"] == ex_id, "dose"]
            allowed = {float(v) for v in SOURCE_FIGURES.get(ex_id, ())}
            assert _numbers(dose) <= allowed, f"{ex_id} ({phase}): '{dose}' has a number no source gives"
            checked += 1
    assert checked == 3 * len(cat.exercises)
    doses = {e: sk.build_programme([], include=[e], catalog=cat).table["dose"].iloc[0] for e in SOURCE_FIGURES}
    assert doses["supine_hamstring_stretch_strap"] == "Hold 15\u201320 seconds, repeat 2 times each side"
    assert doses["seated_sciatic_nerve_glide"] == "Repeat 15 times, up to 5 times a day"
    assert doses["supine_glute_stretch"] == "Hold 15 seconds, repeat 2 times each side, at least twice a day"
    assert doses["supine_sciatic_nerve_glide"] == "Repeat 20 times, 2\u20133 times a day"
    assert doses["walking"] == "Build up to 4.8 km (3 miles), every day"


def test_a_clinicians_number_and_a_clinic_default_are_the_only_other_numbers(tmp_path):
    extra = tmp_path / "clinic.toml"
    extra.write_text(
        '[clinic]\nname = "Riverside Physiotherapy"\n\n'
        '[[dose_default]]\nexercise = "bird_dog"\nreps = [8, 8]\nsets = [2, 2]\n',
        encoding="utf-8",
    )
    clinic_cat = sk.load_catalog(extra=extra)
    prog = sk.build_programme(["axial_back_pain"], catalog=clinic_cat)
    bird = prog.table.set_index("exercise_id").loc["bird_dog"]
    assert bird["dose"] == "Repeat 8 times each side (clinic default), 2 sets (clinic default)"
    assert "clinic default (Riverside Physiotherapy)" in bird["dose_source"]
    assert int(bird["reps"]) == 8
    assert _numbers(bird["dose"]) == {8.0, 2.0}
    picked = prog.set_dose("bird_dog", reps=10).table.set_index("exercise_id").loc["bird_dog"]
    assert picked["dose"] == "Repeat 10 times each side, 2 sets (clinic default)"
    extra.write_text('[clinic]\nname = "Riverside"\n\n[[dose_default]]\nexercise = "walking"\ndistance_km = [5, 5]\n', encoding="utf-8")
    with pytest.raises(sk.CatalogError, match="the source already gives this dose"):
        sk.load_catalog(extra=extra)
    extra.write_text('[[dose_default]]\nexercise = "bird_dog"\nreps = [8, 8]\n', encoding="utf-8")
    with pytest.raises(sk.CatalogError, match=r"\[clinic\] name is missing"):
        sk.load_catalog(extra=extra)


# --------------------------------------------------------------------------- who reads what


def _clinician_texts(cat) -> set[str]:
    """Every clinician-facing text in the catalogue, read from the records and the typed models' markings."""
    from sciatica_kit.catalog_models import MODELS, text_fields

    out: set[str] = set()
    tables = {"condition": "conditions", "finding": "findings", "red_flag": "red_flags", "phase": "phases",
              "population": "populations", "source": "bibliography", "exercise": "exercises"}
    for key, table in tables.items():
        fields = text_fields(MODELS[key][1])
        for rec in cat.records[table].values():
            for name, audience in fields.items():
                if audience == "clinician" and isinstance(rec.get(name), str):
                    out.add(rec[name])
            for value in rec.values():
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict):
                            for k in ("why", "caution_if_lifted", "source"):
                                if isinstance(item.get(k), str):
                                    out.add(item[k])
                            if item.get("audience", "clinician") == "clinician" and isinstance(item.get("text"), str):
                                out.add(item["text"])
    for tier in cat.records["urgency_tiers"].values():
        out.add(tier["headline"])
    # names and short words can legitimately appear in patient text (an exercise's own name); keep sentences
    return {t for t in out if len(t) > 25}


def _handout_text(prog) -> str:
    import html as html_mod
    import re

    return html_mod.unescape(re.sub(r"<[^>]+>", " ", handout_html(prog, pictures=False)))


def test_clinician_wording_never_reaches_a_patient_handout(cat):
    """Every catalogue entry through the handout: conditions x findings x populations x phases, and every exercise forced in."""
    clinician = _clinician_texts(cat)
    assert len(clinician) > 50
    phrases = ("review before use", "assess", "femoral territory", "sciatica kit rule", "not covered by the kit",
               "screen not recorded", "dose guidance")
    pops = [()] + [(p,) for p in cat.populations.index]
    everything = list(cat.exercises.index)
    programmes = []
    for cond in cat.conditions.index:
        for finds in _finding_subsets(cat):
            for pop in pops:
                kw = {"weeks_since_surgery": 6} if "after_spinal_surgery" in pop else {}
                for phase in ("acute", "chronic"):
                    programmes.append(sk.build_programme([cond, "spondylolisthesis"], phase=phase, findings=list(finds),
                                                         population=list(pop), catalog=cat, max_exercises=30, **kw))
    for finds in _finding_subsets(cat):
        for pop in pops:
            kw = {"weeks_since_surgery": 6} if "after_spinal_surgery" in pop else {}
            programmes.append(sk.build_programme(list(cat.conditions.index), findings=list(finds), population=list(pop),
                                                 include=everything, start_back_risk="high", catalog=cat,
                                                 red_flags=["inflammatory_suspected"], **kw))
    seen_rows = set()
    for prog in programmes:
        text = _handout_text(prog)
        low = text.lower()
        leaks = [c for c in clinician if c in text]
        leaks += [n for n in prog.clinician_notes if n in text]
        leaks += [r for r in prog.excluded["reason"] if r in text]
        leaks += [p for p in phrases if p in low]
        assert not leaks, f"clinician wording on the handout of {prog!r}: {leaks[:3]}"
        seen_rows |= set(prog.table["exercise_id"])
    assert seen_rows == set(cat.exercises.index), "some exercise never reached a handout in this test"


def test_clinician_wording_never_reaches_the_pdf_handout(cat, tmp_path):
    """The PDF handout reads the same patient-facing columns: every exercise forced in, every population."""
    import re

    from pypdf import PdfReader

    clinician = {re.sub(r"\s+", " ", c) for c in _clinician_texts(cat)}
    for pop in [()] + [(p,) for p in cat.populations.index]:
        kw = {"weeks_since_surgery": 6} if "after_spinal_surgery" in pop else {}
        prog = sk.build_programme(list(cat.conditions.index), findings=["severe_nerve_damage", "extension_preference"],
                                  population=list(pop), include=list(cat.exercises.index), start_back_risk="high",
                                  red_flags=["inflammatory_suspected"], catalog=cat, **kw)
        path = prog.to_pdf(tmp_path / f"handout{len(pop)}{''.join(pop)}.pdf", pictures=False)
        text = re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in PdfReader(path).pages))
        assert "Bird dog" in text  # the extraction works
        leaks = [c for c in clinician if c in text] + [p for p in ("review before use", "femoral territory", "Sciatica Kit rule",
                                                                     "not covered by the kit", "screen not recorded") if p.lower() in text.lower()]
        assert not leaks, f"clinician wording in the PDF handout ({pop}): {leaks[:3]}"
