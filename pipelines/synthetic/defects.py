"""Data-quality defects, injected column-wise into values as a department would hold them.

Why these defects: they are the ones that break naive matching in Chinese government data
(docs/STANDARD.md, "Resident identity number"): resident ids that are missing, in the legacy
15-digit form, with a typo or an adjacent transposition, a lowercase x, full-width digits or
spaces; names with a homophone (张伟/章伟), in traditional characters or only in pinyin;
placeholders (000000000000000000, 无, 13800000000, 1900-01-01); stale addresses and phones;
mis-keyed sex/ethnicity/birth dates; infants under a guardian's id; persons under a re-issued id's
old number; and the same wrong id copied between departments. Every defect is drawn as a mask over a
whole column and applied with array operations: ids as ``(N, 18)`` digit matrices, names as arrays
of character indices.

Each ``apply_*`` function returns the new values and records which rows got which defect in a
:class:`DefectLog`, which becomes the ``defects`` list column of the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import strs
from pipelines.synthetic.minting import RID_CP, X

ID_DEFECTS = (
    "id_copied",
    "id_old",
    "id_guardian",
    "id_15",
    "id_missing",
    "id_placeholder",
    "id_typo",
    "id_transpose",
    "id_lower_x",
    "id_fullwidth",
    "id_spaces",
)
#: Defects that leave a plausible-looking but wrong number: the kind a clerk copies into another system.
WRONG_ID_DEFECTS = ("id_typo", "id_transpose")
#: Defects that may touch a primary-key column: the value stays non-null and (almost surely) unique.
PK_SAFE = frozenset({"id_15", "id_typo", "id_transpose", "id_lower_x", "id_fullwidth", "id_spaces"})
NAME_DEFECTS = ("name_homophone", "name_traditional", "name_pinyin", "name_placeholder")
ID_PLACEHOLDERS = ("000000000000000000", "111111111111111111", "123456789012345678")
TEXT_PLACEHOLDERS = ("无", "不详", "空", "-")
PHONE_PLACEHOLDERS = ("13800000000", "00000000000", "11111111111")
PLACEHOLDER_DATE = np.datetime64("1900-01-01")


@dataclass
class DefectLog:
    """Which rows carry which defects (a row may carry several, each named once per column)."""

    n: int
    rows: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    eligible: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, mask_or_rows: np.ndarray, eligible: int | None = None) -> None:
        rows = np.flatnonzero(mask_or_rows) if mask_or_rows.dtype == bool else mask_or_rows
        if rows.size:
            self.rows.append(rows.astype(np.int64))
            self.names.append(name)
        if eligible is not None:
            self.eligible[name] = self.eligible.get(name, 0) + int(eligible)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, rows in zip(self.names, self.rows):
            out[name] = out.get(name, 0) + int(rows.size)
        return out

    def list_column(self, n: int | None = None) -> pa.Array:
        """``list<string>`` per row, defects in the order they were applied."""
        n = self.n if n is None else n
        if not self.rows:
            return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()))
        rows = np.concatenate(self.rows)
        codes = np.concatenate([np.full(r.size, i, np.int32) for i, r in enumerate(self.rows)])
        order = np.lexsort((codes, rows))
        rows, codes = rows[order], codes[order]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.add.at(offsets, rows + 1, 1)
        offsets = np.cumsum(offsets).astype(np.int32)
        values = strs.take(self.names, codes)
        return pa.ListArray.from_arrays(pa.array(offsets), values)

    def subset(self, idx: np.ndarray) -> DefectLog:
        """The log restricted to rows ``idx`` (renumbered 0..len(idx)-1)."""
        inv = np.full(self.n, -1, np.int64)
        inv[idx] = np.arange(idx.size)
        out = DefectLog(idx.size)
        for name, rows in zip(self.names, self.rows):
            r = inv[rows]
            out.add(name, r[r >= 0])
        return out


def draw_exclusive(
    rng: np.random.Generator, n: int, specs: list[tuple[str, float, np.ndarray]]
) -> np.ndarray:
    """One defect (index into ``specs``) or -1 per row, at table-level rates where eligibility allows.

    Defects are drawn in order among the rows still free and eligible, with probability
    ``rate * n / eligible_free`` so restricted defects still reach their table-level rate.
    """
    choice = np.full(n, -1, dtype=np.int16)
    for i, (_name, rate, eligible) in enumerate(specs):
        if rate <= 0 or n == 0:
            continue
        free = eligible & (choice < 0)
        k = int(free.sum())
        if k == 0:
            continue
        p = min(1.0, rate * n / k)
        hit = free & (rng.random(n) < p)
        choice[hit] = i
    return choice


# ------------------------------------------------------------------------------------------------
# resident ids
# ------------------------------------------------------------------------------------------------


def apply_ids(
    rng: np.random.Generator,
    digits: np.ndarray,
    present: np.ndarray,
    rates: dict[str, float],
    eligible: dict[str, np.ndarray],
    alt: dict[str, np.ndarray],
    log: DefectLog,
    tag: str = "",
    pk: bool = False,
    forced: dict[str, tuple[np.ndarray, pa.Array]] | None = None,
) -> tuple[pa.Array, np.ndarray]:
    """Render resident ids with defects; returns (strings, choice index into ID_DEFECTS or -1).

    ``digits`` are the true ids (N, 18); ``present`` rows have a person; ``eligible[name]`` restricts
    a defect (id_old / id_guardian / id_copied / id_15), ``alt[name]`` holds the replacement digits
    for id_old and id_guardian; ``forced['id_copied'] = (mask, strings)`` are donor values copied as-is.
    """
    n = digits.shape[0]
    specs = []
    for name in ID_DEFECTS:
        if pk and name not in PK_SAFE:
            rate = 0.0
        else:
            rate = rates.get(name, 0.0) if name != "id_copied" else 0.0
        el = present.copy()
        if name in eligible:
            el &= eligible[name]
        if name == "id_lower_x":
            el &= digits[:, 17] == X
        specs.append((name, rate, el))
    choice = draw_exclusive(rng, n, specs)
    if forced and "id_copied" in forced and not pk:
        mask, _ = forced["id_copied"]
        choice[mask & present] = ID_DEFECTS.index("id_copied")
    d = digits.copy()
    for name in ("id_old", "id_guardian"):
        sel = choice == ID_DEFECTS.index(name)
        if sel.any():
            d[sel] = alt[name][sel]
    cps = np.zeros((n, 20), dtype=np.uint32)
    cps[:, :18] = RID_CP[d]
    _typo(rng, cps, d, choice == ID_DEFECTS.index("id_typo"))
    _transpose(rng, cps, d, choice == ID_DEFECTS.index("id_transpose"))
    sel = choice == ID_DEFECTS.index("id_lower_x")
    cps[sel, 17] = ord("x")
    sel = np.flatnonzero(choice == ID_DEFECTS.index("id_15"))
    if sel.size:
        d15 = np.concatenate([d[sel, :6], d[sel, 8:17]], axis=1).astype(np.uint32) + 48
        cps[sel] = 0
        cps[sel, :15] = d15
    sel = np.flatnonzero(choice == ID_DEFECTS.index("id_placeholder"))
    if sel.size:
        ph = np.array([[ord(c) for c in s] for s in ID_PLACEHOLDERS], dtype=np.uint32)
        cps[sel, :18] = ph[rng.integers(0, len(ID_PLACEHOLDERS), sel.size)]
    sel = np.flatnonzero(choice == ID_DEFECTS.index("id_fullwidth"))
    if sel.size:
        part = cps[sel, :18]
        cps[sel, :18] = np.where(part == ord("X"), ord("Ｘ"), part + 0xFEE0)
    _spaces(rng, cps, choice == ID_DEFECTS.index("id_spaces"))
    out = strs.cps_to_str(cps)
    null = ~present | (choice == ID_DEFECTS.index("id_missing"))
    arr = strs.to_arrow(out, mask=null)
    if forced and "id_copied" in forced:
        mask, donor = forced["id_copied"]
        cp = choice == ID_DEFECTS.index("id_copied")
        if cp.any():
            arr = pc.if_else(pa.array(cp), donor, arr)
    for i, name in enumerate(ID_DEFECTS):  # id_copied eligibility is counted by the caller (donor hits)
        log.add(name + tag, choice == i, eligible=None if name == "id_copied" else int(specs[i][2].sum()))
    return arr, choice


def _typo(rng: np.random.Generator, cps: np.ndarray, d: np.ndarray, sel_mask: np.ndarray) -> None:
    sel = np.flatnonzero(sel_mask)
    if not sel.size:
        return
    pos = rng.integers(0, 18, sel.size)
    cur = d[sel, pos].astype(np.int64)
    new = np.where(
        pos == 17, (cur + rng.integers(1, 11, sel.size)) % 11, (cur % 10 + rng.integers(1, 10, sel.size)) % 10
    )
    cps[sel, pos] = RID_CP[new]


def _transpose(rng: np.random.Generator, cps: np.ndarray, d: np.ndarray, sel_mask: np.ndarray) -> None:
    sel = np.flatnonzero(sel_mask)
    if not sel.size:
        return
    part = cps[sel, :18]
    differs = part[:, :-1] != part[:, 1:]
    pick = np.argmax(rng.random(differs.shape) * differs, axis=1)
    rows = np.arange(sel.size)
    a, b = part[rows, pick].copy(), part[rows, pick + 1].copy()
    part[rows, pick], part[rows, pick + 1] = b, a
    cps[sel, :18] = part


def _spaces(rng: np.random.Generator, cps: np.ndarray, sel_mask: np.ndarray) -> None:
    """``341602 19800101 0012`` (grouped), a trailing space, or a leading full-width space."""
    sel = np.flatnonzero(sel_mask)
    if not sel.size:
        return
    part = cps[sel].copy()
    kind = rng.integers(0, 3, sel.size)
    out = np.zeros_like(part)
    g = kind == 0
    out[g, :6] = part[g, :6]
    out[g, 6] = ord(" ")
    out[g, 7:15] = part[g, 6:14]
    out[g, 15] = ord(" ")
    out[g, 16:20] = part[g, 14:18]
    t = kind == 1
    out[t, :18] = part[t, :18]
    out[t, 18] = ord(" ")
    lead = kind == 2
    out[lead, 0] = 0x3000  # the ideographic (full-width) space an IME types
    out[lead, 1:19] = part[lead, :18]
    cps[sel] = out


# ------------------------------------------------------------------------------------------------
# person names
# ------------------------------------------------------------------------------------------------


@dataclass
class NameTables:
    """Name variant tables restricted to what a source's encoding can write."""

    cps: np.ndarray  # vocabulary code points
    homophones: np.ndarray
    counts: np.ndarray
    traditional: np.ndarray
    pinyin: pa.Array


def apply_names(
    rng: np.random.Generator,
    idx: np.ndarray,
    present: np.ndarray,
    rates: dict[str, float],
    t: NameTables,
    log: DefectLog,
    tag: str = "",
) -> pa.Array:
    """Render names from (N, 3) character indices with homophone / traditional / pinyin / filler defects."""
    n = idx.shape[0]
    idx = idx.copy()
    cnt = t.counts[idx] * (idx > 0)
    trad_changes = (t.traditional[idx] != idx) & (idx > 0)
    specs = [
        ("name_homophone", rates.get("name_homophone", 0.0), present & (cnt.sum(axis=1) > 0)),
        ("name_traditional", rates.get("name_traditional", 0.0), present & trad_changes.any(axis=1)),
        ("name_pinyin", rates.get("name_pinyin", 0.0), present.copy()),
        ("name_placeholder", rates.get("name_placeholder", 0.0), present.copy()),
    ]
    choice = draw_exclusive(rng, n, specs)
    sel = np.flatnonzero(choice == 0)
    if sel.size:
        c = cnt[sel]
        weight = rng.random(c.shape) * (c > 0) * np.array([0.5, 1.0, 1.0])
        pos = np.argmax(weight, axis=1)
        cur = idx[sel, pos]
        k = (rng.random(sel.size) * t.counts[cur]).astype(np.int64)
        idx[sel, pos] = t.homophones[cur, k]
    sel = np.flatnonzero(choice == 1)
    if sel.size:
        idx[sel] = t.traditional[idx[sel]]
    mat = t.cps[idx]
    hole = (mat[:, 1] == 0) & (mat[:, 2] != 0)
    mat[hole, 1], mat[hole, 2] = mat[hole, 2], 0
    arr = strs.to_arrow(strs.cps_to_str(mat), mask=~present)
    sel = np.flatnonzero(choice == 2)
    if sel.size:
        py = strs.cat(
            t.pinyin.take(pa.array(idx[:, 0])),
            " ",
            t.pinyin.take(pa.array(idx[:, 1])),
            t.pinyin.take(pa.array(idx[:, 2])),
        )
        arr = pc.if_else(pa.array(choice == 2), py, arr)
    sel = np.flatnonzero(choice == 3)
    if sel.size:
        ph = strs.take(TEXT_PLACEHOLDERS, rng.integers(0, 3, n))
        arr = pc.if_else(pa.array(choice == 3), ph, arr)
    for i, (name, _r, el) in enumerate(specs):
        log.add(name + tag, choice == i, eligible=int(el.sum()))
    return arr


# ------------------------------------------------------------------------------------------------
# other values
# ------------------------------------------------------------------------------------------------


def apply_text(
    rng: np.random.Generator,
    arr: pa.Array,
    alt: pa.Array | None,
    rates: dict[str, float],
    group: str,
    log: DefectLog,
    tag: str = "",
) -> pa.Array:
    """Outdated value (from ``alt``) or a placeholder, for an address or phone column."""
    n = len(arr)
    present = np.asarray(arr.is_valid())
    has_alt = present & (np.asarray(alt.is_valid()) if alt is not None else np.zeros(n, bool))
    specs = [
        (f"{group}_outdated", rates.get(f"{group}_outdated", 0.0), has_alt),
        (f"{group}_placeholder", rates.get(f"{group}_placeholder", 0.0), present),
    ]
    choice = draw_exclusive(rng, n, specs)
    if (choice == 0).any():
        arr = pc.if_else(pa.array(choice == 0), alt, arr)
    if (choice == 1).any():
        tokens = PHONE_PLACEHOLDERS if group == "phone" else TEXT_PLACEHOLDERS
        arr = pc.if_else(pa.array(choice == 1), strs.take(tokens, rng.integers(0, len(tokens), n)), arr)
    for i, (name, _r, el) in enumerate(specs):
        log.add(name + tag, choice == i, eligible=int(el.sum()))
    return arr


def apply_birth(
    rng: np.random.Generator, d: np.ndarray, rates: dict[str, float], log: DefectLog, tag: str = ""
) -> np.ndarray:
    """Placeholder 1900-01-01, or a mis-keyed date (day/month swapped, a few days off, year off by one)."""
    n = d.shape[0]
    present = ~np.isnat(d)
    specs = [
        ("birth_placeholder", rates.get("birth_placeholder", 0.0), present),
        ("birth_conflict", rates.get("birth_conflict", 0.0), present),
    ]
    choice = draw_exclusive(rng, n, specs)
    out = d.copy()
    out[choice == 0] = PLACEHOLDER_DATE
    sel = np.flatnonzero(choice == 1)
    if sel.size:
        y, m, day = strs.date_parts(d[sel])
        swap_ok = (day <= 12) & (day != m)
        swapped = _ymd(y, day, m)
        shifted = d[sel] + rng.choice([-3, -2, -1, 1, 2, 3], sel.size).astype("timedelta64[D]")
        yeared = _ymd(y + rng.choice([-1, 1], sel.size), m, np.minimum(day, 28))
        kind = rng.integers(0, 3, sel.size)
        out[sel] = np.where((kind == 0) & swap_ok, swapped, np.where(kind == 2, yeared, shifted))
    for i, (name, _r, el) in enumerate(specs):
        log.add(name + tag, choice == i, eligible=int(el.sum()))
    return out


def _ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    months = (y - 1970) * 12 + (m - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")


def apply_code_conflict(
    rng: np.random.Generator, codes: np.ndarray, group: str, rate: float, log: DefectLog, tag: str = ""
) -> np.ndarray:
    """Mis-keyed sex (1 <-> 2) or ethnicity (汉 <-> 回, or another minority)."""
    n = codes.shape[0]
    present = codes != ""
    choice = draw_exclusive(rng, n, [(f"{group}_conflict", rate, present)])
    sel = choice == 0
    out = codes.copy()
    if sel.any():
        if group == "sex":
            out[sel] = np.where(codes[sel] == "1", "2", "1")
        else:
            others = np.array(["03", "11", "02", "08"])
            out[sel] = np.where(codes[sel] == "01", others[rng.integers(0, 4, int(sel.sum()))], "01")
    log.add(f"{group}_conflict{tag}", sel, eligible=int(present.sum()))
    return out


_USCC_ALPHA = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))


def apply_uscc(
    rng: np.random.Generator,
    uscc: np.ndarray,
    present: np.ndarray,
    legacy: pa.Array,
    rates: dict[str, float],
    log: DefectLog,
    tag: str = "",
    pk: bool = False,
) -> pa.Array:
    """USCC column: missing, one-character typo, lowercase, or the legacy org code / reg number."""
    n = uscc.shape[0]
    has_legacy = np.asarray(legacy.is_valid()) & present
    lower_ok = present & (np.char.upper(uscc) != np.char.lower(uscc)) if n else present
    specs = [
        ("uscc_missing", 0.0 if pk else rates.get("uscc_missing", 0.0), present),
        ("uscc_typo", rates.get("uscc_typo", 0.0), present),
        ("uscc_lower", rates.get("uscc_lower", 0.0), lower_ok),
        ("uscc_legacy", 0.0 if pk else rates.get("uscc_legacy", 0.0), has_legacy),
    ]
    choice = draw_exclusive(rng, n, specs)
    cps = (
        np.ascontiguousarray(uscc.astype("<U18")).view(np.uint32).reshape(n, 18).copy()
        if n
        else np.zeros((0, 18), np.uint32)
    )
    sel = np.flatnonzero(choice == 1)
    if sel.size:
        pos = rng.integers(2, 18, sel.size)
        cur = cps[sel, pos]
        alpha_cp = np.array([ord(c) for c in _USCC_ALPHA], np.uint32)
        new = alpha_cp[rng.integers(0, 31, sel.size)]
        new = np.where(new == cur, alpha_cp[(np.searchsorted(alpha_cp, cur) + 1) % 31], new)
        cps[sel, pos] = new
    sel = np.flatnonzero(choice == 2)
    if sel.size:
        part = cps[sel]
        cps[sel] = np.where((part >= ord("A")) & (part <= ord("Z")), part + 32, part)
    arr = strs.to_arrow(strs.cps_to_str(cps), mask=~present | (choice == 0))
    if (choice == 3).any():
        arr = pc.if_else(pa.array(choice == 3), legacy, arr)
    for i, (name, _r, el) in enumerate(specs):
        log.add(name + tag, choice == i, eligible=int(el.sum()))
    return arr


def apply_entity_name(
    rng: np.random.Generator, arr: pa.Array, rate: float, log: DefectLog, tag: str = ""
) -> pa.Array:
    """Registered-name variants departments write: 有限公司/有限责任公司, brackets, prefix dropped."""
    n = len(arr)
    present = np.asarray(arr.is_valid())
    choice = draw_exclusive(rng, n, [("entity_name_variant", rate, present)])
    sel = choice == 0
    if sel.any():
        kind = rng.integers(0, 3, n)
        a = pc.replace_substring(arr, "有限责任公司", "有限公司")
        a = pc.if_else(pc.equal(a, arr), pc.replace_substring(arr, "有限公司", "有限责任公司"), a)
        b = pc.replace_substring_regex(arr, "^(亳州市|亳州|安徽省|安徽)", "")
        c = pc.replace_substring_regex(arr, "^(谯城区|涡阳县|蒙城县|利辛县|亳州市|亳州|安徽)", "（亳州）")
        var = pc.if_else(pa.array(kind == 0), a, pc.if_else(pa.array(kind == 1), b, c))
        changed = np.asarray(pc.fill_null(pc.not_equal(var, arr), False))
        sel &= changed
        arr = pc.if_else(pa.array(sel), var, arr)
    log.add("entity_name_variant" + tag, sel, eligible=int(present.sum()))
    return arr
