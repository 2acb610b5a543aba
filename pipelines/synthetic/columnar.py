"""Row operations on the world's dataclasses of parallel columns (persons, entities, licences).

Each of those dataclasses is a set of equally long NumPy / Arrow columns plus its row count ``n``; the
day-2 world copies the day-1 one, appends the day's new rows and takes subsets field by field, so
those operations live here once instead of in each dataclass; :func:`share_unchanged` then lets the
day-1 world read its unchanged columns from the day-2 one instead of holding a second copy.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

T = TypeVar("T")


def take_field(value: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of one column (scalars, such as ``n``, are left as they are)."""
    if isinstance(value, pa.Array):
        return value.take(pa.array(idx))
    if isinstance(value, np.ndarray):
        return value[idx]
    return value


def take_rows(obj: T, idx: np.ndarray) -> T:
    """A copy of ``obj`` holding only rows ``idx`` (``n`` set to their count)."""
    vals = {f.name: take_field(getattr(obj, f.name), idx) for f in fields(obj)}  # type: ignore[arg-type]
    vals["n"] = int(np.asarray(idx).size)
    return type(obj)(**vals)


def copy_rows(obj: T) -> T:
    """A copy whose NumPy columns may be changed in place without touching ``obj``."""
    return type(obj)(
        **{
            f.name: (v.copy() if isinstance(v := getattr(obj, f.name), np.ndarray) else v)
            for f in fields(obj)  # type: ignore[arg-type]
        }
    )


def append_rows(obj: T, extra: dict[str, Any], n_new: int) -> T:
    """A copy of ``obj`` with ``n_new`` rows appended, given column by column in ``extra``."""
    vals: dict[str, Any] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        cur = getattr(obj, f.name)
        if f.name == "n":
            vals["n"] = cur + n_new
        elif isinstance(cur, pa.Array):
            vals[f.name] = pa.concat_arrays([cur, extra[f.name].cast(cur.type)])
        elif isinstance(cur, np.ndarray):
            vals[f.name] = np.concatenate([cur, np.asarray(extra[f.name]).astype(cur.dtype, copy=False)])
        else:
            vals[f.name] = cur
    return type(obj)(**vals)


def same_values(a: Any, b: Any) -> bool:
    """Whether two columns hold the same values, byte for byte (NaT equal to NaT)."""
    if isinstance(a, pa.Array) and isinstance(b, pa.Array):
        return a.type == b.type and a.equals(b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape or a.dtype.hasobject:
            return False
        return bool(np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8)))
    return False


def share_unchanged(old: T, new: T) -> None:
    """Let ``old`` (``n`` rows) read each column that ``new``'s first ``n`` rows hold unchanged from
    ``new`` (a view, no copy), so the copy ``old`` held can be freed. ``new`` must not be changed in
    place afterwards."""
    n = int(old.n)  # type: ignore[attr-defined]
    for f in fields(old):  # type: ignore[arg-type]
        a, b = getattr(old, f.name), getattr(new, f.name)
        head = b.slice(0, n) if isinstance(b, pa.Array) else b[:n] if isinstance(b, np.ndarray) else None
        if head is not None and a is not b and same_values(a, head):
            setattr(old, f.name, head)
