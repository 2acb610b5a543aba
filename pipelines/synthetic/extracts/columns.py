"""The columns a builder hands to the renderer, keyed by the element of the standard they carry.

A builder states what a department holds in the standard's words: ``"person.id_number": P(sel)``,
``"licence.valid_to": D(...)``. :func:`bind` then puts each column under the native name the source
spec gives the field that maps that element, so the spec alone names the columns (a column renamed
in ``schemas/sources`` is renamed in the generated table). Only a field that maps no element is
given under its native name, the one handle the spec has for it.

Column constructors: ``P`` resident id of a person, ``N`` name of a person, ``T`` text (``role``
address / phone / uscc / entity_name gets that group's defects), ``D`` date, ``C`` standard code,
``S`` update timestamp, ``V`` number, ``K`` serial record key (duplicates get fresh keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from core.errors import ConfigurationError
from pipelines.registry import Table
from pipelines.synthetic import strs


class ExtractError(ConfigurationError):
    """The generator and a source spec disagree: one line naming the source, table and column."""


@dataclass
class Col:
    kind: str  # pid | pname | text | date | code | stamp | num | key
    values: Any
    role: str | None = None
    alt: Any = None
    fallback: pa.Array | None = None
    dup_key: Callable[[np.ndarray], Any] | None = None
    #: the value as recorded at an event (a marriage registration): later events leave it as it is
    as_recorded: bool = False

    def take(self, idx: np.ndarray) -> Col:
        def t(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, (pa.Array, pa.ChunkedArray)):
                return v.take(pa.array(idx))
            return v[idx]

        return replace(self, values=t(self.values), alt=t(self.alt), fallback=t(self.fallback))


def P(ids: np.ndarray, fallback: pa.Array | None = None) -> Col:
    return Col("pid", np.asarray(ids, np.int64), fallback=fallback)


def N(ids: np.ndarray, fallback: pa.Array | None = None) -> Col:
    return Col("pname", np.asarray(ids, np.int64), fallback=fallback)


def T(values: pa.Array | np.ndarray, role: str | None = None, alt: pa.Array | None = None) -> Col:
    return Col(
        "text", strs.to_arrow(values) if not isinstance(values, pa.Array) else values, role=role, alt=alt
    )


def D(dates: np.ndarray, role: str | None = None) -> Col:
    return Col("date", np.asarray(dates, "datetime64[D]"), role=role)


def C(codes: np.ndarray, role: str | None = None, as_recorded: bool = False) -> Col:
    return Col("code", np.asarray(codes).astype(str), role=role, as_recorded=as_recorded)


def S(stamps: np.ndarray) -> Col:
    return Col("stamp", np.asarray(stamps, "datetime64[s]"))


def V(values: np.ndarray) -> Col:
    return Col("num", np.asarray(values))


def K(values: Any, dup_key: Callable[[np.ndarray], Any]) -> Col:
    return Col("key", values, dup_key=dup_key)


@dataclass
class Extract:
    """The rows a department holds as true values, and the person / entity / licence behind each."""

    n: int
    cols: dict[str, Col]
    person: np.ndarray
    entity: np.ndarray
    licence: np.ndarray

    def take(self, idx: np.ndarray) -> Extract:
        return Extract(
            idx.size,
            {k: c.take(idx) for k, c in self.cols.items()},
            self.person[idx],
            self.entity[idx],
            self.licence[idx],
        )


def extract(
    cols: dict[str, Col],
    person: np.ndarray | None = None,
    entity: np.ndarray | None = None,
    licence: np.ndarray | None = None,
) -> Extract:
    n = next(len(c.values) for c in cols.values())
    none = np.full(n, -1, np.int64)
    return Extract(
        n,
        cols,
        none if person is None else np.asarray(person, np.int64),
        none if entity is None else np.asarray(entity, np.int64),
        none if licence is None else np.asarray(licence, np.int64),
    )


def field_key(column: str, element: str | None) -> str:
    """The key a builder gives a field's column under: its element, or its native name if it maps none."""
    return element or column


def bind(source: str, table: Table, ex: Extract) -> Extract:
    """``ex`` with its columns under the table's native names, in the spec's field order."""
    cols: dict[str, Col] = {}
    for f in table.fields:
        key = field_key(f.column, f.element)
        col = ex.cols.get(key)
        if col is None:
            what = f"element {f.element}" if f.element else "no element"
            raise ExtractError(
                f"schemas/sources/{source}.yaml: table {table.name}: column {f.column!r} ({what}) "
                "has no value in the synthetic generator"
            )
        cols[f.column] = col
    return replace(ex, cols=cols)


__all__ = ["C", "Col", "D", "Extract", "ExtractError", "K", "N", "P", "S", "T", "V", "bind", "extract", "field_key"]
