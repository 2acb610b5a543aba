"""The serving read model: a SQLite snapshot of one gold build, shaped for point lookups.

Why a snapshot: the gold file is a columnar DuckDB database - ideal for building and analysing, but a
point lookup in it scans a column (milliseconds at a million persons) and a DuckDB file cannot be
shared by several server processes that each hold it open.  The HTTP workers instead read a SQLite
file with B-tree indexes on every key they look up (microseconds), shared by all workers through the
page cache.  It is derived data, rebuilt from the gold file and never the other way round:

* the gold file is opened READ-ONLY (``ATTACH ... (READ_ONLY)``) and only while a snapshot is built;
* a snapshot is named after the gold file's identity (inode, mtime, size), so a new build - which
  replaces the gold file by an atomic rename - gets a new snapshot; :class:`Snapshots` notices the
  change, builds the new snapshot in the background (one process builds, under a lock; the others
  wait for the file) and swaps it in; until then the previous snapshot keeps serving;
* a snapshot is written to a temporary name and renamed when complete.

Tables: ``person`` / ``entity`` / ``licence`` (keys + the master row as JSON, lineage included),
``person_rec`` / ``entity_rec`` (every source record of a master, keyed by its record number: where
each golden value came from - source, table, update time - and the records a department attests
from), ``entity_fts`` (pinyin syllables of entity names, FTS5, for fuzzy search), ``meta``.

Built for millions of rows: every table is a rowid table filled by appends, its key indexes built
once the rows are in (SQLite sorts the keys alone) - never by random inserts into a B-tree of JSON
rows larger than SQLite's page cache, which made the build disk-bound at a million persons.  Rows
that are read together lie together: a master's records in master order, licences in holder order
(the gold tables' own order), so a request reads a page or two per lookup even from a cold file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from core.errors import RunFailed
from core.files import publish_file
from core.locks import exclusive
from core.sqltext import lit, q

INDEX_VERSION = "7"
BATCH = 50_000
#: an entity name's registration prefixes (province, city, county) and the long company suffix
ENTITY_PREFIX_RE = r"^(安徽省|安徽)?(亳州市|亳州)?(谯城区|涡阳县|蒙城县|利辛县)?"


class IndexError_(RunFailed):
    """The read model cannot be built or opened (one line)."""


def gold_fingerprint(path: Path) -> str:
    """Identity of one gold build: inode, modification time and size of the file."""
    st = os.stat(path)
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def snapshot_path(index_dir: Path, fingerprint: str) -> Path:
    return index_dir / f"gold-{fingerprint}.v{INDEX_VERSION}.sqlite"


# --------------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------------


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of ``gold.{table}`` in the table's order (the order a master row's JSON keeps)."""
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = 'gold' AND "
                       "schema_name = 'main' AND table_name = ? ORDER BY column_index", [table]).fetchall()
    return [r[0] for r in rows]


def _col(cols: list[str], name: str, cast: str = "VARCHAR") -> str:
    return f"CAST(t.{name} AS {cast})" if name in cols else f"CAST(NULL AS {cast})"


#: bookkeeping columns of the master tables the service never returns (``sources`` - which departments
#: hold records about someone - would itself disclose data, e.g. a disabled persons' federation record)
NOT_SERVED = ("sources", "first_seen", "last_seen", "record_count")


def _row_json(cols: list[str], drop: tuple[str, ...] = ()) -> str:
    """``to_json`` of each row of the master table ``t`` without the columns the service does not need.

    A ``struct_pack`` of the kept columns, not ``(SELECT to_json(s) FROM (SELECT t.* EXCLUDE ...))``:
    DuckDB turns that correlated subquery into a join over the whole table, so the result could not
    stream - 29.8 M licences at seed scale filled the spill disk, and 3 M rows of 600 bytes failed at a
    300 MB limit, where this streams in 450 MB of RSS."""
    kept = [c for c in cols if c not in (*NOT_SERVED, *drop)]
    return f"to_json(struct_pack({', '.join(f'{q(c)} := t.{q(c)}' for c in kept)}))"


def _copy(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection, select: str, insert: str) -> int:
    cur = con.execute(select)
    n = 0
    while True:
        rows = cur.fetchmany(BATCH)
        if not rows:
            return n
        lite.executemany(insert, rows)
        n += len(rows)


def entity_name_key(name: str | None) -> str | None:
    """An entity name as matched: traditional -> simplified, punctuation gone, registration prefix
    (安徽省亳州市谯城区...) dropped, 有限责任公司 written 有限公司."""
    import re

    from standards.text import normalise_name

    n = normalise_name(name)
    if not n:
        return None
    n = re.sub(ENTITY_PREFIX_RE, "", n.replace("有限责任公司", "有限公司"))
    return n or None


def syllables(text: str | None) -> list[str]:
    """Toneless pinyin of each character (homophones share it); ASCII letters/digits kept as is."""
    from standards.text import pinyin_char_table

    if not text:
        return []
    table = pinyin_char_table()
    return [py for ch in text if (py := table.get(ord(ch)))]


SNAPSHOT_SCHEMA = (
    "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 8192;"
    "PRAGMA cache_size = -200000; PRAGMA locking_mode = EXCLUSIVE;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sources (id INTEGER PRIMARY KEY, source TEXT, table_name TEXT);"
    "CREATE TABLE person (master_id TEXT, id_number TEXT, birth_date TEXT, name_norm TEXT, "
    "  name_py TEXT, spouse_id TEXT, guardian_id TEXT, household_no TEXT, data TEXT);"
    "CREATE TABLE entity (rowid INTEGER PRIMARY KEY, master_id TEXT UNIQUE, uscc TEXT, org_code TEXT, "
    "  reg_no TEXT, rep_id TEXT, rep_master TEXT, name_key TEXT, name_py TEXT, data TEXT);"
    "CREATE TABLE licence (master_id TEXT, identifier TEXT, holder TEXT, type_code TEXT, data TEXT);"
    "CREATE TABLE person_rec (record_no INTEGER, master_id TEXT, src INTEGER, record_key TEXT, at TEXT);"
    "CREATE TABLE entity_rec (record_no INTEGER, master_id TEXT, src INTEGER, record_key TEXT, at TEXT);"
    "CREATE VIRTUAL TABLE entity_fts USING fts5(py, content='', columnsize=0, detail=none);"
)
#: one index per column a request looks up (a missing one - ``spouse_id`` until this version - made
#: each such request scan the person table: a second per request at a million persons, which stalled
#: the serving benchmark's first requests)
SNAPSHOT_INDEXES = (
    "CREATE UNIQUE INDEX person_master ON person (master_id);"
    "CREATE UNIQUE INDEX licence_master ON licence (master_id);"
    "CREATE INDEX person_id ON person (id_number);"
    "CREATE INDEX person_birth ON person (birth_date);"
    "CREATE INDEX person_guardian ON person (guardian_id);"
    "CREATE INDEX person_spouse ON person (spouse_id);"
    "CREATE INDEX person_household ON person (household_no);"
    "CREATE INDEX person_rec_master ON person_rec (master_id);"
    "CREATE INDEX entity_rec_master ON entity_rec (master_id);"
    "CREATE UNIQUE INDEX person_rec_no ON person_rec (record_no);"
    "CREATE UNIQUE INDEX entity_rec_no ON entity_rec (record_no);"
    "CREATE INDEX entity_rep ON entity (rep_id);"
    "CREATE INDEX entity_rep_master ON entity (rep_master);"
    "CREATE INDEX entity_uscc ON entity (uscc);"
    "CREATE INDEX entity_org ON entity (org_code);"
    "CREATE INDEX entity_reg ON entity (reg_no);"
    "CREATE INDEX entity_py ON entity (name_py);"
    "CREATE INDEX licence_holder ON licence (holder, type_code);"
    "CREATE INDEX licence_ident ON licence (identifier);"
)


def _open_gold(gold: Path) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """An in-memory DuckDB with the gold file attached read-only, and the gold tables."""
    from core.db import connect
    from standards.text import install_text_macros

    con = connect(standard=False)  # bounded memory; only the text macros are needed here
    install_text_macros(con)
    try:
        con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
    except duckdb.Error as exc:
        con.close()
        raise IndexError_(f"cannot open the gold store {gold} read-only: {str(exc).splitlines()[0]}") from None
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'gold' "
                                        "AND schema_name = 'main'").fetchall()}
    missing = [t for t in ("person_master", "entity_master", "licence_master") if t not in tables]
    if missing:
        con.close()
        raise IndexError_(f"{gold}: not a complete gold store (no {', '.join(missing)}): run `masterdata build`")
    return con, tables


def _copy_persons(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection) -> int:
    """Persons with their search keys: the normalised name, its pinyin and the birth date searched on."""
    pc = _columns(con, "person_master")
    # the birth date searched on: the golden one, else the one the (validated) ID number embeds
    birth = (f"coalesce({_col(pc, 'birth_date')}, CASE WHEN length(t.id_number) = 18 THEN "
             f"strftime(try_strptime(substr(t.id_number, 7, 8), '%Y%m%d'), '%Y-%m-%d') END)"
             if "id_number" in pc else _col(pc, "birth_date"))
    # (the text macros expand textually: nesting them in one expression multiplies their size)
    con.execute("CREATE TEMP TABLE pname AS SELECT master_id, name_norm(name) AS nn FROM gold.person_master")
    con.execute("CREATE TEMP TABLE pkey AS SELECT master_id, nn, pinyin_key(nn) AS py FROM pname")
    return _copy(
        con, lite,
        f"SELECT t.master_id, {_col(pc, 'id_number')}, {birth}, k.nn, k.py, {_col(pc, 'spouse_id_number')}, "
        f"{_col(pc, 'guardian_id_number')}, {_col(pc, 'household_no')}, {_row_json(pc)} "
        f"FROM gold.person_master AS t JOIN pkey AS k ON k.master_id = t.master_id",
        "INSERT INTO person VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _copy_records(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection, master: str) -> int:
    """Every cross-referenced source record of ``master`` (record number, master, source number, record
    key, update time), in master order: where each golden value came from (by record number), and
    what a department's attestation about a master rests on (by master)."""
    xc = _columns(con, f"{master}_xref")
    at = ("coalesce(x.updated_at, x.extracted_at)" if "updated_at" in xc else "x.extracted_at")
    return _copy(
        con, lite,
        f"SELECT x.record_no, x.master_id, s.id, x.record_key, strftime({at}, '%Y-%m-%dT%H:%M:%S') "
        f"FROM gold.{master}_xref AS x JOIN src AS s ON s.source = x.source "
        f"AND s.table_name IS NOT DISTINCT FROM x.table_name "
        f"WHERE x.record_no IS NOT NULL AND x.master_id IS NOT NULL ORDER BY x.master_id",
        f"INSERT INTO {master}_rec VALUES (?, ?, ?, ?, ?)")


def _copy_entities(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection, tables: set[str]
                   ) -> tuple[int, list[str]]:
    """Entities with their name keys and the FTS index of their pinyin syllables; returns the count
    and the syllables so common (有限公司 you xian gong si) that they select half the library."""
    ec = _columns(con, "entity_master")
    rep_master = "t.legal_rep_master_id" if "legal_rep_master_id" in ec else (
        "(SELECT min(r.person_master_id) FROM gold.entity_legal_rep AS r WHERE r.entity_master_id = t.master_id)"
        if "entity_legal_rep" in tables else "CAST(NULL AS VARCHAR)")
    rows = con.execute(
        f"SELECT t.master_id, {_col(ec, 'uscc')}, {_col(ec, 'org_code')}, {_col(ec, 'reg_no')}, "
        f"{_col(ec, 'legal_rep_id_number')}, {rep_master}, t.name, {_row_json(ec)} "
        f"FROM gold.entity_master AS t ORDER BY t.master_id").fetchall()
    ents = []
    fts = []
    for i, (mid, uscc, org, reg, rep_id, rep_m, name, data) in enumerate(rows, start=1):
        key = entity_name_key(name)
        syl = syllables(key)
        ents.append((i, mid, uscc, org, reg, rep_id, rep_m, key, "".join(syl), data))
        fts.append((i, " ".join(syl)))
    lite.executemany("INSERT INTO entity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ents)
    lite.executemany("INSERT INTO entity_fts (rowid, py) VALUES (?, ?)", fts)
    df: dict[str, int] = {}
    for _i, s in fts:
        for tok in set(s.split()):
            df[tok] = df.get(tok, 0) + 1
    return len(ents), sorted(t for t, n in df.items() if n > max(50, len(fts) // 50))


def _copy_licences(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection) -> int:
    lc = _columns(con, "licence_master")
    return _copy(
        con, lite,
        f"SELECT t.master_id, {_col(lc, 'identifier')}, {_col(lc, 'holder_master_id')}, {_col(lc, 'type_code')}, "
        f"{_row_json(lc, ('lineage',))} FROM gold.licence_master AS t",
        "INSERT INTO licence VALUES (?, ?, ?, ?, ?)")


def _fill(con: duckdb.DuckDBPyConnection, lite: sqlite3.Connection, tables: set[str],
          say: Callable[[str], None]) -> tuple[dict[str, int], list[str]]:
    """Copy every table of the read model; returns the row counts and the common entity syllables."""
    lite.executescript(SNAPSHOT_SCHEMA)
    # sources of every cross-referenced record: one small table, referenced by number
    con.execute(
        "CREATE TEMP TABLE src AS SELECT row_number() OVER (ORDER BY source, table_name) AS id, source, table_name "
        "FROM (SELECT DISTINCT source, table_name FROM gold.person_xref UNION "
        "SELECT DISTINCT source, table_name FROM gold.entity_xref)"
    )
    _copy(con, lite, "SELECT id, source, table_name FROM src", "INSERT INTO sources VALUES (?, ?, ?)")
    counts: dict[str, int] = {}
    say("persons")
    counts["person"] = _copy_persons(con, lite)
    for m in ("person", "entity"):
        say(f"{m} records")
        counts[f"{m}_rec"] = _copy_records(con, lite, m)
    say("entities")
    counts["entity"], common = _copy_entities(con, lite, tables)
    say("licences")
    counts["licence"] = _copy_licences(con, lite)
    say("indexes")
    lite.executescript(SNAPSHOT_INDEXES)
    return counts, common


def build_snapshot(gold: Path, out: Path, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Build the read model of ``gold`` into ``out`` (atomically); returns row counts."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    if not gold.exists():
        raise IndexError_(f"no gold store at {gold}: run `masterdata build` first")
    fingerprint = gold_fingerprint(gold)  # of the version about to be opened (a newer one gets its own)
    con, tables = _open_gold(gold)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        lite = sqlite3.connect(tmp)
        counts, common = _fill(con, lite, tables, say)
        held = dict(con.execute("SELECT type_code, count(*) FROM gold.licence_master WHERE type_code IS NOT NULL "
                                "GROUP BY 1").fetchall())
        build = None
        if "builds" in tables:
            build = (con.execute("SELECT max(build_id) FROM gold.builds").fetchone() or (None,))[0]
        meta = {"gold": str(gold), "fingerprint": fingerprint, "build_id": build or "",
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "version": INDEX_VERSION,
                "common_syllables": json.dumps(common), "counts": json.dumps(counts),
                "licence_types": json.dumps(held)}
        lite.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        lite.commit()
        lite.execute("PRAGMA journal_mode = DELETE")
        lite.close()
        publish_file(tmp, out)
    finally:
        con.close()
        if tmp.exists():
            tmp.unlink()
    say(f"read model built in {time.perf_counter() - t0:.1f}s")
    return counts


def ensure_snapshot(gold: Path, index_dir: Path, progress: Callable[[str], None] | None = None,
                    keep: int = 2) -> Path:
    """The snapshot of the current gold file, built if missing (one builder at a time)."""
    if not gold.exists():
        raise IndexError_(f"no gold store at {gold}: run `masterdata build` first")
    with exclusive(index_dir / ".build.lock"):
        for stale in index_dir.glob(".gold-*.building"):  # left by a builder that was killed
            stale.unlink(missing_ok=True)
        fp = gold_fingerprint(gold)
        path = snapshot_path(index_dir, fp)
        if not path.exists():
            build_snapshot(gold, path, progress)
            # the gold file may have been replaced while we read it: the snapshot is still of
            # the version we opened, named by the fingerprint taken before; the next check catches up
        _prune(index_dir, keep, path)
        return path


def _prune(index_dir: Path, keep: int, current: Path) -> None:
    snaps = sorted(index_dir.glob("gold-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in snaps[keep:]:
        if p != current:
            try:
                p.unlink()  # workers that still have it open keep reading it (POSIX)
            except OSError:
                pass


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


@dataclass
class Row:
    master_id: str
    data: dict[str, Any]


def prefetch(path: Path) -> threading.Thread:
    """Read the snapshot into the page cache in the background (one sequential pass, the kernel's
    readahead): the first requests of a fresh server would otherwise each wait on random reads of a
    cold file of gigabytes, which at a million persons stalled the first seconds of serving.  Lookups
    are answered meanwhile; a file larger than free memory simply stays partly on disk."""
    def run() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)

    t = threading.Thread(target=run, name="read-model-prefetch", daemon=True)
    t.start()
    return t


class ReadModel:
    """Queries over one snapshot.  One instance per process/thread that uses it (SQLite connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        prefetch(path)
        self.con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self.con.execute("PRAGMA cache_size = -64000")
        self.con.execute("PRAGMA mmap_size = 1073741824")
        self.lock = threading.Lock()
        meta = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        self.meta = meta
        self.fingerprint = meta.get("fingerprint", "")
        self.build_id = meta.get("build_id", "")
        self.common = set(json.loads(meta.get("common_syllables") or "[]"))
        #: licences per type code in this build (a type with none: the library does not hold it yet)
        self.licence_types: dict[str, int] = json.loads(meta.get("licence_types") or "{}")
        self.sources = {i: (s, t) for i, s, t in self.con.execute("SELECT id, source, table_name FROM sources")}

    def close(self) -> None:
        self.con.close()

    def _one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self.lock:
            return self.con.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.con.execute(sql, args).fetchall()

    # persons -------------------------------------------------------------------------------------
    def person(self, *, id_number: str | None = None, master_id: str | None = None) -> Row | None:
        if master_id is not None:
            r = self._one("SELECT master_id, data FROM person WHERE master_id = ?", (master_id,))
        else:
            r = self._one("SELECT master_id, data FROM person WHERE id_number = ? ORDER BY master_id LIMIT 1",
                          (id_number,))
        return Row(r[0], json.loads(r[1])) if r else None

    def persons_where(self, column: str, value: str) -> list[Row]:
        """Persons whose ``spouse_id``, ``guardian_id`` or ``household_no`` is ``value`` (relations)."""
        if column not in ("spouse_id", "guardian_id", "household_no", "id_number"):
            raise ValueError(f"not a relation column: {column}")
        rows = self._all(f"SELECT master_id, data FROM person WHERE {column} = ? ORDER BY master_id", (value,))
        return [Row(r[0], json.loads(r[1])) for r in rows]

    def persons_born(self, birth_date: str) -> list[tuple[str, str | None, str | None, str]]:
        return self._all("SELECT master_id, name_norm, name_py, data FROM person WHERE birth_date = ?", (birth_date,))

    def person_ids(self) -> list[str]:
        """Master ids of every person with a valid ID number (the simulated applicants' pool)."""
        return [r[0] for r in self._all("SELECT master_id FROM person WHERE id_number IS NOT NULL")]

    def records(self, master: str, master_id: str) -> list[tuple[str, str | None, str | None, int | None, str | None]]:
        """(source, table, record key, record number, update time) of every source record of a person or
        entity master."""
        if master not in ("person", "entity"):
            raise ValueError(f"no source records of {master}")
        out = []
        for src, key, no, at in self._all(f"SELECT src, record_key, record_no, at FROM {master}_rec WHERE master_id = ? "
                                          f"ORDER BY src, record_key", (master_id,)):
            s, t = self.sources.get(src, (None, None))
            out.append((str(s), t, key, no, at))
        return out

    # entities ------------------------------------------------------------------------------------
    def represented_by(self, id_number: str) -> list[Row]:
        """Entities whose legal representative's ID number is ``id_number``."""
        return [r for (mid,) in self._all("SELECT master_id FROM entity WHERE rep_id = ? ORDER BY master_id",
                                          (id_number,)) if (r := self.entity(master_id=mid)) is not None]

    def represented_entity_ids(self) -> list[str]:
        """Master ids of entities whose legal representative is a population master."""
        return [r[0] for r in self._all("SELECT master_id FROM entity WHERE rep_master IS NOT NULL")]

    def entities_represented_by(self, person_master_id: str, id_number: str | None) -> list[Row]:
        """Entities whose legal representative is this person (by master id or ID number)."""
        rows = self._all("SELECT master_id, data FROM entity WHERE rep_master = ? OR rep_id = ? ORDER BY master_id "
                         "LIMIT 50", (person_master_id, id_number))
        return [Row(r[0], json.loads(r[1])) for r in rows]

    def entity(self, *, uscc: str | None = None, org_code: str | None = None, reg_no: str | None = None,
               master_id: str | None = None) -> Row | None:
        for col, v in (("master_id", master_id), ("uscc", uscc), ("org_code", org_code), ("reg_no", reg_no)):
            if v is not None:
                r = self._one(f"SELECT master_id, data, rep_master FROM entity WHERE {col} = ? ORDER BY master_id "
                              f"LIMIT 1", (v,))
                if r is None:
                    return None
                data = json.loads(r[1])
                data.setdefault("legal_rep_master_id", r[2])  # from entity_legal_rep when not a column
                return Row(r[0], data)
        return None

    def entity_candidates(self, tokens: list[str], limit: int = 200) -> list[tuple[str, str | None, str | None, str]]:
        """Entities sharing pinyin syllables with the query (rare syllables first), best BM25 first."""
        if not tokens:
            return []
        rare = [t for t in dict.fromkeys(tokens) if t not in self.common] or list(dict.fromkeys(tokens))
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in rare)
        return self._all(
            "SELECT e.master_id, e.name_key, e.name_py, e.data FROM entity_fts JOIN entity AS e "
            "ON e.rowid = entity_fts.rowid WHERE entity_fts MATCH ? ORDER BY bm25(entity_fts) LIMIT ?",
            (match, limit))

    # licences ------------------------------------------------------------------------------------
    def licences_of(self, holder_master_id: str, types: list[str] | None = None) -> list[dict[str, Any]]:
        if types:
            marks = ",".join("?" * len(types))
            rows = self._all(f"SELECT data FROM licence WHERE holder = ? AND type_code IN ({marks})",
                             (holder_master_id, *types))
        else:
            rows = self._all("SELECT data FROM licence WHERE holder = ?", (holder_master_id,))
        return [json.loads(r[0]) for r in rows]

    def licence(self, *, identifier: str | None = None, master_id: str | None = None) -> Row | None:
        if master_id is not None:
            r = self._one("SELECT master_id, data FROM licence WHERE master_id = ?", (master_id,))
        else:
            r = self._one("SELECT master_id, data FROM licence WHERE identifier = ? LIMIT 1", (identifier,))
        return Row(r[0], json.loads(r[1])) if r else None

    # lineage -------------------------------------------------------------------------------------
    def lineage(self, master: str, record_nos: set[int]) -> dict[int, tuple[str, str | None, str | None]]:
        """record number -> (source, table, update time) for a person's or entity's golden values."""
        if not record_nos:
            return {}
        nums = list(record_nos)
        rows = self._all(f"SELECT record_no, src, at FROM {master}_rec WHERE record_no IN "
                         f"({','.join('?' * len(nums))})", tuple(nums))
        out = {}
        for no, src, at in rows:
            s, t = self.sources.get(src, (None, None))
            out[no] = (s, t, at)
        return out


class Snapshots:
    """The current read model of a process; follows the gold file as new builds replace it."""

    def __init__(self, gold: Path, index_dir: Path, interval: float = 2.0) -> None:
        self.gold = gold
        self.index_dir = index_dir
        self.interval = interval
        self.current: ReadModel | None = None
        self._checked = 0.0
        self._building = False
        self._mu = threading.Lock()
        self.error: str | None = None

    def open(self, progress: Callable[[str], None] | None = None) -> ReadModel:
        path = ensure_snapshot(self.gold, self.index_dir, progress)
        self._swap(ReadModel(path))
        assert self.current is not None
        return self.current

    def _swap(self, model: ReadModel) -> None:
        self.current = model  # the old model is closed by the garbage collector once unused

    def get(self) -> ReadModel:
        """The read model to use now; starts a background refresh when the gold file changed."""
        now = time.monotonic()
        if self.current is None:
            return self.open()
        if now - self._checked >= self.interval:
            self._checked = now
            try:
                fp = gold_fingerprint(self.gold)
            except OSError:
                fp = self.current.fingerprint  # gold momentarily absent: keep serving
            if fp != self.current.fingerprint and not self._building:
                self._building = True
                threading.Thread(target=self._refresh, name="read-model-refresh", daemon=True).start()
        return self.current

    def _refresh(self) -> None:
        try:
            path = ensure_snapshot(self.gold, self.index_dir)
            if self.current is None or path != self.current.path:
                self._swap(ReadModel(path))
            self.error = None
        except Exception as exc:  # keep serving the previous snapshot; report on /health
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._building = False
