"""Identifier validation, repair and minting for the unified data standard.

Four identifiers key the three base libraries (docs/STANDARD.md has the algorithms and test values):

* resident identity number, GB 11643-1999 (18 characters, ISO 7064 MOD 11-2; legacy 15 digits);
* unified social credit code (USCC), GB 32100-2015 (18 characters from a 31-character alphabet);
* organisation code, GB 11714 (9 characters, embedded in the USCC at positions 9-17);
* electronic-licence identifier, GB/T 36904 (``1.2.156.3005.2.…``, ISO 7064 MOD 37,36).

The module has two audiences, hence two implementations of each check that tests keep equal:

1. the synthetic-city generator mints identifiers by the million, so the check characters come from
   numpy functions over 2-D arrays of character values (one column loop of 17 steps, never a row loop);
2. the silver standardisation step validates and repairs millions of rows where they already live, in
   DuckDB, so :func:`install_identifier_macros` creates SQL scalar macros whose check sums are generated
   here as explicit weighted sums (no Python UDF, so nothing leaves the engine). The macro bodies are
   plain DuckDB SQL that sqlglot parses, so the same text can be transpiled when a deployment outgrows
   one machine (docs/ARCHITECTURE.md: "SQL is written once, in one dialect").

Each ``*_check(x)`` macro returns ``STRUCT(value VARCHAR, reason VARCHAR)``: the canonical identifier (or
NULL when it cannot be made valid) and a :class:`~standards.reasons.Reason` code: NULL for a value that
needed nothing, a repair code when a cosmetic defect was fixed, else the first rejection that applies.
``*_normalise(x)`` and ``*_reason(x)`` are its two fields.

Macro hygiene: macro arguments are substituted textually, so lambda parameters inside the bodies have
``__``-prefixed names that cannot capture a caller's column (``rid_normalise(c)`` must mean the column
``c``). Values that a body needs several times are bound once with the ``list_transform([expr], lambda
__v: …)[1]`` idiom, because DuckDB does not share common sub-expressions inside ``CASE`` and the checks
would otherwise re-run the cleaning regex for every character of the check sum.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from standards.reasons import Reason

__all__ = [
    "RID_WEIGHTS",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "USCC_CATEGORIES",
    "ORG_CODE_ALPHABET",
    "ORG_CODE_WEIGHTS",
    "LICENCE_ALPHABET",
    "LICENCE_PREFIX",
    "MIN_BIRTH_YEAR",
    "PLACEHOLDER_TOKENS",
    "MacroDef",
    "area_codes",
    "resident_id_check_chars",
    "uscc_check_chars",
    "org_code_check_chars",
    "licence_check_chars",
    "resident_id_check_char",
    "uscc_check_char",
    "org_code_check_char",
    "licence_check_char",
    "make_licence_identifier",
    "upgrade_15_to_18",
    "downgrade_18_to_15",
    "upgrade_15_to_18_array",
    "macro_definitions",
    "install_identifier_macros",
    "validate_resident_ids",
    "validate_usccs",
    "validate_org_codes",
    "validate_licence_ids",
]

# ----------------------------------------------------------------------------------------------------
# Constants (docs/STANDARD.md)
# ----------------------------------------------------------------------------------------------------

#: GB 11643 / ISO 7064 MOD 11-2 weights for the first 17 digits (2^(17-i) mod 11).
RID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character indexed by (weighted sum mod 11).
RID_CHECK_CHARS = "10X98765432"
#: Birth dates before this year are data errors, not centenarians (docs/STANDARD.md).
MIN_BIRTH_YEAR = 1890

#: GB 32100 alphabet: digits and upper-case letters without I, O, S, V, Z; a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: W_i = 3^(i-1) mod 31.
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

#: GB 32100 registration-authority + organisation-category pairs (positions 1-2). docs/STANDARD.md lists the
#: common ones (1x, 5x, 9x, Y1) and notes that A… and N… codes exist; the full table below is the one
#: published with GB 32100 (authorities 2-4, 6-8, A and N included) so real codes are not rejected.
USCC_CATEGORIES: dict[str, str] = {
    "11": "机构编制: 机关",
    "12": "机构编制: 事业单位",
    "13": "机构编制: 中央编办直接管理机构编制的群众团体",
    "19": "机构编制: 其他",
    "21": "外交: 外国常驻新闻机构",
    "29": "外交: 其他",
    "31": "司法行政: 律师执业机构",
    "32": "司法行政: 公证处",
    "33": "司法行政: 基层法律服务所",
    "34": "司法行政: 司法鉴定机构",
    "35": "司法行政: 仲裁委员会",
    "39": "司法行政: 其他",
    "41": "文化: 外国在华文化中心",
    "49": "文化: 其他",
    "51": "民政: 社会团体",
    "52": "民政: 民办非企业单位",
    "53": "民政: 基金会",
    "59": "民政: 其他",
    "61": "旅游: 外国旅游部门常驻代表机构",
    "62": "旅游: 港澳台地区旅游部门常驻内地(大陆)代表机构",
    "69": "旅游: 其他",
    "71": "宗教: 宗教活动场所",
    "72": "宗教: 宗教院校",
    "79": "宗教: 其他",
    "81": "工会: 基层工会",
    "89": "工会: 其他",
    "91": "工商: 企业",
    "92": "工商: 个体工商户",
    "93": "工商: 农民专业合作社",
    "A1": "中央军委改革和编制办公室: 军队事业单位",
    "A9": "中央军委改革和编制办公室: 其他",
    "N1": "农业: 组级集体经济组织",
    "N2": "农业: 村级集体经济组织",
    "N3": "农业: 乡镇级集体经济组织",
    "N9": "农业: 其他",
    "Y1": "其他",
}

#: GB 11714 alphabet (digits 0-9, A=10 … Z=35) and weights for the first 8 characters.
ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
#: Check character indexed by C9 = 11 - (sum mod 11) in 1..11 (10 -> X, 11 -> 0); index 0 is unused.
_ORG_CHECK_BY_C9 = "0123456789X0"

#: ISO 7064 MOD 37,36 alphabet of the licence identifier.
LICENCE_ALPHABET = ORG_CODE_ALPHABET
LICENCE_PREFIX = "1.2.156.3005.2."
_LICENCE_SERIAL_MAX = 40
#: Character value that leaves the MOD 37,36 state P = 36 (the start state) unchanged: (36+18-1)%36+1 = 18
#: and 2*18 % 37 = 36. Left-padding with it lets strings of any length share one fixed-width recurrence.
_LICENCE_NEUTRAL = 18

#: Cleaned values (upper case, spaces removed) that stand for "no identifier" in departmental data.
PLACEHOLDER_TOKENS: tuple[str, ...] = (
    "NULL", "NONE", "NAN", "NA", "N/A", "-", "--", "/", "无", "空", "不详", "未知", "暂无", "缺失",
)  # fmt: skip
#: Ascending and descending digit runs: a cleaned value whose first 17 characters (6 at least) are a
#: substring of one of these is a keyboard filler such as 123456789012345678.
_ASCENDING_RUN = "0123456789" * 3
_DESCENDING_RUN = "9876543210" * 3

_RID_CHECK_ARRAY = np.array(list(RID_CHECK_CHARS), dtype="<U1")
_USCC_ARRAY = np.array(list(USCC_ALPHABET), dtype="<U1")
_ORG_CHECK_ARRAY = np.array(list(_ORG_CHECK_BY_C9), dtype="<U1")
_LICENCE_ARRAY = np.array(list(LICENCE_ALPHABET), dtype="<U1")

_RID18_RE = re.compile(r"[0-9]{17}[0-9X]")
_USCC_RE = re.compile(f"[{USCC_ALPHABET}]{{18}}")
_ALNUM_RE = re.compile(r"[0-9A-Z]+")

# ----------------------------------------------------------------------------------------------------
# GB/T 2260 area codes
# ----------------------------------------------------------------------------------------------------

_CODES_DIR = Path(__file__).resolve().parent / "codes"
_GB2260_CSV = _CODES_DIR / "gb2260.csv"


@functools.lru_cache(maxsize=1)
def area_codes() -> frozenset[str]:
    """Every 6-digit GB/T 2260 code, current and historical, that an identifier may carry.

    IDs keep the area code in force when they were issued (Bozhou's were Fuyang's before 2000), so the
    set must include abolished codes. The project's own table ``standards/codes/gb2260.csv`` wins when
    it exists; python-stdnum's ``loc.dat`` is the fallback so validation works before (or without) it.
    """
    codes = _area_codes_from_csv(_GB2260_CSV)
    return codes if codes else _area_codes_from_stdnum()


def _area_codes_from_csv(path: Path) -> frozenset[str]:
    """6-digit codes from the project's GB/T 2260 table; empty if the file is absent or unusable."""
    if not path.is_file():
        return frozenset()
    try:
        from pyarrow import csv as pacsv

        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={"code": pa.string()}, include_columns=["code"]
            ),
        )
    except (pa.ArrowInvalid, KeyError, OSError):
        return frozenset()
    code = pc.utf8_trim_whitespace(table.column("code"))
    code = code.filter(pc.fill_null(pc.match_substring_regex(code, r"^[0-9]{6}$"), False))
    return frozenset(code.to_pylist())


def _area_codes_from_stdnum() -> frozenset[str]:
    """Parse python-stdnum's ``cn/loc.dat``: ``34 province=…`` then indented ``  1602 county=…`` lines.

    Every province + 4-digit line is a code (prefecture ``xx xx 00`` codes included, as in stdnum), plus
    ``xx0000`` for each province.
    """
    import stdnum.cn

    path = os.path.join(os.path.dirname(stdnum.cn.__file__), "loc.dat")
    codes: set[str] = set()
    province = ""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            if m := re.match(r"^(\d{2})\s", line):
                province = m.group(1)
                codes.add(province + "0000")
            elif (m := re.match(r"^\s+(\d{4})\s", line)) and province:
                codes.add(province + m.group(1))
    return frozenset(codes)


# ----------------------------------------------------------------------------------------------------
# numpy: bulk check characters for minting
# ----------------------------------------------------------------------------------------------------


def _as_value_matrix(values: Any, width: int, upper: int, what: str) -> np.ndarray:
    """Validate an (N, width) integer matrix of character values in 0..upper."""
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{what} must have shape (N, {width}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must be an integer array, got {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > upper):
        raise ValueError(f"{what} values must lie in 0..{upper}")
    return arr


def _weighted_sums(values: np.ndarray, weights: Sequence[int]) -> np.ndarray:
    """Row-wise sum(values * weights) in uint16.

    einsum with a buffered cast is ~3x faster than a column loop and does not materialise an int copy of
    the (N, k) matrix (10M x 17 in ~0.15 s). uint16 is wide enough for every scheme here (max 30*30*17).
    """
    w = np.asarray(weights, dtype=np.uint16)
    return np.einsum("ij,j->i", values, w, dtype=np.uint16, casting="unsafe")


def resident_id_check_chars(digits17: np.ndarray) -> np.ndarray:
    """GB 11643 check characters for an (N, 17) array of digits 0-9; returns ``<U1`` ('0'-'9' or 'X')."""
    d = _as_value_matrix(digits17, 17, 9, "digits17")
    return _RID_CHECK_ARRAY[_weighted_sums(d, RID_WEIGHTS) % 11]


def uscc_check_chars(values17: np.ndarray) -> np.ndarray:
    """GB 32100 check characters for an (N, 17) array of alphabet values 0-30; returns ``<U1``."""
    v = _as_value_matrix(values17, 17, 30, "values17")
    return _USCC_ARRAY[(31 - _weighted_sums(v, USCC_WEIGHTS).astype(np.int32) % 31) % 31]


def org_code_check_chars(values8: np.ndarray) -> np.ndarray:
    """GB 11714 check characters for an (N, 8) array of values 0-35 (A=10 … Z=35); returns ``<U1``."""
    v = _as_value_matrix(values8, 8, 35, "values8")
    return _ORG_CHECK_ARRAY[11 - _weighted_sums(v, ORG_CODE_WEIGHTS).astype(np.int32) % 11]


#: Code point -> MOD 37,36 value; -2 marks characters that are skipped (dot separator, NUL padding of
#: numpy fixed-width strings), -1 characters that are not allowed.
_LICENCE_VALUE_LUT = np.full(128, -1, dtype=np.int16)
_LICENCE_VALUE_LUT[ord("0") : ord("9") + 1] = np.arange(10)
_LICENCE_VALUE_LUT[ord("A") : ord("Z") + 1] = np.arange(10, 36)
_LICENCE_VALUE_LUT[ord("a") : ord("z") + 1] = np.arange(10, 36)
_LICENCE_VALUE_LUT[ord(".")] = -2
_LICENCE_VALUE_LUT[0] = -2


def _to_unicode_array(values: Any) -> np.ndarray:
    """1-D numpy ``<U`` array from a list / numpy / pyarrow / pandas input (no nulls allowed)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if values.null_count:
            raise ValueError("values must not contain nulls")
        values = values.to_numpy(zero_copy_only=False)
    elif hasattr(values, "to_numpy"):  # pandas Series / Index
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind != "U":
        if arr.dtype.kind == "O" and bool(np.equal(arr, np.array(None, dtype=object)).any()):
            raise ValueError("values must not contain nulls")
        arr = arr.astype(str)
    return arr.reshape(-1)


def licence_check_chars(strings: np.ndarray | Sequence[str]) -> np.ndarray:
    """ISO 7064 MOD 37,36 check characters for dot-free (dots are ignored) licence bodies.

    The body is type code + issuer code + serial + version. Strings become an (N, width) matrix of code
    points (numpy pads shorter strings with NUL on the right); the recurrence runs column by column and
    leaves a row's state untouched where the column is padding or a dot, so strings of all lengths go
    through together. Rows are processed in blocks to bound the matrix's memory.
    """
    arr = _to_unicode_array(strings)
    out = np.empty(arr.shape[0], dtype="<U1")
    if arr.size == 0:
        return out
    width = arr.dtype.itemsize // 4
    block = max(1, 4_000_000 // max(width, 1))
    for start in range(0, arr.shape[0], block):
        part = np.ascontiguousarray(arr[start : start + block])
        cps = part.view(np.uint32).reshape(part.shape[0], width)
        if (cps >= 128).any():
            raise ValueError("licence bodies may only contain 0-9, A-Z and dots")
        vals = _LICENCE_VALUE_LUT[cps]
        if (vals == -1).any():
            raise ValueError("licence bodies may only contain 0-9, A-Z and dots")
        if not (vals >= 0).any(axis=1).all():
            raise ValueError("licence bodies must not be empty")
        p = np.full(part.shape[0], 36, dtype=np.int16)
        for j in range(width):  # a loop over character positions; each step is vectorised over rows
            v = vals[:, j]
            p = np.where(v >= 0, (2 * ((p + v - 1) % 36 + 1)) % 37, p)
        out[start : start + block] = _LICENCE_ARRAY[(37 - p) % 36]
    return out


# ----------------------------------------------------------------------------------------------------
# Scalar conveniences
# ----------------------------------------------------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Check character of a resident id from its first 17 digits (an 18th character is ignored)."""
    body = first17[:17]
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return RID_CHECK_CHARS[sum(int(c) * w for c, w in zip(body, RID_WEIGHTS)) % 11]


def uscc_check_char(first17: str) -> str:
    """Check character of a USCC from its first 17 characters (an 18th character is ignored)."""
    body = first17[:17].upper()
    if len(body) != 17 or any(c not in USCC_ALPHABET for c in body):
        raise ValueError(f"need 17 characters of {USCC_ALPHABET}, got {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """Check character of a GB 11714 organisation code from its first 8 characters."""
    body = first8[:8].upper()
    if len(body) != 8 or not _ALNUM_RE.fullmatch(body):
        raise ValueError(f"need 8 characters 0-9/A-Z, got {first8!r}")
    total = sum(ORG_CODE_ALPHABET.index(c) * w for c, w in zip(body, ORG_CODE_WEIGHTS))
    return _ORG_CHECK_BY_C9[11 - total % 11]


def licence_check_char(body: str) -> str:
    """ISO 7064 MOD 37,36 check character over type+issuer+serial+version (dots are ignored)."""
    text = body.replace(".", "").upper()
    if not text or not _ALNUM_RE.fullmatch(text):
        raise ValueError(f"licence body may only contain 0-9, A-Z and dots, got {body!r}")
    p = 36
    for ch in text:
        p = (2 * ((p + LICENCE_ALPHABET.index(ch) - 1) % 36 + 1)) % 37
    return LICENCE_ALPHABET[(37 - p) % 36]


def _is_valid_uscc_check(code: str) -> bool:
    return bool(_USCC_RE.fullmatch(code)) and uscc_check_char(code) == code[17]


def make_licence_identifier(type_code: str, issuer_code: str, serial: str, version: str | int) -> str:
    """``1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}`` after checking every part.

    Raises ValueError on a part the validators would reject (including an embedded USCC with a wrong
    check character), so the generator cannot mint identifiers the silver step then quarantines.
    """
    type_code, issuer_code, serial = type_code.upper(), issuer_code.upper(), serial.upper()
    version = f"{version:03d}" if isinstance(version, int) else version
    if len(type_code) != 21 or not type_code[18:].isdigit() or not _is_valid_uscc_check(type_code[:18]):
        raise ValueError(f"type code must be a valid USCC + 3 digits, got {type_code!r}")
    if not _is_valid_uscc_check(issuer_code):
        raise ValueError(f"issuer code must be a valid USCC, got {issuer_code!r}")
    if not (1 <= len(serial) <= _LICENCE_SERIAL_MAX and _ALNUM_RE.fullmatch(serial)):
        raise ValueError(f"serial must be 1-{_LICENCE_SERIAL_MAX} characters 0-9/A-Z, got {serial!r}")
    if not (len(version) == 3 and version.isascii() and version.isdigit()):
        raise ValueError(f"version must be 3 digits, got {version!r}")
    check = licence_check_char(type_code + issuer_code + serial + version)
    return f"{LICENCE_PREFIX}{type_code}.{issuer_code}.{serial}.{version}.{check}"


def upgrade_15_to_18(id15: str) -> str:
    """Legacy 15-digit resident id -> 18 characters: insert century 19 and append the check character."""
    if len(id15) != 15 or not id15.isascii() or not id15.isdigit():
        raise ValueError(f"need 15 digits, got {id15!r}")
    body = id15[:6] + "19" + id15[6:]
    return body + resident_id_check_char(body)


def downgrade_18_to_15(id18: str) -> str:
    """18-character resident id -> its legacy 15-digit form (only for births in the 1900s)."""
    id18 = id18.upper()
    if not _RID18_RE.fullmatch(id18) or resident_id_check_char(id18) != id18[17]:
        raise ValueError(f"not a well-formed 18-character id: {id18!r}")
    if id18[6:8] != "19":
        raise ValueError(f"only ids of people born 1900-1999 had a 15-digit form: {id18!r}")
    return id18[:6] + id18[8:17]


def upgrade_15_to_18_array(values: Any) -> np.ndarray | pa.Array:
    """Vectorised :func:`upgrade_15_to_18`; every value must be 15 digits (ValueError otherwise).

    Works on the code-point matrix of a numpy ``<U15`` array (inserting two columns and a check column),
    so 10M values take well under a second once they are in numpy. Returns a ``<U18`` numpy array, or a
    pyarrow string array when given pyarrow input.
    """
    arr = _to_unicode_array(values)
    n = arr.shape[0]
    if n == 0:
        out: np.ndarray = np.empty(0, dtype="<U18")
    else:
        if arr.dtype.itemsize // 4 != 15:
            raise ValueError("every value must be exactly 15 digits")
        cps = np.ascontiguousarray(arr).view(np.uint32).reshape(n, 15)
        if ((cps < 48) | (cps > 57)).any():
            raise ValueError("every value must be exactly 15 digits")
        full = np.empty((n, 18), dtype=np.uint32)
        full[:, :6] = cps[:, :6]
        full[:, 6] = ord("1")
        full[:, 7] = ord("9")
        full[:, 8:17] = cps[:, 6:]
        full[:, 17] = resident_id_check_chars((full[:, :17] - 48).astype(np.uint8)).view(np.uint32)
        out = full.view("<U18").reshape(n)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pa.array(out, type=pa.string())
    return out


# ----------------------------------------------------------------------------------------------------
# SQL generation
# ----------------------------------------------------------------------------------------------------


class MacroDef(NamedTuple):
    """One DuckDB scalar macro: ``CREATE OR REPLACE MACRO name(params) AS body``."""

    name: str
    params: tuple[str, ...]
    body: str

    @property
    def create_sql(self) -> str:
        return f"CREATE OR REPLACE MACRO {self.name}({', '.join(self.params)}) AS {self.body}"


def _lit(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Whitespace of every kind: ASCII, Unicode separators (U+3000 ideographic space, U+00A0), zero-width.
_WS_CLASS = r"[\s\p{Z}\x{200B}\x{FEFF}]"
# Full-width ASCII variants U+FF01-U+FF5E map to U+0021-U+007E (apostrophe and backslash left out so
# the literal stays free of escaping differences between dialects).
_FW_PAIRS = [(chr(cp), chr(cp - 0xFEE0)) for cp in range(0xFF01, 0xFF5F) if chr(cp - 0xFEE0) not in "'\\"]
_FW_FROM = "".join(a for a, _ in _FW_PAIRS)
_FW_TO = "".join(b for _, b in _FW_PAIRS)
_FW_CLASS = r"[\x{FF01}-\x{FF5E}]"
_USCC_CLASS = "[0-9A-HJ-NP-RTUW-Y]"
_R = {r.name: _lit(r.value) for r in Reason}  # reason literals for the SQL bodies


def _rx(expr: str, pattern: str) -> str:
    """Anchored regex test; ``regexp_matches`` with ^…$ transpiles to ``RLIKE`` for Spark."""
    return f"regexp_matches({expr}, {_lit('^(?:' + pattern + ')$')})"


def _weighted(expr: str, weights: Sequence[int], positions: Sequence[int], value_sql: str) -> str:
    """``sum(value(substr(expr, pos, 1)) * w)`` as explicit terms; ``value_sql`` has a ``{ch}`` slot."""
    return " + ".join(
        f"{value_sql.format(ch=f'substr({expr}, {p}, 1)')} * {w}" for p, w in zip(positions, weights)
    )


def _rid_check_sql(s: str) -> str:
    """Check character of the first 17 digits of ``s`` (digits: ascii - 48, folded into one constant)."""
    terms = _weighted(s, RID_WEIGHTS, range(1, 18), "ascii({ch})")
    return f"substr('{RID_CHECK_CHARS}', ({terms} - {48 * sum(RID_WEIGHTS)}) % 11 + 1, 1)"


def _rid15_check_sql(s: str) -> str:
    """Check character of the 18-digit upgrade of 15-digit ``s`` without building the upgraded string:
    positions 1-6 and 7-15 of ``s`` take weights 1-6 and 9-17; the inserted '1','9' add a constant."""
    w = RID_WEIGHTS
    terms = _weighted(s, w[:6] + w[8:], list(range(1, 16)), "ascii({ch})")
    constant = 1 * w[6] + 9 * w[7] - 48 * (sum(w) - w[6] - w[7])
    return f"substr('{RID_CHECK_CHARS}', ({terms} + {constant}) % 11 + 1, 1)"


def _uscc_check_sql(s: str) -> str:
    terms = _weighted(s, USCC_WEIGHTS, range(1, 18), f"strpos('{USCC_ALPHABET}', {{ch}})")
    return f"substr('{USCC_ALPHABET}', (31 - ({terms} - {sum(USCC_WEIGHTS)}) % 31) % 31 + 1, 1)"


def _org_check_sql(s: str, start: int = 1) -> str:
    """Check character of the 8 characters of ``s`` from ``start`` (1 standalone, 9 inside a USCC)."""
    terms = _weighted(s, ORG_CODE_WEIGHTS, range(start, start + 8), f"strpos('{ORG_CODE_ALPHABET}', {{ch}})")
    return f"substr('{_ORG_CHECK_BY_C9}', 12 - ({terms} - {sum(ORG_CODE_WEIGHTS)}) % 11, 1)"


def _licence_state_sql(body: str, start: str = "36") -> str:
    """The MOD 37,36 state after the characters of ``body`` (dots skipped), from state ``start``."""
    chars = f"str_split(replace({body}, '.', ''), '')"
    values = f"list_transform({chars}, lambda __ch: strpos('{LICENCE_ALPHABET}', __ch) - 1)"
    return f"list_reduce({values}, lambda __p, __v: (2 * ((__p + __v - 1) % 36 + 1)) % 37, {start})"


def _licence_check_sql(body: str, start: str = "36") -> str:
    return f"substr('{LICENCE_ALPHABET}', (37 - {_licence_state_sql(body, start)}) % 36 + 1, 1)"


#: Where a licence identifier's type code and issuer code sit (``LICENCE_PREFIX`` stripped): the
#: 40 characters ``<21>.<18>`` from here. Few distinct pairs occur (the type codes times the issuers
#: of each), so what depends on them alone is computed once per pair: see ``licence_id_check_split``.
LICENCE_PAIR_START = len(LICENCE_PREFIX) + 1
LICENCE_PAIR_LENGTH = 40


def licence_pair_sql(x: str) -> str:
    """SQL of the type + issuer part of licence identifier ``x`` (the argument of ``licence__pair_facts``)."""
    return f"substr(CAST({x} AS VARCHAR), {LICENCE_PAIR_START}, {LICENCE_PAIR_LENGTH})"


def _placeholder_sql(c: str) -> str:
    """A null token, or first 17 characters (the body of an 18-character id, or all of a shorter value)
    that are one repeated character or a run of consecutive digits."""
    tokens = ", ".join(_lit(t) for t in PLACEHOLDER_TOKENS)
    head = f"left({c}, 17)"
    return (
        f"({c} IN ({tokens}) OR {head} = repeat(left({c}, 1), length({head})) OR (length({c}) >= 6 AND "
        f"(contains('{_ASCENDING_RUN}', {head}) OR contains('{_DESCENDING_RUN}', {head}))))"
    )


def _checked(reject_macro: str) -> str:
    """Bind the cleaned input once (``__c``), then its rejection reason once (``__r``), and build the
    ``{value, reason}`` struct: the value only when nothing rejected it; the reason is the rejection or,
    for an accepted value, the cosmetic repair it needed (NULL if none)."""
    return (
        f"list_transform([id_clean(x)], lambda __c: list_transform([{reject_macro}(__c)], lambda __r: "
        "{'value': CASE WHEN __r IS NULL THEN __c END, 'reason': coalesce(__r, id__repair(x, __c))})[1])[1]"
    )


def _fast_path(chars: str, reject_macro: str, slow: str, more: str = "") -> str:
    """``{value: x, reason: NULL}`` for a value already in its canonical form, else ``slow``.

    Most identifiers arrive valid and canonical. A text of only ``chars`` (no lower case, spaces or
    full-width forms) is its own cleaned form and needed no repair, so when ``reject_macro`` (the
    rejection tests) finds nothing wrong with the text itself, the answer is the text with no
    reason - exactly what ``slow`` would build through ``id_clean``, its lambdas and ``id__repair``,
    which then run only on the minority of values that fail here (CASE evaluates its ELSE for those rows only). About half of
    the cost of the check on a valid licence identifier is that wrapping (measured:
    benchmarks/RESULTS_quality.md, 2026-12-07).
    """
    return (
        f"CASE WHEN {_rx('CAST(x AS VARCHAR)', chars)} AND {reject_macro}(CAST(x AS VARCHAR){more}) IS NULL "
        "THEN {'value': CAST(x AS VARCHAR), 'reason': CAST(NULL AS VARCHAR)} "
        f"ELSE {slow} END"
    )


@functools.cache
def macro_definitions() -> tuple[MacroDef, ...]:
    """All identifier macros in creation order (a macro only uses those before it)."""
    ws = _lit(_WS_CLASS)
    fw = _lit(_FW_CLASS)
    defs: list[MacroDef] = []

    def add(name: str, params: str, body: str) -> None:
        defs.append(MacroDef(name, tuple(p.strip() for p in params.split(",")), body))

    def family(name: str, check: str) -> None:
        """``{name}_check(x)`` -> {value, reason}, and its two halves ``_normalise`` and ``_reason``."""
        add(f"{name}_check", "x", check)
        add(f"{name}_normalise", "x", f"{name}_check(x).value")
        add(f"{name}_reason", "x", f"{name}_check(x).reason")

    # -- shared ------------------------------------------------------------------------------------
    # translate() rebuilds its character map for every row (~1.5 s per million), so it only runs on the
    # rare values that hold a full-width character.
    add("id_clean", "x", (
        f"upper(regexp_replace(CASE WHEN regexp_matches(CAST(x AS VARCHAR), {fw}) "
        f"THEN translate(CAST(x AS VARCHAR), {_lit(_FW_FROM)}, {_lit(_FW_TO)}) ELSE CAST(x AS VARCHAR) END, "
        f"{ws}, '', 'g'))"
    ))  # fmt: skip
    # A value equal to its cleaned form needed no cosmetic repair; the regexes only run on the others.
    add("id__repair", "x, c", (
        f"CASE WHEN CAST(x AS VARCHAR) = c THEN NULL "
        f"WHEN regexp_matches(CAST(x AS VARCHAR), '[a-z\\x{{FF41}}-\\x{{FF5A}}]') THEN {_R['REPAIRED_CASE']} "
        f"WHEN regexp_matches(CAST(x AS VARCHAR), {fw}) THEN {_R['REPAIRED_WIDTH']} "
        f"WHEN regexp_matches(CAST(x AS VARCHAR), {ws}) THEN {_R['REPAIRED_SPACES']} END"
    ))  # fmt: skip
    add("id__placeholder", "c", _placeholder_sql("c"))
    missing = (
        f"WHEN c IS NULL OR c = '' THEN {_R['MISSING']} WHEN id__placeholder(c) THEN {_R['PLACEHOLDER']}"
    )

    # -- resident identity number --------------------------------------------------------------------
    add("rid_clean", "x", "id_clean(x)")
    add("rid_check_char", "s", _rid_check_sql("s"))
    add("rid__check_char15", "s", _rid15_check_sql("s"))
    add("rid__upgrade", "c", (
        "CASE WHEN length(c) = 15 THEN left(c, 6) || '19' || substr(c, 7, 9) || rid__check_char15(c) "
        "ELSE c END"
    ))  # fmt: skip
    date8 = "CASE WHEN length(c) = 15 THEN '19' || substr(c, 7, 6) ELSE substr(c, 7, 8) END"
    # Everything but the area: that lookup is a subquery, which DuckDB does not allow inside a lambda.
    add("rid__reject", "c", (
        f"CASE {missing} "
        f"WHEN length(c) NOT IN (15, 18) THEN {_R['BAD_LENGTH']} "
        f"WHEN NOT {_rx('c', '[0-9]{15}|[0-9]{17}[0-9X]')} THEN {_R['BAD_CHARS']} "
        f"WHEN length(c) = 18 AND right(c, 1) <> rid_check_char(c) THEN {_R['BAD_CHECK']} "
        f"WHEN NOT coalesce(CAST(try_strptime({date8}, '%Y%m%d') AS DATE) "
        f"BETWEEN DATE '{MIN_BIRTH_YEAR}-01-01' AND current_date, false) THEN {_R['BAD_BIRTH_DATE']} END"
    ))  # fmt: skip
    # The heavy checks run in a lambda over the plain cleaned string; the area lookup (first 6
    # characters: the area in both the 15 and 18-digit forms) sits beside it at top level, where DuckDB
    # computes the repeated id_clean(x) once; the last lambda only reads three struct fields.
    # A value of digits (and a final X) is its own cleaned form: id_clean's regexes run on the others.
    add("rid__clean", "x", f"CASE WHEN {_rx('CAST(x AS VARCHAR)', '[0-9]{15}|[0-9]{17}[0-9X]')} "
                           "THEN CAST(x AS VARCHAR) ELSE id_clean(x) END")
    # Fast path: a canonical 18-character ID (digits, a final X) that nothing rejects and whose area
    # exists is its own value with no reason - what the general form below builds for it through
    # its struct, lambdas and repair tests, which then run only for the other values.
    family("rid", (
        f"CASE WHEN {_rx('CAST(x AS VARCHAR)', '[0-9]{17}[0-9X]')} AND rid__reject(CAST(x AS VARCHAR)) IS NULL "
        "AND left(CAST(x AS VARCHAR), 6) IN (SELECT code FROM std_area_code) "
        "THEN {'value': CAST(x AS VARCHAR), 'reason': CAST(NULL AS VARCHAR)} ELSE "
        "list_transform([{'c': rid__clean(x), "
        "'r': list_transform([rid__clean(x)], lambda __c: rid__reject(__c))[1], "
        "'a': left(rid__clean(x), 6) IN (SELECT code FROM std_area_code)}], "
        "lambda __q: {'value': CASE WHEN __q.r IS NULL AND __q.a THEN rid__upgrade(__q.c) END, "
        f"'reason': coalesce(__q.r, CASE WHEN NOT coalesce(__q.a, false) THEN {_R['BAD_AREA']} END, "
        f"id__repair(x, __q.c), CASE WHEN length(__q.c) = 15 THEN {_R['UPGRADED_15']} END)}})[1] END"
    ))  # fmt: skip
    add("rid_birth_date", "id18", (
        "CASE WHEN length(id18) = 18 THEN CAST(try_strptime(substr(id18, 7, 8), '%Y%m%d') AS DATE) END"
    ))  # fmt: skip
    add("rid_sex", "id18", (
        f"CASE WHEN length(id18) = 18 AND {_rx('substr(id18, 17, 1)', '[0-9]')} "
        "THEN CASE WHEN ascii(substr(id18, 17, 1)) % 2 = 1 THEN '1' ELSE '2' END END"
    ))  # fmt: skip
    add("rid_area", "id18", "CASE WHEN length(id18) = 18 THEN left(id18, 6) END")

    # -- organisation code (GB 11714) ----------------------------------------------------------------
    add("orgcode_check_char", "s", _org_check_sql("s"))
    add("orgcode__reject", "c", (
        f"CASE {missing} "
        f"WHEN length(c) <> 9 THEN {_R['BAD_LENGTH']} "
        f"WHEN NOT {_rx('c', '[0-9A-Z]{8}[0-9X]')} THEN {_R['BAD_CHARS']} "
        f"WHEN right(c, 1) <> orgcode_check_char(c) THEN {_R['BAD_CHECK']} END"
    ))  # fmt: skip
    # The printed form XXXXXXXX-X is standard, so dropping its hyphen is canonicalisation, not a repair.
    family("orgcode", _fast_path(
        "[0-9A-Z]+", "orgcode__reject",
        "list_transform([id_clean(x)], lambda __k: list_transform("
        f"[CASE WHEN {_rx('__k', '.{8}-.')} THEN left(__k, 8) || right(__k, 1) ELSE __k END], "
        "lambda __o: list_transform([orgcode__reject(__o)], lambda __r: "
        "{'value': CASE WHEN __r IS NULL THEN __o END, "
        "'reason': coalesce(__r, id__repair(x, __k))})[1])[1])[1]"
    ))  # fmt: skip

    # -- unified social credit code -----------------------------------------------------------------
    categories = ", ".join(_lit(k) for k in USCC_CATEGORIES)
    add("uscc_check_char", "s", _uscc_check_sql("s"))
    add("uscc__reject", "c", (
        f"CASE {missing} "
        f"WHEN length(c) <> 18 THEN {_R['BAD_LENGTH']} "
        f"WHEN NOT {_rx('c', _USCC_CLASS + '{18}')} THEN {_R['BAD_CHARS']} "
        f"WHEN right(c, 1) <> uscc_check_char(c) THEN {_R['BAD_CHECK']} "
        f"WHEN left(c, 2) NOT IN ({categories}) THEN {_R['BAD_CATEGORY']} "
        f"WHEN NOT {_rx('substr(c, 3, 6)', '[0-9]{6}')} THEN {_R['BAD_AREA']} "
        f"WHEN substr(c, 17, 1) <> {_org_check_sql('c', start=9)} THEN {_R['BAD_ORG_CODE']} END"
    ))  # fmt: skip
    family("uscc", _fast_path("[0-9A-Z]+", "uscc__reject", _checked("uscc__reject")))
    add("uscc_org_code", "uscc18", "CASE WHEN length(uscc18) = 18 THEN substr(uscc18, 9, 9) END")
    add("uscc__check_ok", "s", f"({_rx('s', _USCC_CLASS + '{18}')} AND right(s, 1) = uscc_check_char(s))")

    # -- electronic licence identifier (GB/T 36904) -------------------------------------------------
    prefix_re = re.escape(LICENCE_PREFIX)
    licence_re = (
        f"{prefix_re}[0-9A-Z]{{18}}[0-9]{{3}}\\.[0-9A-Z]{{18}}\\.[0-9A-Z]{{1,{_LICENCE_SERIAL_MAX}}}"
        r"\.[0-9]{3}\.[0-9A-Z]"
    )
    body_start = len(LICENCE_PREFIX) + 1
    add("licence_check_char", "body", _licence_check_sql("upper(body)"))
    add("licence__reject", "c", (
        f"CASE {missing} "
        f"WHEN NOT {_rx('c', '[0-9A-Z.]+')} THEN {_R['BAD_CHARS']} "
        f"WHEN NOT {_rx('c', licence_re)} THEN {_R['BAD_FORMAT']} "
        f"WHEN right(c, 1) <> licence_check_char(substr(c, {body_start}, length(c) - {body_start + 1})) "
        f"THEN {_R['BAD_CHECK']} "
        f"WHEN NOT (uscc__check_ok(substr(c, {body_start}, 18)) "
        f"AND uscc__check_ok(substr(c, {body_start + 22}, 18))) THEN {_R['BAD_EMBEDDED_CODE']} END"
    ))  # fmt: skip
    family("licence_id", _fast_path("[0-9A-Z.]+", "licence__reject", _checked("licence__reject")))
    # The same check split in two for whole tables of identifiers: ``licence__pair_facts`` of the
    # type + issuer part (licence_pair_sql) - the MOD 37,36 state after its 39 characters and
    # whether both embedded USCCs are valid - and ``licence_id_check_split(x, facts)``, which
    # continues from that state over the serial and version. A caller computing the facts once per
    # distinct pair (a scalar subquery over a column holding the pair, which DuckDB runs once per
    # distinct value) does a quarter of the recurrence per identifier and no USCC check at all.
    # The answer equals licence_id_check(x): the split runs only where the text is canonical and of
    # the licence format (so the pair is where the full check reads it); everything else takes
    # licence_id_check's own path.
    pair_end = body_start + LICENCE_PAIR_LENGTH
    add("licence__pair_facts", "p", (
        f"{{'state': {_licence_state_sql('p')}, "
        f"'usccs': uscc__check_ok(substr(p, 1, 18)) AND uscc__check_ok(substr(p, 23, 18))}}"
    ))  # fmt: skip
    add("licence__reject_split", "c, f", (
        f"CASE {missing} "
        f"WHEN NOT {_rx('c', '[0-9A-Z.]+')} THEN {_R['BAD_CHARS']} "
        f"WHEN NOT {_rx('c', licence_re)} THEN {_R['BAD_FORMAT']} "
        f"WHEN right(c, 1) <> {_licence_check_sql(f'substr(c, {pair_end}, length(c) - {pair_end + 1})', 'f.state')} "
        f"THEN {_R['BAD_CHECK']} "
        f"WHEN NOT f.usccs THEN {_R['BAD_EMBEDDED_CODE']} END"
    ))  # fmt: skip
    add("licence_id_check_split", "x, f", _fast_path(
        "[0-9A-Z.]+", "licence__reject_split", _checked("licence__reject"), more=", f"))
    return tuple(defs)


def install_identifier_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) ``std_area_code`` and every identifier macro on ``con``; safe to re-run."""
    codes = pa.table({"code": pa.array(sorted(area_codes()), type=pa.string())})
    con.execute("CREATE OR REPLACE TABLE std_area_code (code VARCHAR PRIMARY KEY)")
    con.register("__std_area_code_src", codes)
    try:
        con.execute("INSERT INTO std_area_code SELECT code FROM __std_area_code_src")
    finally:
        con.unregister("__std_area_code_src")
    for m in macro_definitions():
        con.execute(m.create_sql)


# ----------------------------------------------------------------------------------------------------
# Python column API (one DuckDB query per call)
# ----------------------------------------------------------------------------------------------------

_CON_LOCK = threading.Lock()
_CON: duckdb.DuckDBPyConnection | None = None


def _connection() -> duckdb.DuckDBPyConnection:
    """A cursor on a private in-memory database with the macros installed once per process."""
    global _CON
    with _CON_LOCK:
        if _CON is None:
            con = duckdb.connect()
            install_identifier_macros(con)
            _CON = con
        return _CON.cursor()


def _to_arrow_strings(values: Any) -> pa.Array:
    """Any column-like input as one pyarrow string array (NaN/None -> null)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = values
    elif hasattr(values, "to_numpy") and hasattr(values, "dtype"):  # pandas Series
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array(values.astype("string"), from_pandas=True)
    else:
        if not isinstance(values, np.ndarray):
            values = list(values) if not isinstance(values, list) else values
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python types: stringify each
            arr = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), type=pa.string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return arr


def _run(values: Any, check_macro: str, extra: Iterable[str] = ()) -> pa.Table:
    arr = _to_arrow_strings(values)
    table = pa.table({"__row": pa.array(np.arange(len(arr), dtype=np.int64)), "input": arr})
    cur = _connection()
    try:
        cur.register("__std_input", table)
        extra_cols = "".join(f", {e}" for e in extra)
        query = (
            "WITH checked AS MATERIALIZED ("
            f"SELECT __row, input, {check_macro}(input) AS chk FROM __std_input) "
            f"SELECT input, chk.value AS value, chk.reason AS reason{extra_cols} FROM checked ORDER BY __row"
        )
        return cur.sql(query).to_arrow_table()
    finally:
        cur.close()


def validate_resident_ids(values: Any) -> pa.Table:
    """Validate/repair a column of resident ids: ``input, value, reason, birth_date, sex, area``."""
    return _run(values, "rid_check", ("rid_birth_date(chk.value) AS birth_date", "rid_sex(chk.value) AS sex",
                                      "rid_area(chk.value) AS area"))  # fmt: skip


def validate_usccs(values: Any) -> pa.Table:
    """Validate/repair a column of unified social credit codes: ``input, value, reason, org_code``."""
    return _run(values, "uscc_check", ("uscc_org_code(chk.value) AS org_code",))


def validate_org_codes(values: Any) -> pa.Table:
    """Validate/repair a column of organisation codes (``XXXXXXXX-X`` or 9 characters)."""
    return _run(values, "orgcode_check")


def validate_licence_ids(values: Any) -> pa.Table:
    """Validate/repair a column of electronic-licence identifiers."""
    return _run(values, "licence_id_check")
