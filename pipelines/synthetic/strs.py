"""Column-wise string building for the generator: numpy code-point matrices and Arrow kernels.

Millions of identifiers, dates and names are assembled here without a Python loop over records.
Fixed-width values (ID digits, dates, zero-padded serials) are built as ``(N, width)`` matrices of
Unicode code points and reinterpreted as numpy ``<U{width}`` strings in one ``view`` (the fastest
path numpy has); variable-length values (names, addresses) are concatenated with Arrow's
``binary_join_element_wise``. ``pyarrow.compute.strftime`` is avoided on purpose: it goes through
the time-zone machinery and is ~20x slower than the code-point path for plain dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

ZERO = ord("0")

_TOKEN_RE = re.compile(r"%[YmdHMSy%]")
_TOKEN_WIDTH = {"%Y": 4, "%y": 2, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}


def digit_matrix(values: npt.ArrayLike, width: int) -> np.ndarray:
    """Decimal digits of non-negative ints as an ``(N, width)`` uint8 matrix (left zero-padded)."""
    v = np.asarray(values, dtype=np.int64)
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // pow10[None, :]) % 10).astype(np.uint8)


def cps_to_str(cps: np.ndarray) -> np.ndarray:
    """An ``(N, width)`` code-point matrix as a numpy ``<U{width}`` array (trailing NULs are padding)."""
    cps = np.ascontiguousarray(cps, dtype=np.uint32)
    n, width = cps.shape
    if width == 0:
        return np.full(n, "", dtype="<U1")
    return cps.view(f"<U{width}").reshape(n)


def zpad(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings (``<U{width}``)."""
    return cps_to_str(digit_matrix(values, width).astype(np.uint32) + ZERO)


def to_arrow(values: np.ndarray | pa.Array, mask: np.ndarray | None = None) -> pa.Array:
    """numpy strings (or an Arrow array) as an Arrow string array, ``mask`` marking nulls."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        if mask is not None and mask.any():
            arr = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), arr)
        return arr
    arr = pa.array(values, type=pa.string(), mask=mask)
    # numpy unicode input of some size comes back chunked; callers index and concat plain arrays
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def cat(*parts: pa.Array | np.ndarray | str) -> pa.Array:
    """Element-wise concatenation; a null in any part makes the result null (use '' for optional)."""
    conv = [p if isinstance(p, str) else to_arrow(p) for p in parts]
    return pc.binary_join_element_wise(*conv, "")


def take(vocab: Sequence[str] | pa.Array, idx: npt.ArrayLike) -> pa.Array:
    """``vocab[idx]`` as an Arrow string array (idx < 0 gives null)."""
    voc = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab), type=pa.string())
    idx = np.asarray(idx)
    mask = idx < 0
    ind = pa.array(np.where(mask, 0, idx).astype(np.int64), mask=mask if mask.any() else None)
    return voc.take(ind)


def date_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of a ``datetime64`` array (any unit; NaT gives garbage, mask it yourself)."""
    d = np.asarray(dates).astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, day


def format_dates(values: np.ndarray, fmt: str) -> np.ndarray:
    """strftime for a ``datetime64`` array via a code-point matrix; NaT rows come out as ''.

    Supports %Y %y %m %d %H %M %S %% and any literal text (e.g. ``%Y年%m月%d日``).
    """
    v = np.asarray(values)
    nat = np.isnat(v)
    safe = np.where(nat, np.datetime64("2000-01-01", "s"), v.astype("datetime64[s]"))
    y, m, d = date_parts(safe)
    secs = (safe - safe.astype("datetime64[D]")).astype(np.int64)
    fields = {
        "%Y": y,
        "%y": y % 100,
        "%m": m,
        "%d": d,
        "%H": secs // 3600,
        "%M": secs // 60 % 60,
        "%S": secs % 60,
    }
    blocks: list[np.ndarray] = []
    pos = 0
    n = v.shape[0]
    for mt in _TOKEN_RE.finditer(fmt):
        lit = fmt[pos : mt.start()]
        if lit:
            blocks.append(np.broadcast_to(np.array([ord(c) for c in lit], dtype=np.uint32), (n, len(lit))))
        tok = mt.group(0)
        if tok == "%%":
            blocks.append(np.full((n, 1), ord("%"), dtype=np.uint32))
        else:
            blocks.append(digit_matrix(fields[tok], _TOKEN_WIDTH[tok]).astype(np.uint32) + ZERO)
        pos = mt.end()
    if fmt[pos:]:
        lit = fmt[pos:]
        blocks.append(np.broadcast_to(np.array([ord(c) for c in lit], dtype=np.uint32), (n, len(lit))))
    out = cps_to_str(np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0), np.uint32))
    if nat.any():
        out = out.copy()
        out[nat] = ""
    return out


def gbk_safe_chars(chars: Sequence[str], encoding: str) -> np.ndarray:
    """Boolean mask: which single characters the encoding can write (a loop over a vocabulary)."""
    ok = np.ones(len(chars), dtype=bool)
    for i, ch in enumerate(chars):
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            ok[i] = False
    return ok


def num(values: npt.ArrayLike) -> pa.Array:
    """Integers as decimal strings (variable width)."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
