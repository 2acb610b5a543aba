"""The source registry: one declarative YAML file per departmental source in ``schemas/sources``.

A spec says where a department's data lives, how to pick up only what changed, and how each
source column maps to an element of the unified standard (with code-value maps, date formats and
SQL expressions written in the source's own dialect).  The registry is validated as a whole
before anything runs, so a typo in a spec fails loudly with the file and field named, instead of
silently producing empty columns downstream.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ConfigurationError
from pipelines.specsql import ExpressionRefused, check_expression
from standards.codetables import department_keys, load_code_table
from standards.dictionary import SHARING_ORDER, Dictionary, dictionary
from standards.yamlfile import read_yaml_mapping, validate_model

ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = ROOT / "schemas" / "sources"

ConnectionKind = Literal["postgres", "mariadb", "sqlite", "csv", "excel", "jsonl"]
DB_KINDS = frozenset({"postgres", "mariadb", "sqlite"})
FILE_KINDS = frozenset({"csv", "excel", "jsonl"})
NATIVE_TYPES = frozenset({"varchar", "integer", "bigint", "decimal", "date", "timestamp", "boolean"})
#: The sqlglot dialect a spec's expressions must be written in, per connection kind.
DIALECT_OF_KIND: dict[str, str] = {
    "postgres": "postgres", "mariadb": "mysql", "sqlite": "sqlite",
    "csv": "duckdb", "excel": "duckdb", "jsonl": "duckdb",
}
DEFAULT_SETTLE_S = 2.0
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.sqlite)?")
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?")
COLUMN_NAME = re.compile(r"[^\W\d_][\w\- ()（）]{0,63}")
PATH_PATTERN = re.compile(r"[\w\-.*?\[\]/]+")

#: Raises a :class:`RegistryError` naming the spec file, the place in it (``loc``) and the problem.
Fail = Callable[[str, str], NoReturn]


class RegistryError(ConfigurationError):
    """One line naming the spec file and the field that is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Connection(_Strict):
    kind: ConnectionKind
    database: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    #: file sources: a file is complete once its size and modification time held still this long
    settle_s: float = Field(DEFAULT_SETTLE_S, ge=0, le=86_400)
    #: file sources: a file is complete once the sender wrote ``<file>.done`` beside it
    done_marker: bool = False
    #: database sources: seconds to open a connection, and to wait for the server's first answer
    connect_timeout_s: float = Field(5.0, gt=0, le=600)
    read_timeout_s: float = Field(30.0, gt=0, le=3_600)

    @field_validator("database")
    @classmethod
    def _plain_database(cls, v: str | None) -> str | None:
        if v is not None and not DATABASE_NAME.fullmatch(v):
            raise ValueError(f"{v!r} is not a plain database name (letters, digits, '_', optionally '.sqlite')")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}") from None
        return v


class Incremental(_Strict):
    kind: Literal["timestamp", "id", "file"]
    column: str | None = None


class FieldMap(_Strict):
    column: str
    type: str = "varchar"
    element: str | None = None
    format: str | None = None
    codes: dict[str, str] | None = None
    expr: str | None = None
    sharing: Literal["unconditional", "conditional", "not_shared"] | None = None

    @field_validator("column")
    @classmethod
    def _plain_column(cls, v: str) -> str:
        if not COLUMN_NAME.fullmatch(v):
            raise ValueError(f"{v[:40]!r} is not a column name this platform reads (letters, digits, '_', "
                             "spaces, '-', brackets; not starting with '_' or a digit; at most 64)")
        return v

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in NATIVE_TYPES:
            raise ValueError(f"unknown column type {v!r} (expected one of {sorted(NATIVE_TYPES)})")
        return v

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_strings(cls, v: object) -> object:
        if isinstance(v, dict):
            return {str(k): str(val) for k, val in v.items()}
        return v


class Derived(_Strict):
    element: str
    expr: str


class Table(_Strict):
    name: str
    path: str | None = None
    primary_key: list[str]
    incremental: Incremental
    feeds: list[Literal["person", "entity", "licence"]] = Field(min_length=1)
    fields: list[FieldMap] = Field(min_length=1)
    derived: list[Derived] = Field(default_factory=list)
    #: how deletions at the source are found: ``snapshot`` compares the source's full set of keys
    #: (a database table's keys, or a file source's latest file) with the lake's live records and
    #: writes tombstones for the missing ones; ``none`` when the source only ever adds or flags
    deletes: Literal["none", "snapshot"] = "none"

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not TABLE_NAME.fullmatch(v):
            raise ValueError(f"{v[:40]!r} is not a plain table name ([schema.]name of letters, digits, '_')")
        return v

    @field_validator("path")
    @classmethod
    def _inside_landing(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.split("/")
        if (not v or v.startswith(("/", "~")) or "\\" in v or ":" in v or ".." in parts or "**" in v
                or any(not p for p in parts) or not PATH_PATTERN.fullmatch(v)):
            raise ValueError(f"{v[:60]!r} must be a relative file pattern inside the landing folder "
                             "(no '..', no absolute path, no '**')")
        return v

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields]

    def mapped_elements(self) -> set[str]:
        return {f.element for f in self.fields if f.element} | {d.element for d in self.derived}


class SourceSpec(_Strict):
    source: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    department: str
    title: str
    connection: Connection
    dialect: str
    schedule: str = "@daily"
    tables: list[Table] = Field(min_length=1)

    @property
    def masters(self) -> list[str]:
        return sorted({m for t in self.tables for m in t.feeds})

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"source {self.source!r} has no table {name!r}")


def _check_semantics(spec: SourceSpec, path: Path, d: Dictionary) -> None:
    def fail(loc: str, msg: str) -> NoReturn:
        raise RegistryError(f"{path}: {loc}: {msg}")

    if spec.source != path.stem:
        fail("source", f"{spec.source!r} must equal the file name {path.stem!r}")
    expected_dialect = DIALECT_OF_KIND[spec.connection.kind]
    if spec.dialect != expected_dialect:
        fail("dialect", f"{spec.dialect!r}: a {spec.connection.kind} source is written in {expected_dialect!r}")
    if spec.connection.kind in DB_KINDS and not spec.connection.database:
        fail("connection.database", f"a {spec.connection.kind} source needs a database name")
    if spec.department not in department_keys():
        fail("department", f"unknown department {spec.department!r}")
    wrong_kind = ({"settle_s", "done_marker"} if spec.connection.kind in DB_KINDS
                  else {"connect_timeout_s", "read_timeout_s"}) & spec.connection.model_fields_set
    if wrong_kind:
        fail(f"connection.{sorted(wrong_kind)[0]}", f"does not apply to a {spec.connection.kind} source")
    seen_tables: set[str] = set()
    for ti, t in enumerate(spec.tables):
        where = f"tables[{ti}]"
        if t.name in seen_tables:
            fail(f"{where}.name", f"duplicate table {t.name!r}")
        seen_tables.add(t.name)
        if spec.connection.kind in FILE_KINDS and not t.path:
            fail(f"{where}.path", "a file source table needs a path pattern")
        cols = t.columns
        if len(set(cols)) != len(cols):
            dup = next(c for c in cols if cols.count(c) > 1)
            fail(f"{where}.fields", f"duplicate column {dup!r}")
        for k in t.primary_key:
            if k not in cols:
                fail(f"{where}.primary_key", f"{k!r} is not a column of the table")
        if t.deletes == "snapshot" and not t.primary_key:
            fail(f"{where}.deletes", "finding deleted records needs a primary key")
        if t.incremental.kind != "file":
            if not t.incremental.column:
                fail(f"{where}.incremental.column", f"a {t.incremental.kind} watermark needs a column")
            if t.incremental.column not in cols:
                fail(f"{where}.incremental.column", f"{t.incremental.column!r} is not a column of the table")
        elif spec.connection.kind not in FILE_KINDS:
            fail(f"{where}.incremental.kind", "'file' arrival only applies to file sources")
        seen_elements: dict[str, str] = {}
        for fi, f in enumerate(t.fields):
            floc = f"{where}.fields[{fi}]"
            if f.element is None:
                continue
            _check_element(fail, f"{floc}.element", f.element, t, d)
            if f.element in seen_elements:
                fail(f"{floc}.element", f"{f.element!r} already mapped from column {seen_elements[f.element]!r}")
            seen_elements[f.element] = f.column
            elem = d.element(f.element)
            if f.codes is not None:
                if not elem.code_table:
                    fail(f"{floc}.codes", f"{f.element} has no code table (rule {elem.rule})")
                bad = sorted(set(f.codes.values()) - _codes_of(elem.code_table))
                if bad:
                    fail(f"{floc}.codes", f"{bad[0]!r} is not a code of {elem.code_table}")
            if f.format is not None and elem.type not in ("date", "timestamp"):
                fail(f"{floc}.format", f"a format only applies to dates; {f.element} is {elem.type}")
            if f.sharing and SHARING_ORDER[f.sharing] < SHARING_ORDER.get(elem.sharing, 2):
                fail(f"{floc}.sharing", f"{f.sharing!r} would lower {f.element}'s grade {elem.sharing!r}")
            if f.expr is not None:
                _check_expr(fail, f"{floc}.expr", f.expr, spec.dialect, cols)
        for di, dv in enumerate(t.derived):
            dloc = f"{where}.derived[{di}]"
            _check_element(fail, f"{dloc}.element", dv.element, t, d)
            if dv.element in seen_elements:
                fail(f"{dloc}.element", f"{dv.element!r} already mapped from column {seen_elements[dv.element]!r}")
            seen_elements[dv.element] = "<derived>"
            _check_expr(fail, f"{dloc}.expr", dv.expr, spec.dialect, cols)
        have = t.mapped_elements()
        for master in t.feeds:  # what the dictionary says a feed of the master carries
            for name in d.masters[master].feed.requires:
                if f"{master}.{name}" not in have:
                    fail(f"{where}.feeds", f"a table feeding {master} must map {master}.{name}")


def _check_element(fail: Fail, loc: str, name: str, t: Table, d: Dictionary) -> None:
    if not d.has(name):
        fail(loc, f"unknown element {name!r}")
    master = name.split(".", 1)[0]
    if master != "meta" and master not in t.feeds:
        fail(loc, f"{name!r} belongs to {master!r}, which the table does not feed ({t.feeds})")


def _check_expr(fail: Fail, loc: str, sql: str, dialect: str, cols: list[str]) -> None:
    try:
        check_expression(sql, dialect, cols)
    except ExpressionRefused as exc:
        fail(loc, exc.one_line())


def _codes_of(table: str) -> frozenset[str]:
    return frozenset(load_code_table(table).column("code").to_pylist())


def load_spec(path: Path | str, d: Dictionary | None = None) -> SourceSpec:
    """Load and validate one spec file; every defect is a one-line :class:`RegistryError`."""
    path = Path(path)
    spec = validate_model(SourceSpec, read_yaml_mapping(path, RegistryError), str(path), RegistryError)
    _check_semantics(spec, path, d or dictionary())
    return spec


def load_registry(directory: Path | str = SOURCES_DIR) -> dict[str, SourceSpec]:
    """Every spec in ``directory``, validated; the first bad file stops the load with its name."""
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RegistryError(f"{directory}: no source specs (*.yaml) found")
    return {p.stem: load_spec(p) for p in files}


@lru_cache(maxsize=1)
def registry() -> dict[str, SourceSpec]:
    """The platform's source registry (cached)."""
    return load_registry()
