"""The configuration of one entity-resolution problem: a master library, or a user's own link job.

One engine, many configurations: the population, legal-entity and licence libraries are driven by
``schemas/masters/{person,entity,licence}.yaml`` (:class:`MasterConfig`, which adds the build's
per-master steps) and ``masterdata link`` by a file a user writes; all are this model.  A
configuration says

* ``features``: SQL expressions (DuckDB, the one dialect of record) computed once per record from
  its columns - the keys and values that matching looks at;
* ``deterministic``: the keys that link records outright (a validated ID number, a USCC), which
  features may never hold two different values inside one cluster, and which feature names an
  identifier the record carries but that belongs to someone else (an infant under the mother's ID);
* ``blocking``: which pairs are compared at all (equi-joins on features, optionally on generated
  variants such as every ID at edit distance 1);
* ``comparisons``: ordered levels of agreement per attribute (exact, same pinyin, Jaro-Winkler ...),
  with optional term-frequency adjustment, from which Fellegi-Sunter weights are trained by EM -
  spelled out in SQL or named from the library in one line (``use: chinese_name``, see
  :mod:`pipelines.resolve.library`);
* ``thresholds``: auto-match above ``match``, steward review between ``review`` and ``match``;
* ``attributes``: the golden record's survivorship rules (masters only).

It is validated as a whole when loaded, and every defect is one line naming the file and the field,
so a typo fails before any data is touched instead of yielding empty matches.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NoReturn

import sqlglot
import sqlglot.expressions as exp
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.errors import ConfigurationError
from pipelines.resolve.library import PRIVATE_PREFIX, LibraryError, expand
from standards.yamlfile import read_yaml_mapping, validate_model

SurvivorshipRule = Literal["source_priority", "most_recent", "most_frequent", "validated_first", "non_null"]
DEFAULT_RULES: tuple[SurvivorshipRule, ...] = ("most_frequent", "most_recent")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class ConfigError(ConfigurationError):
    """One line naming the configuration file and the field that is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    """One level of a comparison: the first level whose ``when`` holds is the pair's level."""

    label: str
    when: str
    #: A feature whose value frequency replaces the level's average u (rare names weigh more).
    tf: str | None = None
    #: Starting m for EM (default: spread from 0.9 down); ``fixed`` keeps it out of training.
    m: float | None = Field(default=None, gt=0, lt=1)
    #: A known u (chance agreement); replaces the one sampled from random pairs.
    u: float | None = Field(default=None, gt=0, lt=1)
    fixed: bool = False


class Comparison(_Strict):
    """Agreement levels for one attribute, over ``l.<feature>`` and ``r.<feature>``."""

    name: str
    #: When true the comparison says nothing about the pair (weight 0), e.g. a side is NULL.
    null_when: str
    levels: list[Level] = Field(min_length=1)
    #: Label of the implicit last level (none of the ``when`` held).
    else_label: str = "different"

    @property
    def u_given(self) -> bool:
        return all(lv.u is not None for lv in self.levels)


class Variants(_Strict):
    """Strings of length ``length`` one keystroke away from a value: one character replaced or
    inserted (a character of ``alphabet``), one deleted, or two adjacent ones swapped."""

    alphabet: str = Field(min_length=1)
    length: int = Field(ge=2)


class BlockingRule(_Strict):
    """Pairs whose keys are equal.  ``keys`` features are compared as they are; ``left``/``right``
    give different expressions for the two sides (e.g. ID variants vs the valid ID); an expression
    may be ``unnest(<list>)`` to make every element of a list a key (all variants of a mistyped ID,
    both addresses of a person)."""

    name: str
    keys: list[str] = Field(default_factory=list)
    left: list[str] | None = None
    right: list[str] | None = None
    #: The left side's keys are the one-keystroke ``variants`` of its one ``left`` value (of each
    #: length listed), made by a join on a position x character table: the same strings as
    #: ``unnest(id_variants_to(...))``, without building a list per record (a third of the time).
    variants: list[Variants] | None = None
    #: A key value held by more distinct records than this is skipped (fillers, giant families):
    #: such a block cannot tell records apart and would only cost quadratic time.
    max_block: int = Field(default=100, ge=2)
    #: ``rest``: the left side is only records no deterministic key anchored (the normal case);
    #: ``all``: every record (only useful for training sessions and link jobs without keys).
    scope: Literal["rest", "all"] = "rest"

    @model_validator(mode="after")
    def _sides(self) -> BlockingRule:
        if self.keys and (self.left or self.right):
            raise ValueError("give either 'keys' or 'left' + 'right', not both")
        if not self.keys and not (self.left and self.right):
            raise ValueError("needs 'keys' (features) or both 'left' and 'right' (expressions)")
        if self.left and self.right and len(self.left) != len(self.right):
            raise ValueError("'left' and 'right' must have the same number of keys")
        if self.variants is not None and (not self.variants or len(self.left or []) != 1):
            raise ValueError("'variants' needs one 'left' key (the value they vary) and at least one length")
        return self

    @property
    def left_keys(self) -> list[str]:
        return list(self.left or self.keys)

    @property
    def right_keys(self) -> list[str]:
        return list(self.right or self.keys)


class ConflictReview(_Strict):
    """Pairs of clusters holding *different* keys that agree on everything else (a person re-issued
    a new ID number): never merged automatically, but queued for a steward when their weight,
    without the ``ignore`` comparisons, reaches the match threshold."""

    rules: list[BlockingRule] = Field(min_length=1)
    ignore: list[str] = Field(default_factory=list)


class DeterministicKey(_Strict):
    """A feature whose equal values link records outright."""

    name: str
    feature: str


class Deterministic(_Strict):
    """Keys in precedence order: the first is the primary key of a cluster.  A later key's value
    is mapped onto the primary key through records holding both (organisation code -> USCC) when
    that mapping is unique; otherwise it forms a cluster of its own."""

    keys: list[DeterministicKey] = Field(min_length=1)
    #: Features a cluster may never hold two different values of (clustering never chains).
    distinct: list[str] = Field(default_factory=list)
    #: Feature naming an identifier the record carries but which is not its own: the record may
    #: never join the cluster whose primary key equals it (infant under a guardian's ID).
    foreign: str | None = None


class TrainingSession(_Strict):
    """One EM session: pairs agreeing on these features; comparisons using them are not trained here."""

    block: list[str] = Field(min_length=1)
    max_pairs: int = Field(default=300_000, ge=100)


class Training(_Strict):
    sessions: list[TrainingSession] = Field(default_factory=list)
    #: Random record pairs for the u probabilities (how often levels agree by chance).
    random_pairs: int = Field(default=1_000_000, ge=1000)
    max_iterations: int = Field(default=40, ge=1)
    tolerance: float = Field(default=1e-5, gt=0)
    #: Smallest u a level may take (an ID never agrees by chance in a sample; it still may).
    min_u: float = Field(default=1e-8, gt=0, lt=1)
    #: Probability that two random records match; estimated from deterministic clusters if unset.
    prior: float | None = Field(default=None, gt=0, lt=1)
    seed: int = 7


class Thresholds(_Strict):
    #: Match probability at or above which a pair links automatically.
    match: float = Field(default=0.99, gt=0, lt=1)
    #: Pairs between ``review`` and ``match`` go to the steward review queue.
    review: float = Field(default=0.5, gt=0, lt=1)
    #: A record whose two best candidate clusters (which cannot be merged) are within this many
    #: bits of weight of each other is not auto-linked to either: it is queued for review.
    ambiguity_bits: float = Field(default=3.0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> Thresholds:
        if self.review > self.match:
            raise ValueError(f"review ({self.review}) must not exceed match ({self.match})")
        return self


class Attribute(_Strict):
    """Survivorship of one golden attribute: candidate values from every record of the cluster,
    ranked by ``rules`` in order (ties go to the next rule, finally the smallest record id)."""

    value: str | None = None
    rules: list[SurvivorshipRule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    #: Source order for ``source_priority`` (sources not listed rank after all listed ones).
    sources: list[str] = Field(default_factory=list)
    #: SQL over the record for ``validated_first``: values from records where it holds come first.
    validated: str | None = None
    #: Only values from records where ``validated`` holds may survive at all.
    validated_only: bool = False

    @model_validator(mode="after")
    def _rules_need(self) -> Attribute:
        if "source_priority" in self.rules and not self.sources:
            raise ValueError("rule 'source_priority' needs 'sources'")
        if ("validated_first" in self.rules or self.validated_only) and not self.validated:
            raise ValueError("rule 'validated_first' needs 'validated' (an SQL condition)")
        if len(set(self.rules)) != len(self.rules):
            raise ValueError("a rule is listed twice")
        return self


class ResolveConfig(_Strict):
    """A whole resolution problem (see the module docstring)."""

    master: str
    title: str = ""
    #: Column holding the record identifier (``masterdata link`` inputs); masters use ``record_id``.
    id_column: str = "record_id"
    #: Prefix of minted master ids (P0000000001).
    id_prefix: str = Field(default="M", pattern=r"^[A-Z]{1,3}$")
    features: dict[str, str] = Field(min_length=1)
    deterministic: Deterministic | None = None
    blocking: list[BlockingRule] = Field(default_factory=list)
    comparisons: list[Comparison] = Field(default_factory=list)
    training: Training = Field(default_factory=Training)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    #: A blocking rule whose estimated candidate pairs exceed this is refused before any pair is
    #: made: a rule that loose would exhaust memory and time, and separates records too little.
    max_pairs_per_rule: int = Field(default=50_000_000, ge=1)
    conflict_review: ConflictReview | None = None
    attributes: dict[str, Attribute] = Field(default_factory=dict)

    @field_validator("features")
    @classmethod
    def _feature_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _IDENT.match(name):
                raise ValueError(f"feature name {name!r} must be lower_snake_case")
            if name in ("rid", "record_id"):
                raise ValueError(f"feature name {name!r} is reserved")
        return v

    @property
    def probabilistic(self) -> bool:
        return bool(self.blocking and self.comparisons)

    @property
    def primary_key(self) -> str | None:
        return self.deterministic.keys[0].feature if self.deterministic else None

    @property
    def distinct(self) -> list[str]:
        if not self.deterministic:
            return []
        return self.deterministic.distinct or [self.deterministic.keys[0].feature]

    @property
    def table_features(self) -> list[str]:
        """The features the record tables hold: all but the library's private normal forms
        (``_lib_*``) that nothing outside ``features`` names.  The features derived from them are
        computed in the same statement; holding them too would cost a fifth of the table."""
        rest = self.model_dump_json(exclude={"features"})
        return [n for n in self.features
                if not n.startswith(PRIVATE_PREFIX) or re.search(rf"\b{re.escape(n)}\b", rest)]

    def fingerprint(self) -> str:
        """Hash of everything that changes how records cluster (survivorship excluded)."""
        body = self.model_dump(include={"features", "deterministic", "blocking", "comparisons", "training",
                                        "thresholds", "conflict_review"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class Hooks(_Strict):
    """Named steps of the masters build a master asks for (registered in
    :mod:`pipelines.masters.hooks`; an unknown name fails when the configuration loads)."""

    #: On the source records before resolution, each adding columns (licence holder linkage).
    prepare: list[str] = Field(default_factory=list)
    #: On the golden records: derived columns, links to other masters, tables beside the master.
    enrich: list[str] = Field(default_factory=list)


class Holder(_Strict):
    """Who holds a licence whose holder id has one type: a master, and the deterministic key of that
    master the holder id is looked up by; a mistyped id's one-keystroke variants are drawn from
    the characters of the identifier ``alphabet``."""

    master: str
    key: str
    alphabet: Literal["resident_id", "uscc"]


class Layout(_Strict):
    """How the full build lays out this master's gold table for its readers' point lookups (the
    console's master page asks for one master's row, its records, licences, household, spouse).

    A DuckDB file answers ``WHERE col = ?`` by scanning the whole column unless the rows are sorted
    by it (each row group's min/max - its zone map - then rules out all groups but one) or an ART
    index covers it.  The master table is written sorted by ``sorted_by`` then ``master_id``; its
    cross-references and side tables by the master's id; ``indexed`` columns get an ART index.  A
    delta's DELETE/INSERT keeps the indexes current."""

    #: The column most lookups of this master's table ask by (``master_id`` when unset).
    sorted_by: str | None = None
    #: Columns looked up one value at a time (each gets an ART index).
    indexed: list[str] = Field(default_factory=list)


class MasterConfig(ResolveConfig):
    """A master library's configuration (``schemas/masters``): a resolution problem plus the
    build's per-master steps - what the build does for this master is declared here, never
    decided by its name."""

    hooks: Hooks = Field(default_factory=Hooks)
    #: Holder id type code -> who holds the licence (for the ``holder_links`` hook).
    holders: dict[str, Holder] = Field(default_factory=dict)
    #: Sort order and indexes of the gold master table.
    layout: Layout = Field(default_factory=Layout)


ConflictReview.model_rebuild()

# --------------------------------------------------------------------------------------------------
# loading and semantic checks
# --------------------------------------------------------------------------------------------------


def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def _check_sql(fail: Callable[[str, str], NoReturn], loc: str, sql: str) -> exp.Expr:
    try:
        return _parse(sql)
    except sqlglot.errors.ParseError as exc:
        fail(loc, f"not valid DuckDB SQL: {str(exc).splitlines()[0]}")
        raise  # unreachable: fail raises


def _pair_columns(tree: exp.Expr) -> list[tuple[str, str]]:
    return [(c.table, c.name) for c in tree.find_all(exp.Column)]


def check_semantics(cfg: ResolveConfig, where: str) -> None:
    """Cross-field checks pydantic cannot express; raises :class:`ConfigError`."""

    def fail(loc: str, msg: str) -> NoReturn:
        raise ConfigError(f"{where}: {loc}: {msg}")

    feats = set(cfg.features)
    for name, sql in cfg.features.items():
        _check_sql(fail, f"features.{name}", sql)
    if cfg.deterministic:
        for i, k in enumerate(cfg.deterministic.keys):
            if k.feature not in feats:
                fail(f"deterministic.keys[{i}].feature", f"unknown feature {k.feature!r}")
        for i, d in enumerate(cfg.deterministic.distinct):
            if d not in feats:
                fail(f"deterministic.distinct[{i}]", f"unknown feature {d!r}")
        if cfg.deterministic.foreign and cfg.deterministic.foreign not in feats:
            fail("deterministic.foreign", f"unknown feature {cfg.deterministic.foreign!r}")
    for i, b in enumerate(cfg.blocking):
        for j, f in enumerate(b.keys):
            if f not in feats:
                fail(f"blocking[{i}].keys[{j}]", f"unknown feature {f!r}")
        for side in ("left", "right"):
            for j, e in enumerate(getattr(b, side) or []):
                tree = _check_sql(fail, f"blocking[{i}].{side}[{j}]", e)
                for _t, col in _pair_columns(tree):
                    if col not in feats:
                        fail(f"blocking[{i}].{side}[{j}]", f"unknown feature {col!r}")
        if b.scope == "rest" and not cfg.deterministic:
            fail(f"blocking[{i}].scope", "'rest' needs deterministic keys (use scope: all)")
    seen: set[str] = set()
    for i, c in enumerate(cfg.comparisons):
        if c.name in seen:
            fail(f"comparisons[{i}].name", f"duplicate comparison {c.name!r}")
        seen.add(c.name)
        exprs = [("null_when", c.null_when)] + [(f"levels[{j}].when", lv.when) for j, lv in enumerate(c.levels)]
        for loc, sql in exprs:
            tree = _check_sql(fail, f"comparisons[{i}].{loc}", sql)
            for table, col in _pair_columns(tree):
                if table not in ("l", "r"):
                    fail(f"comparisons[{i}].{loc}", f"refer to features as l.<name> / r.<name>, not {col!r}")
                if col not in feats:
                    fail(f"comparisons[{i}].{loc}", f"unknown feature {col!r}")
        for j, lv in enumerate(c.levels):
            if lv.tf and lv.tf not in feats:
                fail(f"comparisons[{i}].levels[{j}].tf", f"unknown feature {lv.tf!r}")
    for i, s in enumerate(cfg.training.sessions):
        for j, f in enumerate(s.block):
            if f not in feats:
                fail(f"training.sessions[{i}].block[{j}]", f"unknown feature {f!r}")
    if cfg.comparisons and not cfg.blocking:
        fail("blocking", "comparisons need at least one blocking rule")
    if cfg.conflict_review:
        names = {c.name for c in cfg.comparisons}
        for i, b in enumerate(cfg.conflict_review.rules):
            for j, f in enumerate(b.keys):
                if f not in feats:
                    fail(f"conflict_review.rules[{i}].keys[{j}]", f"unknown feature {f!r}")
        for i, ignored in enumerate(cfg.conflict_review.ignore):
            if ignored not in names:
                fail(f"conflict_review.ignore[{i}]", f"unknown comparison {ignored!r}")
    for name, a in cfg.attributes.items():
        if a.value:
            _check_sql(fail, f"attributes.{name}.value", a.value)
        if a.validated:
            _check_sql(fail, f"attributes.{name}.validated", a.validated)


def expand_library(raw: object, where: str) -> object:
    """``raw`` with its library comparisons (``use:``) expanded into features and SQL levels
    (:mod:`pipelines.resolve.library`); a bad entry is one line naming the file and the field."""
    if not isinstance(raw, dict):
        return raw
    try:
        return expand(raw)
    except LibraryError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_config(raw: object, where: str) -> ResolveConfig:
    """Validate a parsed YAML document; ``where`` names it in errors."""
    cfg = validate_model(ResolveConfig, expand_library(raw, where), where, ConfigError)
    check_semantics(cfg, where)
    return cfg


def load_config(path: Path | str) -> ResolveConfig:
    """Load and validate one configuration file; every defect is a one-line :class:`ConfigError`."""
    path = Path(path)
    return parse_config(read_yaml_mapping(path, ConfigError), str(path))


def load_master(path: Path | str) -> MasterConfig:
    """Load and validate a master library's configuration (structure and SQL; the build's loader,
    :func:`pipelines.masters.config.master_config`, also checks the hook names and holders)."""
    path = Path(path)
    raw = expand_library(read_yaml_mapping(path, ConfigError), str(path))
    cfg = validate_model(MasterConfig, raw, str(path), ConfigError)
    check_semantics(cfg, str(path))
    return cfg
