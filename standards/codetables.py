"""Code tables of the unified data standard, kept as reviewed CSV files in ``standards/codes/``.

Why CSV and not Python literals: the tables are reference data owned by the standard's editors, get
diffed in review and are read by DuckDB, pandas and humans alike. Every file is validated strictly on
load, and a broken file fails with ONE line naming the file, the line and the problem, because these
files are hand-edited and the pipeline must stop before a bad code reaches the base libraries.

Public API: :data:`TABLES`, :func:`load_code_table`, :func:`code_map`, :func:`register_code_tables`,
:func:`validate_all_tables`, :func:`read_code_csv`, :func:`department_keys`, :func:`check_department`,
:func:`with_halfwidth_keys`,
:class:`CodeTableError`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from core.errors import ConfigurationError, InputError
from standards.width import to_halfwidth

CODES_DIR = Path(__file__).resolve().parent / "codes"


class CodeTableError(ConfigurationError):
    """A code table file is malformed; the message is one line: ``file:line: problem``."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        # ``what`` rather than ``problem``: MasterdataError.problem() renders the API's problem+json
        self.what = " ".join(str(problem).split())  # force a single line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {self.what}")


@dataclass(frozen=True)
class TableSpec:
    """What a code table file must look like.

    ``key`` columns together identify a row (normally just ``code``); ``lookup`` columns are values
    that :func:`code_map` accepts in place of the code and therefore must be unique across the table;
    ``aliases`` (pipe-separated) likewise map to the code. ``exact`` forbids columns beyond
    ``columns`` - a typo in a header must not silently create a new, ignored column.
    """

    columns: tuple[str, ...]
    key: tuple[str, ...] = ("code",)
    lookup: tuple[str, ...] = ("name",)
    exact: bool = True

    @property
    def has_aliases(self) -> bool:
        """Whether the table carries an ``aliases`` column."""
        return "aliases" in self.columns


_CNA = ("code", "name", "aliases")

#: Tables this module knows the schema of. Other CSVs in ``codes/`` are still loaded (see
#: :data:`TABLES`) with a lenient generic spec so colleagues can add tables without editing this file.
SPECS: dict[str, TableSpec] = {
    # Division names repeat (市辖区, 鼓楼区...), so only the code itself is a lookup value.
    "gb2260": TableSpec(("code", "name", "level", "parent_code", "valid_from", "valid_to"), lookup=()),
    "gb2261_sex": TableSpec(_CNA),
    "gb3304_ethnicity": TableSpec(_CNA),
    "gb2261_2_marital": TableSpec(_CNA),
    "uscc_authority": TableSpec(("code", "name")),
    # Category codes are only unique within an authority and "其他" repeats, hence the composite key.
    "uscc_category": TableSpec(("authority", "code", "name"), key=("authority", "code"), lookup=()),
    "entity_types": TableSpec(("code", "name", "uscc_authority", "uscc_category", "holder_note")),
    "departments": TableSpec(("code", "key", "name", "name_en", "uscc"), lookup=("key", "name", "uscc")),
    "licence_types": TableSpec(("code", "name", "holder_kind", "department", "validity_years", "category", "implies")),
    # one service is listed by several halls under the same name: names are not lookups
    "service_items": TableSpec(("code", "name", "power_class", "department", "target", "hall", "level", "service",
                                "action", "licence_type", "applies_if", "event"), lookup=()),
    "service_item_materials": TableSpec(("code", "item", "material", "channel", "licence_types", "evidence",
                                         "department", "about", "condition"), lookup=()),
    "service_item_forms": TableSpec(("code", "fields"), lookup=()),
    # entities_of: the department whose registrations in the hall's area go to this hall, not the county's
    "halls": TableSpec(("code", "key", "name", "area", "level", "entities_of", "serves"), lookup=("key", "name")),
    "evidence_kinds": TableSpec(("code", "name", "master", "sources", "elements", "requires", "attests")),
    "material_conditions": TableSpec(("code", "name", "master", "element", "op", "value")),
    "material_relations": TableSpec(("code", "name", "master", "recorded_by"), lookup=()),
}

_GENERIC = TableSpec(("code",), lookup=(), exact=False)


def _discover_tables() -> tuple[str, ...]:
    extra = sorted(p.stem for p in CODES_DIR.glob("*.csv") if p.stem not in SPECS)
    return tuple(SPECS) + tuple(extra)


#: Every code table name (file stem in ``standards/codes``): the known ones first, then any others.
TABLES: tuple[str, ...] = _discover_tables()


def spec_for(name: str, header: list[str] | None = None) -> TableSpec:
    """The spec of a known table, or a generic one (code required, lookup name/aliases if present)."""
    if name in SPECS:
        return SPECS[name]
    if header is None:
        return _GENERIC
    lookup = ("name",) if "name" in header else ()
    return TableSpec(tuple(header), lookup=lookup, exact=False)


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CodeTableError(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")  # tolerate a BOM written by spreadsheet software


def _parse(path: Path, name: str) -> tuple[TableSpec, list[str], list[tuple[int, list[str]]]]:
    """Read and structurally validate a file; returns spec, header and (line number, values) rows."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CodeTableError(path, None, f"code table {name!r} not found") from None
    reader = csv.reader(io.StringIO(_decode(path, raw), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CodeTableError(path, 1, "empty file, expected a header line") from None
    spec = spec_for(name, header)
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise CodeTableError(path, 1, f"missing required column(s) {', '.join(missing)}")
    if spec.exact:
        unknown = [c for c in header if c not in spec.columns]
        if unknown:
            raise CodeTableError(
                path, 1, f"unknown column(s) {', '.join(unknown)}; expected {','.join(spec.columns)}"
            )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise CodeTableError(path, 1, f"duplicate column(s) {', '.join(dupes)}")

    rows: list[tuple[int, list[str]]] = []
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            raise CodeTableError(path, start, f"expected {len(header)} fields, found {len(values)}")
        rows.append((start, [v.strip() for v in values]))
    return spec, header, rows


def _check_rows(
    path: Path, spec: TableSpec, header: list[str], rows: list[tuple[int, list[str]]]
) -> dict[str, str]:
    """Check keys and lookups; returns the lookup map (value -> code) for :func:`code_map`."""
    idx = {c: header.index(c) for c in header}
    seen_keys: dict[tuple[str, ...], int] = {}
    lookup: dict[str, tuple[str, int]] = {}

    def add(value: str, code: str, line: int, what: str) -> None:
        if not value:
            return
        prev = lookup.get(value)
        if prev is not None and prev[0] != code:
            raise CodeTableError(
                path,
                line,
                f"{what} {value!r} maps to code {code!r} but line {prev[1]} maps it to {prev[0]!r}",
            )
        lookup.setdefault(value, (code, line))

    for line, values in rows:
        key = tuple(values[idx[k]] for k in spec.key)
        for k, v in zip(spec.key, key, strict=True):
            if not v:
                raise CodeTableError(path, line, f"empty {k}")
        if key in seen_keys:
            raise CodeTableError(
                path, line, f"duplicate code {'/'.join(key)!r} (first defined on line {seen_keys[key]})"
            )
        seen_keys[key] = line
        code = "".join(key)
        add(code, code, line, "code")
    # Lookups go second so a name/alias colliding with another row's code is reported as such.
    for line, values in rows:
        code = "".join(values[idx[k]] for k in spec.key)
        for col in spec.lookup:
            add(values[idx[col]], code, line, col)
        if spec.has_aliases:
            for alias in values[idx["aliases"]].split("|"):
                add(alias.strip(), code, line, "alias")
    return {value: code for value, (code, _) in lookup.items()}


def read_code_csv(path: Path | str, name: str | None = None) -> pa.Table:
    """Validate and read one code table file as an all-string Arrow table (empty cells -> null).

    ``name`` selects the spec (defaults to the file stem) so a copy of a table anywhere on disk can be
    checked, e.g. by tests or by an editor before committing.
    """
    path = Path(path)
    name = name or path.stem
    spec, header, rows = _parse(path, name)
    _check_rows(path, spec, header, rows)
    columns = {
        col: pa.array([v[i] or None for _, v in rows], type=pa.string()) for i, col in enumerate(header)
    }
    return pa.table(columns)


@cache
def _load(name: str, codes_dir: str) -> pa.Table:
    return read_code_csv(Path(codes_dir) / f"{name}.csv", name)


def load_code_table(name: str, codes_dir: Path | str | None = None) -> pa.Table:
    """Load ``standards/codes/{name}.csv`` (validated, cached) as an all-string Arrow table."""
    return _load(name, str(codes_dir or CODES_DIR))


def department_keys() -> frozenset[str]:
    """The keys of the 32 departments (``departments.csv``), which grants, specs and accounts name."""
    return frozenset(load_code_table("departments").column("key").to_pylist())


def check_department(key: str | None, what: str = "--department") -> None:
    """Refuse a department key that is not one of the 32 (``None`` is no key and passes).

    One line naming ``what`` carried the key, the key, and the keys there are: a mistyped key on the
    command line (an account's or an API key's department) is caught before anything is written.
    """
    if key is not None and key not in (known := department_keys()):
        raise InputError(f"{what} {key!r} is not a department key; known: {', '.join(sorted(known))}")


@cache
def code_names(name: str, key: str = "code") -> dict[str, str]:
    """``key`` -> display name of a standard table: 女 for sex 2, 亳州市民政局 for the department
    ``civil_affairs`` (``key="key"``); empty when the table has no such columns. What a person
    reads instead of a code or a slug, the same on every page, report and command."""
    tbl = load_code_table(name)
    if key not in tbl.column_names or "name" not in tbl.column_names:
        return {}
    return {str(k): str(v or "") for k, v in zip(tbl.column(key).to_pylist(), tbl.column("name").to_pylist())}


def department_name(key: str | None) -> str:
    """``亳州市民政局`` for ``civil_affairs`` (the key itself when it names no department)."""
    return code_names("departments", "key").get(key or "", key or "")


@cache
def _code_map(name: str, codes_dir: str) -> dict[str, str]:
    path = Path(codes_dir) / f"{name}.csv"
    spec, header, rows = _parse(path, name)
    return _check_rows(path, spec, header, rows)


def code_map(name: str, codes_dir: Path | str | None = None) -> dict[str, str]:
    """Map every code, lookup value (name, ...) and alias of a table to its standard code.

    This is what turns departmental free values (``男``, ``M``, ``崩龙族``, ``1``) into standard
    codes. Values are matched exactly; callers normalise (trim, half-width) first. For tables with a
    composite key (``uscc_category``) the code is the concatenation, e.g. ``91``. Returns a fresh copy
    so callers may extend it with a source-specific map without corrupting the cache.
    """
    return dict(_code_map(name, str(codes_dir or CODES_DIR)))


def register_code_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] | None = None) -> list[str]:
    """Create ``code_{name}`` tables (and ``code_{name}_alias(alias, code)``) in a DuckDB connection.

    The alias tables hold the full :func:`code_map`, so SQL pipelines can standardise a column with a
    single join instead of a CASE per table. Returns the created table names.
    """
    created = []
    for name in names or TABLES:
        tbl = load_code_table(name)
        con.register("_codetable_tmp", tbl)
        con.execute(f'CREATE OR REPLACE TABLE "code_{name}" AS SELECT * FROM _codetable_tmp')
        con.unregister("_codetable_tmp")
        created.append(f"code_{name}")
        # every table gets its lookup table (codes and names too, not only aliases), so a source
        # may write a licence type by name (机动车驾驶证) as well as by code (004)
        m = with_halfwidth_keys(code_map(name))
        alias_tbl = pa.table(
            {"alias": pa.array(list(m), pa.string()), "code": pa.array(list(m.values()), pa.string())}
        )
        con.register("_codetable_tmp", alias_tbl)
        con.execute(f'CREATE OR REPLACE TABLE "code_{name}_alias" AS SELECT * FROM _codetable_tmp')
        con.unregister("_codetable_tmp")
        created.append(f"code_{name}_alias")
    return created


def with_halfwidth_keys(m: dict[str, str]) -> dict[str, str]:
    """Add each key's half-width spelling (``女性改(变)为男性`` beside ``女性改（变）为男性``): SQL looks
    values up after ``fw2hw``, so a name written with full-width brackets must be found that way too.
    A key as written wins over another key's fold."""
    return {**{to_halfwidth(k) or k: c for k, c in m.items()}, **m}


def _column(tbl: pa.Table, col: str) -> list[str | None]:
    return tbl.column(col).to_pylist()


def _values(tbl: pa.Table, col: str) -> list[str]:
    """The non-empty cells of a column (key columns have no empty cells: the loader checks)."""
    return [v for v in _column(tbl, col) if v is not None]


def _cross_check(name: str, tbl: pa.Table, col: str, allowed: set[str], what: str) -> None:
    """Raise naming the first row whose ``col`` is not in ``allowed`` (line = row index + 2)."""
    for i, value in enumerate(_column(tbl, col)):
        if value is not None and value not in allowed:
            raise CodeTableError(CODES_DIR / f"{name}.csv", i + 2, f"{col} {value!r} is not {what}")


def validate_all_tables() -> dict[str, int]:
    """Load every table and check the references between them; returns row counts per table.

    Row-level checks happen on load; this adds the cross-table rules (every licence's issuing
    department is one of the 32 departments, entity types point at real USCC categories, division
    parents exist, enumerated columns hold allowed values) that no single file can check by itself.
    """
    counts = {name: load_code_table(name).num_rows for name in TABLES}
    deps = load_code_table("departments")
    dep_keys = set(_values(deps, "key"))
    if len(dep_keys) != 32:
        raise CodeTableError(
            CODES_DIR / "departments.csv", None, f"expected 32 departments, got {len(dep_keys)}"
        )
    for name in ("licence_types", "service_items"):
        _cross_check(name, load_code_table(name), "department", dep_keys, "a department key")
    lic = load_code_table("licence_types")
    _cross_check("licence_types", lic, "holder_kind", {"person", "entity"}, "person|entity")
    for i, v in enumerate(_column(lic, "validity_years")):
        if v is not None and not (v.isdigit() and int(v) > 0):
            raise CodeTableError(
                CODES_DIR / "licence_types.csv", i + 2, f"validity_years {v!r} not a positive int"
            )
    svc = load_code_table("service_items")
    _cross_check("service_items", svc, "target", {"person", "entity"}, "person|entity")
    _cross_check(
        "service_items", svc, "power_class",
        {"行政审批", "行政确认", "行政备案", "行政给付", "审核转报", "公共服务"}, "a power class",
    )
    cats = load_code_table("uscc_category")
    auths = set(_values(load_code_table("uscc_authority"), "code"))
    _cross_check("uscc_category", cats, "authority", auths, "a USCC registration authority")
    pairs = {a + c for a, c in zip(_values(cats, "authority"), _values(cats, "code"), strict=True)}
    ent = load_code_table("entity_types")
    ent_pairs = zip(_column(ent, "uscc_authority"), _column(ent, "uscc_category"), strict=True)
    for i, (a, c) in enumerate(ent_pairs):
        if f"{a}{c}" not in pairs:
            raise CodeTableError(
                CODES_DIR / "entity_types.csv", i + 2, f"USCC category {a}{c} not in uscc_category"
            )
    gb = load_code_table("gb2260")
    codes = set(_values(gb, "code"))
    _cross_check("gb2260", gb, "parent_code", codes, "a gb2260 code")
    _cross_check("gb2260", gb, "level", {"province", "prefecture", "county"}, "province|prefecture|county")
    return counts
