"""The synthetic city: reproducible, traceable to its truth, faithful to the specs, defective at the
configured rates, and incremental on day 2 - the properties every other test of the platform leans on."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from core.errors import RunFailed
from pipelines.registry import FieldMap, SourceSpec, registry
from pipelines.synthetic import GenerateError, generate_city
from pipelines.synthetic.defects import ID_PLACEHOLDERS
from pipelines.synthetic.extracts import Ctx, build_extracts
from pipelines.synthetic.minting import rid15_strings, rid_body, rid_strings, unique_sequences
from pipelines.synthetic.profile import load_profile
from pipelines.synthetic.render import Renderer, name_tables
from pipelines.synthetic.world import World, rng_for
from standards.codetables import load_code_table
from standards.dictionary import dictionary

# -- reading what was written ---------------------------------------------------------------------------


def _sqlite_table(location: str) -> pa.Table:
    path, table = location.split("#")
    con = sqlite3.connect(path)
    try:
        cur = con.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    return (
        pa.table({n: pa.array([r[i] for r in rows]) for i, n in enumerate(names)})
        if rows
        else pa.table({n: pa.array([], pa.string()) for n in names})
    )


def _file_table(path: str, spec: SourceSpec, table: str) -> pa.Table:
    kind = spec.connection.kind
    cols = [f.column for f in spec.table(table).fields]
    if kind == "csv":
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=spec.connection.encoding),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in cols}, strings_can_be_null=True
            ),
        )
    if kind == "excel":
        ws = openpyxl.load_workbook(path, read_only=True).active
        rows = list(ws.iter_rows(values_only=True))
        return pa.table({h: pa.array([r[i] for r in rows[1:]]) for i, h in enumerate(rows[0])})
    lines = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]
    return pa.table({c: pa.array([r.get(c) for r in lines]) for c in cols})


def _native(entry: dict, day2: bool = False) -> pa.Table:
    spec = registry()[entry["source"]]
    loc = entry["day2_location"] if day2 else entry["location"]
    if entry["stored_as"] == "sqlite":
        return _sqlite_table(loc)
    return _file_table(loc, spec, entry["table"])


def _keys(table: pa.Table, pk: list[str]) -> list[str]:
    parts = [pc.cast(table.column(c), pa.string()).to_pylist() for c in pk]
    return ["|".join(p) for p in zip(*parts)]


def _truth(city: Path, entry: dict, day2: bool = False) -> pa.Table:
    suffix = "__day2" if day2 else ""
    return pq.read_table(city / "truth" / "records" / f"{entry['source']}__{entry['table']}{suffix}.parquet")


def _content_hash(out: Path) -> str:
    """Hash of everything generated, by content (SQLite rows, Excel cells, file and Parquet bytes)."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        h.update(str(p.relative_to(out)).encode())
        if p.suffix == ".sqlite":
            con = sqlite3.connect(p)
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
                for row in con.execute(f'SELECT * FROM "{t}" ORDER BY 1'):
                    h.update(repr(row).encode())
            con.close()
        elif p.suffix == ".xlsx":
            for row in openpyxl.load_workbook(p, read_only=True).active.iter_rows(values_only=True):
                h.update(repr(row).encode())
        elif p.name == "manifest.json":
            h.update(p.read_text(encoding="utf-8").replace(str(out), "<out>").encode())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


# -- tests ------------------------------------------------------------------------------------------------


def test_same_seed_same_city_other_seed_other_city(
    city: Path, city_args: tuple[int, int], tmp_path: Path
) -> None:
    persons, seed = city_args
    again = tmp_path / "b"
    generate_city(persons, seed, again, day2=True)
    assert _content_hash(again) == _content_hash(city)
    other = tmp_path / "c"
    generate_city(persons, seed + 1, other, day2=False, sources=["public_security"])
    a = pq.read_table(city / "truth" / "persons.parquet").column("id_number")
    b = pq.read_table(other / "truth" / "persons.parquet").column("id_number")
    assert not a.equals(b)


def test_every_table_written_and_traceable(city: Path, manifest: dict) -> None:
    specs = registry()
    assert {t["source"] for t in manifest["tables"]} == set(specs)
    assert len(manifest["tables"]) == sum(len(s.tables) for s in specs.values())
    for entry in manifest["tables"]:
        spec = specs[entry["source"]]
        table = spec.table(entry["table"])
        native = _native(entry)
        t1 = _truth(city, entry)
        keys1 = t1.column("record_key").to_pylist()
        assert entry["rows"] > 0, entry["table"]
        assert len(set(keys1)) == len(keys1) == entry["rows"]
        t2 = (
            _truth(city, entry, day2=True)
            if entry["day2_rows"] or spec.connection.kind in ("csv", "excel", "jsonl")
            else None
        )
        keys2 = t2.column("record_key").to_pylist() if t2 is not None else []
        native_keys = _keys(native, table.primary_key)
        assert len(set(native_keys)) == len(native_keys), f"{entry['table']}: duplicate record keys"
        if entry["stored_as"] == "sqlite":  # day-2 upserts land in the same table
            assert set(native_keys) == set(keys1) | set(keys2), entry["table"]
        else:  # file sources: day 1 and day 2 are separate files
            assert native_keys == keys1, entry["table"]
            if entry["day2_rows"]:
                assert _keys(_native(entry, day2=True), table.primary_key) == keys2
            else:  # nothing new on day 2: no file
                assert keys2 == [] and entry["day2_location"] is None
        feeds = set(table.feeds)
        if "person" in feeds and "entity" not in feeds:
            assert t1.column("true_person_id").null_count < t1.num_rows
        if "licence" in feeds:
            assert t1.column("true_licence_id").null_count < t1.num_rows


def _code_values(field: FieldMap) -> set[str] | None:
    elem = dictionary().element(field.element) if field.element else None
    if elem is None or not elem.code_table:
        return None
    t = load_code_table(elem.code_table)
    return set(t.column("code").to_pylist()) | set(t.column("name").to_pylist())


def test_rendered_values_round_trip_through_the_spec(city: Path, manifest: dict) -> None:
    specs = registry()
    profile = load_profile()
    for entry in manifest["tables"]:
        spec = specs[entry["source"]]
        table = spec.table(entry["table"])
        truth = _truth(city, entry)
        clean = np.asarray(truth.column("defects").combine_chunks().value_lengths()) == 0
        native = _native(entry).slice(0, truth.num_rows)  # day-2 upserts may follow in a DB table
        keys = _keys(native, table.primary_key)
        order = {k: i for i, k in enumerate(truth.column("record_key").to_pylist())}
        clean_rows = [i for i, k in enumerate(keys) if k in order and clean[order[k]]]
        for f in table.fields:
            values = native.column(f.column).to_pylist()
            vals = [values[i] for i in clean_rows if values[i] not in (None, "")]
            if f.codes:
                assert set(vals) <= set(f.codes), f"{entry['table']}.{f.column}: {set(vals) - set(f.codes)}"
            elif f.element and (known := _code_values(f)) is not None and f.element != "licence.type_code":
                label = profile.of(spec.source).label(f)
                allowed = known | (set(label.values()) if isinstance(label, dict) else set())
                assert set(map(str, vals)) <= allowed, f"{entry['table']}.{f.column}"
            if f.format and f.type == "varchar":
                for v in vals:
                    datetime.strptime(v, f.format)
            if f.type == "date" and entry["stored_as"] == "sqlite":
                for v in vals:
                    datetime.strptime(v, "%Y-%m-%d")
        # the main id column of a clean row is the true person's id
        id_field = next((f for f in table.fields if f.element in ("person.id_number",)), None)
        if id_field is not None:
            persons = pq.read_table(city / "truth" / "persons.parquet").column("id_number").to_pylist()
            pids = truth.column("true_person_id").to_pylist()
            values = native.column(id_field.column).to_pylist()
            for i in clean_rows:
                assert values[i] == persons[pids[order[keys[i]]]], f"{entry['table']} row {i}"


def test_placeholders_and_gbk_files(city: Path, manifest: dict) -> None:
    found = {"id": False, "name": False, "phone": False, "birth": False, "address": False}
    for entry in manifest["tables"]:
        defects = set(pc.list_flatten(_truth(city, entry).column("defects")).to_pylist())
        found["id"] |= "id_placeholder" in defects
        found["name"] |= "name_placeholder" in defects
        found["phone"] |= "phone_placeholder" in defects
        found["birth"] |= "birth_placeholder" in defects
        found["address"] |= "address_placeholder" in defects
    assert all(found.values()), found
    fw = [e for e in manifest["tables"] if e["table"] == "fwjl"][0]
    ids = set(_native(fw).column("zjhm").to_pylist())
    assert ids & set(ID_PLACEHOLDERS)
    specs = registry()
    gbk = [e for e in manifest["tables"] if specs[e["source"]].connection.encoding.lower() == "gbk"]
    assert gbk
    for entry in gbk:
        raw = Path(entry["location"]).read_bytes()
        text = raw.decode("gbk")  # strict: every byte sequence is GBK
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


def test_day2_has_only_newer_rows_and_new_files(city: Path, manifest: dict) -> None:
    specs = registry()
    assert manifest["day2"] == "2026-11-26"
    for entry in manifest["tables"]:
        spec = specs[entry["source"]]
        table = spec.table(entry["table"])
        t2 = _truth(city, entry, day2=True) if entry["day2_rows"] or entry["stored_as"] != "sqlite" else None
        if spec.connection.kind in ("csv", "excel", "jsonl"):
            assert table.path is not None
            day2_file = Path(entry["location"]).with_name(Path(table.path.replace("*", "20261126")).name)
            if not entry["day2_rows"]:  # nothing new: no file (an empty one would be refused)
                assert entry["day2_location"] is None and not day2_file.exists(), entry["table"]
                continue
            assert entry["day2_location"] == str(day2_file) and day2_file.exists()
            continue
        if t2 is None:
            continue
        native = _native(entry)
        keys = _keys(native, table.primary_key)
        inc = table.incremental
        if inc.kind == "timestamp":
            stamp = pc.cast(native.column(inc.column), pa.string()).to_pylist()
            newer = {k for k, s in zip(keys, stamp) if s and s >= "2026-11-26"}
            assert newer == set(t2.column("record_key").to_pylist()), entry["table"]
        elif inc.kind == "id":
            day1 = {int(k) for k in _truth(city, entry).column("record_key").to_pylist()}
            assert min(int(k) for k in t2.column("record_key").to_pylist()) > max(day1)
            assert set(t2.column("op").to_pylist()) == {"insert"}
        # a clean day-2 row shows its person's id as of day 2
        id_field = next((f for f in table.fields if f.element == "person.id_number"), None)
        if id_field is not None:
            ids = pq.read_table(city / "truth" / "day2" / "persons.parquet").column("id_number").to_pylist()
            written = dict(zip(keys, native.column(id_field.column).to_pylist()))
            for k, pid, d in zip(
                t2.column("record_key").to_pylist(),
                t2.column("true_person_id").to_pylist(),
                t2.column("defects").to_pylist(),
            ):
                if not d and pid is not None:
                    assert written[k] == ids[pid], (entry["table"], k)
    events = pq.read_table(city / "truth" / "day2" / "events.parquet")
    assert {"birth", "death", "move", "marriage", "entity_registered", "licence_issued"} <= set(
        events.column("event").to_pylist()
    )
    ps = pq.read_table(city / "truth" / "persons.parquet")
    ps2 = pq.read_table(city / "truth" / "day2" / "persons.parquet")
    assert ps2.num_rows > ps.num_rows


def test_defect_rates_match_the_profile_and_the_ids_themselves(world: World) -> None:
    """On one large rendered table: realised rates within 20 % of configured, and every id defect
    recorded in the truth is what an independent comparison of the written id with the true id finds."""
    profile = load_profile()
    prof = profile.of("grassroots_service")
    prof = replace(prof, coverage={**prof.coverage, "records_per_person": 40.0})
    spec = registry()["grassroots_service"]
    table = spec.tables[0]
    ex = build_extracts(Ctx(world, spec, prof, rng_for(1, "x"), day=profile.day1))["fwjl"]
    r = Renderer(world, spec, prof, rng_for(1, "y"), {}, name_tables(world, "utf-8")).render(table, ex)
    rows = r.native.num_rows
    assert rows > 80_000
    counts = r.log.counts()
    checked = 0
    for name, rate in prof.defects.items():
        expected = rate * rows
        if name not in r.log.eligible or expected < 300 or r.log.eligible[name] < 2 * expected:
            continue
        assert abs(counts.get(name, 0) - expected) <= 0.2 * expected, (name, counts.get(name, 0), expected)
        checked += 1
    assert checked >= 12
    # independent check of the id defects
    p = world.persons
    pid = r.truth.column("true_person_id").to_numpy()
    true = rid_strings(p.id_digits[pid])
    legacy = rid15_strings(p.id_digits[pid])
    old = rid_strings(p.old_id_digits[pid])
    written = r.native.column("zjhm").to_pylist()
    labels = r.truth.column("defects").to_pylist()
    agree = 0
    for s, t, l15, o, reissued, lab in zip(written, true, legacy, old, p.reissued[pid], labels):
        lab = {x for x in lab if x.startswith("id_")}
        if s in (None, ""):  # grassroots records write missing values as empty strings
            kind = "id_missing"
        elif s in ID_PLACEHOLDERS:
            kind = "id_placeholder"
        elif s == t:
            kind = None
        elif s == l15:
            kind = "id_15"
        elif s == t.replace("X", "x"):
            kind = "id_lower_x"
        elif s == "".join(chr(ord(c) + 0xFEE0) if c != "X" else "Ｘ" for c in t):
            kind = "id_fullwidth"
        elif s.replace(" ", "").replace("\u3000", "") == t:
            kind = "id_spaces"
        elif reissued and s == o:
            kind = "id_old"
        elif len(s) == 18 and sum(a != b for a, b in zip(s, t)) == 1:
            kind = "id_typo"
        elif len(s) == 18 and sorted(s) == sorted(t) and sum(a != b for a, b in zip(s, t)) == 2:
            kind = "id_transpose"
        else:
            kind = "other"
        assert lab == ({kind} if kind else set()), (s, t, lab)
        agree += 1
    assert agree == rows


def test_bad_arguments_and_unreachable_servers_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="persons"):
        generate_city(10, 1, tmp_path)
    with pytest.raises(GenerateError, match="target"):
        generate_city(1000, 1, tmp_path, target="cloud")
    with pytest.raises(GenerateError, match="127.0.0.1:1"):
        generate_city(
            1000,
            1,
            tmp_path,
            target="servers",
            pg_dsn="postgresql://postgres@127.0.0.1:1/postgres",
            sources=["hrss"],
        )


# -- real servers -------------------------------------------------------------------------------------------


def _servers_city(tmp_path: Path, sources: list[str]) -> tuple[dict, str]:
    prefix = f"test_synth_{uuid.uuid4().hex[:6]}_"
    generate_city(2000, 5, tmp_path / "srv", target="servers", sources=sources, database_prefix=prefix)
    return json.loads((tmp_path / "srv" / "manifest.json").read_text(encoding="utf-8")), prefix


def _expected_rows(tmp_path: Path, entry: dict) -> int:
    base = tmp_path / "srv" / "truth" / "records" / f"{entry['source']}__{entry['table']}"
    keys = set(pq.read_table(f"{base}.parquet").column("record_key").to_pylist())
    if entry["day2_rows"]:
        keys |= set(pq.read_table(f"{base}__day2.parquet").column("record_key").to_pylist())
    return len(keys)


@pytest.mark.postgres
def test_servers_target_postgres(tmp_path: Path) -> None:
    import psycopg

    manifest, prefix = _servers_city(tmp_path, ["hrss", "civil_affairs"])
    dbs = sorted({e["database"] for e in manifest["tables"]})
    try:
        assert all(db.startswith(prefix) for db in dbs)
        for e in manifest["tables"]:
            col = registry()[e["source"]].table(e["table"]).incremental.column
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{e['database']}") as con:
                [(n, newest)] = con.execute(f'SELECT count(*), max("{col}") FROM "{e["table"]}"').fetchall()
            assert n == _expected_rows(tmp_path, e)
            assert (str(newest) >= "2026-11-26") == (e["day2_rows"] > 0)
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            for db in dbs:
                con.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.mark.mariadb
def test_servers_target_mariadb(tmp_path: Path) -> None:
    import pymysql

    manifest, prefix = _servers_city(tmp_path, ["tobacco"])
    dbs = sorted({e["database"] for e in manifest["tables"]})
    con = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4", autocommit=True
    )
    try:
        with con.cursor() as cur:
            e = manifest["tables"][0]
            cur.execute(f"SELECT count(*), max(update_time), max(qymc) FROM `{e['database']}`.`lsxkz`")
            n, newest, name = cur.fetchone()
            assert n == _expected_rows(tmp_path, e)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in name)  # utf8mb4 round trip
    finally:
        with con.cursor() as cur:
            for db in dbs:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        con.close()


def test_resident_id_sequences_fill_a_crowded_day_and_say_when_it_overflows() -> None:
    """500 persons of one sex born on one day under one area code all get distinct ids of their sex's
    parity (also around ids already issued); the 501st is a one-line error, never a traceback."""
    rng = np.random.default_rng(3)
    day = np.datetime64("2026-11-25")
    sex = np.r_[np.full(500, 2), np.full(300, 1)]
    area, birth = np.full(sex.size, 341602), np.full(sex.size, day)
    seq = unique_sequences(rng, area, birth, sex)
    body = rid_body(area, birth, seq)
    assert np.unique(body).size == body.size and ((seq % 2 == 1) == (sex == 1)).all() and seq.max() <= 999
    issued = rid_body(area[:100], birth[:100], 2 * np.arange(100) + 1)  # a hundred men already numbered
    men = np.full(400, 1)
    again = rid_body(area[:400], birth[:400], unique_sequences(rng, area[:400], birth[:400], men, reserved=issued))
    assert np.unique(again).size == 400 and not np.isin(again, issued).any()
    with pytest.raises(RunFailed) as exc:
        unique_sequences(rng, np.full(501, 341602), np.full(501, day), np.full(501, 2))
    assert "\n" not in exc.value.one_line() and "501 persons" in exc.value.one_line()
