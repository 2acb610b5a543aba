"""From an extract of true values to a department's native table, defects included, plus its truth.

The spec of each table decides the native form: a ``codes`` map is inverted (standard sex '2' becomes
'女', or '0' for hrss; where several native values map to one code they all occur), dates are
formatted with the field's ``format`` (or kept as DATE / TIMESTAMP when the native type says so), and
code-table columns without a map are written as codes or names as the profile says. Defects are
applied to the rendered values (see :mod:`pipelines.synthetic.defects`), duplicates get fresh record
keys, and the record key of every row (primary-key values joined by ``|``) ties it to the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.registry import FieldMap, SourceSpec, Table
from pipelines.synthetic import defects as dfx
from pipelines.synthetic import places, strs
from pipelines.synthetic.extracts import Col, Extract
from pipelines.synthetic.population import age_at, year_of
from pipelines.synthetic.profile import SourceProfile
from pipelines.synthetic.world import World
from standards.dictionary import dictionary

ADDRESS_PREFIX = {"full": places.PROVINCE + places.CITY, "city": places.CITY, "county": ""}
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Column kinds that form a defect group of their own (other columns are grouped by their role).
_GROUP_OF_KIND = {"pid": "id", "pname": "name"}


@dataclass
class Rendered:
    source: str
    table: str
    native: pa.Table
    truth: pa.Table
    log: dfx.DefectLog
    rows: np.ndarray  # extract row of each native row (duplicates index past the originals)
    wrong_ids: tuple[np.ndarray, pa.Array] | None = None


@cache
def _code_names(table: str) -> dict[str, str]:
    from standards.codetables import load_code_table

    t = load_code_table(table)
    return dict(zip(t.column("code").to_pylist(), t.column("name").to_pylist()))


def native_labels(field: FieldMap, label: object) -> dict[str, list[str]] | None:
    """Standard code -> native values for a code column (None: write the standard code)."""
    inv: dict[str, list[str]] = {}
    if field.codes:
        for native, std in field.codes.items():
            inv.setdefault(std, []).append(native)
    if label == "name" and field.element:
        elem = dictionary().element(field.element)
        if elem.code_table:
            for code, name in _code_names(elem.code_table).items():
                inv.setdefault(code, [name])
    elif isinstance(label, dict):
        for std, native in label.items():
            inv[str(std)] = [str(native)]
    return inv or None


def render_codes(rng: np.random.Generator, codes: np.ndarray, field: FieldMap, label: object) -> pa.Array:
    """Map standard codes to native values; several natives for one code are mixed (first one 90 %)."""
    inv = native_labels(field, label)
    n = codes.shape[0]
    null = codes == ""
    if inv is None:
        return strs.to_arrow(codes, mask=null)
    out = np.empty(n, dtype=object)
    out[:] = None
    for std in np.unique(codes[~null]):  # a loop over a handful of distinct codes
        natives = inv.get(str(std))
        if not natives:
            raise ValueError(f"column {field.column}: no native value for standard code {std!r}")
        sel = np.flatnonzero(codes == std)
        if len(natives) == 1:
            out[sel] = natives[0]
        else:
            w = np.array([0.9] + [0.1 / (len(natives) - 1)] * (len(natives) - 1))
            out[sel] = np.array(natives, dtype=object)[rng.choice(len(natives), sel.size, p=w)]
    return pa.array(out, type=pa.string())


def render_dates(values: np.ndarray, field: FieldMap) -> pa.Array:
    nat = np.isnat(values)
    if field.type == "date":
        return pa.array(values.astype("datetime64[D]"), type=pa.date32(), mask=nat)
    if field.type == "timestamp":
        return pa.array(values.astype("datetime64[s]"), type=pa.timestamp("s"), mask=nat)
    return strs.to_arrow(strs.format_dates(values, field.format or DEFAULT_DATE_FORMAT), mask=nat)


def _typed(arr: pa.Array, field: FieldMap) -> pa.Array:
    if field.type == "varchar":
        return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
    if field.type in ("integer", "bigint"):
        return pc.cast(arr, pa.int64())
    if field.type == "decimal":
        return pc.round(pc.cast(arr, pa.float64()), 2)
    if field.type == "boolean":
        return pc.cast(arr, pa.bool_())
    return arr


def defect_tags(table: Table, cols: dict[str, Col]) -> dict[str, tuple[str, str]]:
    """Per column, its defect group ('' for none) and the tag its defect labels carry: none for the
    first column of a group, ``@column`` for the others (a guardian's id beside the person's)."""
    seen: set[str] = set()
    out: dict[str, tuple[str, str]] = {}
    for f in table.fields:
        col = cols[f.column]
        group = _GROUP_OF_KIND.get(col.kind) or col.role or ""
        tag = ""
        if group:
            tag = "" if group not in seen else f"@{f.column}"
            seen.add(group)
        out[f.column] = (group, tag)
    return out


class Renderer:
    """Renders the extracts of one source (shared tables: name variants, donor ids)."""

    def __init__(
        self,
        world: World,
        spec: SourceSpec,
        prof: SourceProfile,
        rng: np.random.Generator,
        donors: dict[str, tuple[np.ndarray, pa.Array]],
        name_tables: dfx.NameTables,
        is_donor: bool = False,
    ) -> None:
        self.w = world
        self.spec = spec
        self.prof = prof
        self.rng = rng
        self.donors = donors
        self.names = name_tables
        self.is_donor = is_donor

    def render(
        self, table: Table, ex: Extract, allow_duplicates: bool = True, batch: str = "day1"
    ) -> Rendered:
        """The table in the department's native form, defects applied, and the truth of every row."""
        ex, log = self._with_duplicates(table, ex, allow_duplicates)
        missing_empty = self.prof.render.get("missing") == "empty"
        style = ADDRESS_PREFIX[self.prof.render.get("address", "full")]
        tags = defect_tags(table, ex.cols)
        out: dict[str, pa.Array] = {}
        wrong: tuple[np.ndarray, pa.Array] | None = None
        for f in table.fields:
            col = ex.cols[f.column]
            tag = tags[f.column][1]
            in_pk = f.column in table.primary_key
            if col.kind == "pid":
                arr, choice = self._ids(col, log, tag, in_pk)
                if self.is_donor and not tag:  # the wrong ids a copying source may take over
                    bad = np.isin(choice, [dfx.ID_DEFECTS.index(d) for d in dfx.WRONG_ID_DEFECTS])
                    wrong = (col.values[bad], arr.filter(pa.array(bad)))
            else:
                arr = self._column(f, col, log, tag, in_pk, style)
            arr = _typed(arr, f)
            if missing_empty and f.type == "varchar" and not in_pk:
                arr = pc.fill_null(arr, "")
            out[f.column] = arr
        return self._with_truth(table, pa.table(out), ex, log, batch, wrong)

    def _with_duplicates(self, table: Table, ex: Extract, allow: bool) -> tuple[Extract, dfx.DefectLog]:
        """The extract with the profile's share of rows entered twice (under fresh record keys)."""
        key_cols = [c for c in table.primary_key if ex.cols[c].kind == "key"]
        n0 = ex.n
        dup_rows = np.empty(0, np.int64)
        if allow and key_cols and self.prof.duplicate > 0 and n0:
            k = int(self.rng.binomial(n0, self.prof.duplicate))
            dup_rows = np.sort(self.rng.choice(n0, size=k, replace=False))
            ex = _with_duplicates(ex, dup_rows, key_cols)
        log = dfx.DefectLog(ex.n)
        if dup_rows.size:
            log.add("duplicate", np.arange(n0, ex.n))
        return ex, log

    def _column(
        self, f: FieldMap, col: Col, log: dfx.DefectLog, tag: str, in_pk: bool, style: str
    ) -> pa.Array:
        """One native column (any kind but resident ids) with its defects."""
        rng, rates = self.rng, self.prof.defects
        if col.kind == "key":
            return col.values if isinstance(col.values, pa.Array) else pa.array(col.values)
        if col.kind == "pname":
            p = self.w.persons
            idx = np.stack([p.sur, p.g1, p.g2], axis=1)[np.maximum(col.values, 0)]
            arr = dfx.apply_names(rng, idx, col.values >= 0, rates, self.names, log, tag)
            return arr if col.fallback is None else pc.if_else(pa.array(col.values < 0), col.fallback, arr)
        if col.kind == "text":
            return self._text(col, log, tag, in_pk, style)
        if col.kind == "date":
            vals = dfx.apply_birth(rng, col.values, rates, log, tag) if col.role == "birth" else col.values
            return render_dates(vals, f)
        if col.kind == "code":
            vals = col.values
            if col.role in ("sex", "ethnicity"):
                vals = dfx.apply_code_conflict(rng, vals, col.role, rates.get(f"{col.role}_conflict", 0.0), log, tag)
            return render_codes(rng, vals, f, self.prof.label(f))
        if col.kind == "stamp":
            vals, nat = col.values, np.isnat(col.values)
            if f.type == "timestamp":
                return pa.array(vals, type=pa.timestamp("s"), mask=nat)
            return strs.to_arrow(strs.format_dates(vals, f.format or STAMP_FORMAT), mask=nat)
        if col.kind == "num":
            return pa.array(col.values)
        raise ValueError(f"column {f.column}: unknown column kind {col.kind!r}")

    def _with_truth(
        self,
        table: Table,
        native: pa.Table,
        ex: Extract,
        log: dfx.DefectLog,
        batch: str,
        wrong: tuple[np.ndarray, pa.Array] | None,
    ) -> Rendered:
        """The rendered table and its truth; where a defect made two keys equal the later row goes."""
        key = record_key(native, table.primary_key)
        keep = ~pd.Series(np.asarray(key.to_numpy(zero_copy_only=False))).duplicated().to_numpy()
        rows = np.arange(ex.n)
        if not keep.all():
            idx = np.flatnonzero(keep)
            native, key, ex, log = native.take(pa.array(idx)), key.take(pa.array(idx)), ex.take(idx), log.subset(idx)
            rows = rows[idx]
        truth = pa.table(
            {
                "record_key": key,
                "true_person_id": pa.array(ex.person, pa.int64(), mask=ex.person < 0),
                "true_entity_id": pa.array(ex.entity, pa.int64(), mask=ex.entity < 0),
                "true_licence_id": pa.array(ex.licence, pa.int64(), mask=ex.licence < 0),
                "defects": log.list_column(),
                "batch": pa.array(np.full(native.num_rows, batch)),
            }
        )
        return Rendered(self.spec.source, table.name, native, truth, log, rows, wrong)

    # -- columns ------------------------------------------------------------------------------------
    def _ids(self, col: Col, log: dfx.DefectLog, tag: str, in_pk: bool) -> tuple[pa.Array, np.ndarray]:
        p = self.w.persons
        pid = col.values
        present = pid >= 0
        safe = np.maximum(pid, 0)
        digits = p.id_digits[safe]
        guardian = p.guardian()[safe]
        by = year_of(p.birth[safe])
        eligible = {
            "id_old": p.reissued[safe],
            "id_guardian": (age_at(p.birth[safe]) < 2) & (guardian >= 0),
            "id_15": (by >= 1900) & (by < 1990),
        }
        alt = {"id_old": p.old_id_digits[safe], "id_guardian": p.id_digits[np.maximum(guardian, 0)]}
        forced = None
        if self.prof.copy_from and not tag:
            mask = np.zeros(pid.size, bool)
            donor_vals = pa.nulls(pid.size, pa.string())
            for donor, prob in self.prof.copy_from.items():
                if donor not in self.donors:
                    continue
                dp, dv = self.donors[donor]
                if dp.size == 0:
                    continue
                pos = np.minimum(np.searchsorted(dp, safe), dp.size - 1)
                hit = present & (dp[pos] == safe) & ~mask
                take = hit & (self.rng.random(pid.size) < prob)
                if take.any():
                    donor_vals = pc.if_else(pa.array(take), dv.take(pa.array(pos)), donor_vals)
                    mask |= take
                eligible_copy = hit
                log.eligible["id_copied"] = log.eligible.get("id_copied", 0) + int(eligible_copy.sum())
            forced = {"id_copied": (mask, donor_vals)}
        arr, choice = dfx.apply_ids(
            self.rng, digits, present, self.prof.defects, eligible, alt, log, tag, in_pk, forced
        )
        if col.fallback is not None:
            arr = pc.if_else(pa.array(~present), col.fallback, arr)
        return arr, choice

    def _text(self, col: Col, log: dfx.DefectLog, tag: str, in_pk: bool, style: str) -> pa.Array:
        rng, rates = self.rng, self.prof.defects
        arr = col.values
        if col.role == "address":
            arr = strs.cat(style, arr) if style else arr
            alt = (strs.cat(style, col.alt) if style else col.alt) if col.alt is not None else None
            return dfx.apply_text(rng, arr, alt, rates, "address", log, tag)
        if col.role == "phone":
            return dfx.apply_text(rng, arr, col.alt, rates, "phone", log, tag)
        if col.role == "uscc":
            present = np.asarray(arr.is_valid())
            vals = np.asarray(pc.fill_null(arr, "").to_numpy(zero_copy_only=False)).astype("<U18")
            legacy = col.alt if col.alt is not None else pa.nulls(len(arr), pa.string())
            return dfx.apply_uscc(rng, vals, present, legacy, rates, log, tag, pk=in_pk)
        if col.role == "entity_name" and not in_pk:
            return dfx.apply_entity_name(rng, arr, rates.get("entity_name_variant", 0.0), log, tag)
        return arr


def _with_duplicates(ex: Extract, dup_rows: np.ndarray, key_cols: list[str]) -> Extract:
    both = ex.take(np.concatenate([np.arange(ex.n), dup_rows]))
    for c in key_cols:
        col = ex.cols[c]
        if col.dup_key is None:
            raise ValueError(f"key column {c!r} has no maker for the keys of duplicates")
        fresh = col.dup_key(np.arange(dup_rows.size))
        if isinstance(col.values, pa.Array):
            vals = pa.concat_arrays([col.values.cast(pa.string()), strs.to_arrow(fresh).cast(pa.string())])
        else:
            vals = np.concatenate([np.asarray(col.values), np.asarray(fresh)])
        both.cols[c] = Col("key", vals, dup_key=col.dup_key)
    return both


def record_key(native: pa.Table, pk: list[str]) -> pa.Array:
    """Each row's record key: its primary-key values joined by ``|`` (how the truth names a row)."""
    parts = [pc.cast(native.column(c), pa.string()).combine_chunks() for c in pk]
    if len(parts) == 1:
        return pc.fill_null(parts[0], "")
    return pc.binary_join_element_wise(*[pc.fill_null(p, "") for p in parts], "|")


def name_tables(world: World, encoding: str) -> dfx.NameTables:
    """Variant tables of the world's names, limited to characters ``encoding`` can write."""
    vocab = world.names.vocab
    v = world.variants
    ok = (
        strs.gbk_safe_chars([c or "a" for c in vocab], encoding)
        if encoding.lower() not in ("utf-8", "utf8")
        else np.ones(len(vocab), bool)
    )
    n = len(vocab)
    trad = np.where(ok[v.traditional[:n]], v.traditional[:n], np.arange(n))
    homo = v.homophones[:n].copy()
    valid = (homo >= 0) & ok[np.maximum(homo, 0)]
    # compact valid alternatives to the left so counts index them
    order = np.argsort(~valid, axis=1, kind="stable")
    homo = np.take_along_axis(np.where(valid, homo, -1), order, axis=1)
    counts = valid.sum(axis=1).astype(np.int32)
    cps = np.array([ord(c) if c else 0 for c in vocab], dtype=np.uint32)
    return dfx.NameTables(
        cps=cps, homophones=homo, counts=counts, traditional=trad, pinyin=pa.array(v.pinyin[:n], pa.string())
    )


__all__ = [
    "Renderer",
    "Rendered",
    "defect_tags",
    "name_tables",
    "native_labels",
    "record_key",
    "render_codes",
    "render_dates",
]
