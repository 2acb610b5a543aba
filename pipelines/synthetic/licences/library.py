"""The licence library of the true world: one row per paper and holder, with its GB/T 36904 identifier.

Papers are issued in batches of one type (:class:`Issued`); :func:`assemble` turns the batches of a
day into library rows: the holders of one paper (a couple's marriage certificate, a co-owned title)
share a paper group and nothing is issued to a person after their death, so day 1 and the day-2
delta assemble the same way. The issuing department (``standards/codes/licence_types.csv``) and the
identifier (whose serial is the row's place in the library) follow from a row's type and position,
so :meth:`Licences.issuers` derives them for a block of rows when the truth is written instead of
the library holding ~150 bytes more per paper (tens of millions of papers at seed scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from pipelines.synthetic import strs
from pipelines.synthetic.columnar import append_rows
from pipelines.synthetic.population import Persons
from standards.codetables import load_code_table
from standards.identifiers import LICENCE_PREFIX, licence_check_chars

PERSON, ENTITY = 0, 1
NAT = np.datetime64("NaT", "D")
#: Paper groups of single-holder papers start here (a multi-holder paper's group is its first row).
SINGLE_GROUP = 10**9
_IDENT_BLOCK = 250_000  # rows per block of identifier code points (bounds their memory)


@dataclass
class Licences:
    n: int
    type_code: np.ndarray  # licence_types code, '<U3'
    holder_kind: np.ndarray  # PERSON / ENTITY
    holder: np.ndarray  # person or entity id
    number: pa.Array
    issue: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray  # NaT = long-term
    status: np.ndarray  # licence_status code '1'..'4'
    detail: pa.Array
    group: np.ndarray  # shared by the holders of one paper (couple, co-owners), else own index

    def issuers(self, lo: int, hi: int) -> tuple[np.ndarray, pa.Array]:
        """Department keys and GB/T 36904 identifiers of rows ``lo`` to ``hi``."""
        return identifiers(self.type_code[lo:hi], serial_base=lo)

    def of_type(self, *codes: str) -> np.ndarray:
        return np.flatnonzero(np.isin(self.type_code, codes))

    def holders_of(self, code: str, holder_kind: int) -> np.ndarray:
        """Everyone who holds (or held) a paper of type ``code``."""
        idx = self.of_type(code)
        return self.holder[idx[self.holder_kind[idx] == holder_kind]]

    def append(self, more: Licences) -> Licences:
        return append_rows(self, {k: getattr(more, k) for k in self.__dataclass_fields__}, more.n)


@dataclass
class Issued:
    """A batch of papers of one type as a department issued them (one row per holder)."""

    type_code: str
    holder_kind: int
    holder: np.ndarray
    number: pa.Array
    issue: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    status: np.ndarray
    detail: pa.Array | None = None
    #: batch-local paper index shared by the holders of one paper; None: one holder per paper
    group: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.holder.shape[0])


@cache
def licence_types() -> dict[str, dict[str, str]]:
    """``licence_types.csv`` by code: name, holder kind, issuing department, validity years."""
    return {r["code"]: r for r in load_code_table("licence_types").to_pylist()}


def type_names(type_code: np.ndarray) -> np.ndarray:
    """The licence_types name of each code (机动车驾驶证 for 004), for a whole column at once."""
    types = licence_types()
    codes = np.array(sorted(types))
    names = np.array([types[c]["name"] for c in codes])
    return names[np.searchsorted(codes, type_code)] if type_code.size else np.empty(0, names.dtype)


@cache
def department_usccs() -> dict[str, str]:
    return {r["key"]: r["uscc"] for r in load_code_table("departments").to_pylist()}


def assemble(batches: list[Issued], persons: Persons, base: int = 0) -> Licences:
    """Library rows for ``batches``; ``base`` is the number of rows already in the library (their
    paper groups run on from there)."""
    cols = _concat(batches, base)
    # nothing is issued to the dead: drop person papers issued after the holder's death
    is_p = cols["holder_kind"] == PERSON
    death = np.where(is_p, persons.death[np.where(is_p, cols["holder"], 0)], np.datetime64("NaT"))
    keep = np.isnat(death) | (cols["issue"] <= death)
    if not keep.all():
        ki = np.flatnonzero(keep)
        cols = {k: (v.take(pa.array(ki)) if isinstance(v, pa.Array) else v[ki]) for k, v in cols.items()}
    return Licences(n=int(cols["holder"].shape[0]), **cols)


def _concat(batches: list[Issued], base: int) -> dict:
    if not batches:
        batches = [_empty()]
    out: dict = {
        "type_code": np.concatenate([np.full(b.n, b.type_code) for b in batches]),
        "holder_kind": np.concatenate([np.full(b.n, b.holder_kind, np.int8) for b in batches]),
        "holder": np.concatenate([b.holder.astype(np.int64) for b in batches]),
        "number": pa.concat_arrays([b.number.cast(pa.string()) for b in batches]),
        "issue": np.concatenate([b.issue.astype("datetime64[D]") for b in batches]),
        "valid_from": np.concatenate([b.valid_from.astype("datetime64[D]") for b in batches]),
        "valid_to": np.concatenate([b.valid_to.astype("datetime64[D]") for b in batches]),
        "status": np.concatenate([b.status for b in batches]),
        "detail": pa.concat_arrays(
            [(b.detail if b.detail is not None else pa.nulls(b.n, pa.string())).cast(pa.string()) for b in batches]
        ),
    }
    # a batch's paper indices are local: the group of a shared paper is the row of its first holder
    offs = np.cumsum([0] + [b.n for b in batches[:-1]])
    local = np.concatenate(
        [np.full(b.n, -1, np.int64) if b.group is None else b.group + o for b, o in zip(batches, offs)]
    )
    rows = np.arange(local.size) + base
    out["group"] = np.where(local >= 0, local + base, rows + SINGLE_GROUP)
    return out


def _empty() -> Issued:
    none = np.empty(0, "datetime64[D]")
    return Issued("", PERSON, np.empty(0, np.int64), pa.array([], pa.string()), none, none, none, np.empty(0, "<U1"))


def identifiers(type_code: np.ndarray, serial_base: int = 0) -> tuple[np.ndarray, pa.Array]:
    """Department keys and GB/T 36904 identifiers for licences of the given types.

    ``1.2.156.3005.2.{defining USCC + type}.{issuer USCC}.{serial}.{version}.{check}``: every part is
    fixed-width here (21, 18, 10 and 3 characters), so the whole body is one code-point matrix and the
    MOD 37,36 check comes from :func:`standards.identifiers.licence_check_chars` over all rows at once.
    """
    types, depts = licence_types(), department_usccs()
    n = type_code.shape[0]
    codes = np.unique(type_code).tolist()
    t_idx = np.searchsorted(np.array(codes), type_code)
    dept_keys = np.array([types[c]["department"] for c in codes])
    issuer_cp = np.array([[ord(ch) for ch in depts[k]] for k in dept_keys], dtype=np.uint32).reshape(
        len(codes), 18
    )
    code_cp = np.array([[ord(ch) for ch in c] for c in codes], dtype=np.uint32).reshape(len(codes), 3)
    parts = []
    for lo in range(0, max(n, 1), _IDENT_BLOCK):
        ti = t_idx[lo : lo + _IDENT_BLOCK]
        m = ti.shape[0]
        dot = np.full((m, 1), ord("."), np.uint32)
        serial = strs.digit_matrix(serial_base + lo + np.arange(m) + 1, 10).astype(np.uint32) + strs.ZERO
        version = np.broadcast_to(np.array([ord(c) for c in "001"], np.uint32), (m, 3))
        issuer = issuer_cp[ti]
        body = np.concatenate([issuer, code_cp[ti], dot, issuer, dot, serial, dot, version], axis=1)
        check = np.ascontiguousarray(licence_check_chars(strs.cps_to_str(body))).view(np.uint32)
        prefix = np.broadcast_to(
            np.array([ord(c) for c in LICENCE_PREFIX], np.uint32), (m, len(LICENCE_PREFIX))
        )
        parts.append(
            strs.to_arrow(strs.cps_to_str(np.concatenate([prefix, body, dot, check[:, None]], axis=1)))
        )
    return dept_keys[t_idx], pa.concat_arrays(parts) if n else pa.array([], pa.string())
