"""Minting valid identifiers in bulk: resident ids, organisation codes, USCCs, registration numbers.

The check characters come from :mod:`standards.identifiers` (the same algorithms the silver step
validates with), so a generated identifier that the platform rejects is a bug in one of the two,
never a disagreement. What lives here is the structure around the checks: uniqueness, sequence
parity = sex, GB 11714 codes embedded in USCCs, and the 15-digit legacy forms.

Resident ids are carried as ``(N, 18)`` uint8 digit matrices (the check value 10 stands for 'X'):
typos, transpositions and legacy 15-digit forms are then column operations on that matrix.
"""

from __future__ import annotations

import numpy as np

from core.errors import RunFailed
from pipelines.synthetic import strs
from standards.identifiers import (
    ORG_CODE_ALPHABET,
    USCC_ALPHABET,
    org_code_check_chars,
    resident_id_check_chars,
    uscc_check_chars,
)

X = 10  # check value standing for 'X'
RID_CP = np.array([ord(c) for c in "0123456789X"], dtype=np.uint32)
_ORG_VALUE = np.full(128, -1, dtype=np.int16)
_ORG_VALUE[[ord(c) for c in ORG_CODE_ALPHABET]] = np.arange(36)
_USCC_VALUE = np.full(128, -1, dtype=np.int16)
_USCC_VALUE[[ord(c) for c in USCC_ALPHABET]] = np.arange(31)
_USCC_CP = np.array([ord(c) for c in USCC_ALPHABET], dtype=np.uint32)


def check_values(digits17: np.ndarray) -> np.ndarray:
    """GB 11643 check values (0-9, 10 = X) of an (N, 17) digit matrix."""
    return _check_from_chars(resident_id_check_chars(digits17))


def _check_from_chars(ch: np.ndarray) -> np.ndarray:
    cps = np.ascontiguousarray(ch).view(np.uint32)
    return np.where(cps == ord("X"), X, cps - 48).astype(np.uint8)


def rid_body(area: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """First 17 digits as one int64 (area * 1e11 + yyyymmdd * 1e3 + seq): sortable and unique-able."""
    y, m, d = strs.date_parts(birth)
    return area.astype(np.int64) * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq.astype(np.int64)


def rid_digits(body: np.ndarray) -> np.ndarray:
    """(N, 18) digit matrix (check included) from 17-digit int bodies."""
    d17 = strs.digit_matrix(body, 17)
    return np.concatenate([d17, check_values(d17)[:, None]], axis=1)


#: Sequence numbers per sex in one (area, birth date): odd 001-999 for men, even 000-998 for women.
SEQS_PER_SEX = 500
#: Whole-array redraw rounds before the remaining clashes are settled slot by slot.
REDRAW_ROUNDS = 8


def unique_sequences(
    rng: np.random.Generator,
    area: np.ndarray,
    birth: np.ndarray,
    sex: np.ndarray,
    reserved: np.ndarray | None = None,
) -> np.ndarray:
    """3-digit sequence numbers, odd for men and even for women, unique per (area, birth date) and
    unlike the ``reserved`` 17-digit bodies (ids already issued).

    Most draw from the low numbers police stations hand out first; clashes are redrawn in a few
    whole-array rounds, and what still clashes (crowded days of a large city) takes the free numbers
    of its (area, date, sex) directly. Only more than 500 persons of one sex born on one day under
    one area code cannot be numbered: that is a one-line :class:`RunFailed`.
    """
    n = area.shape[0]
    seq = 2 * rng.integers(0, 300, n) + (sex == 1)
    taken = np.empty(0, np.int64) if reserved is None else np.unique(np.asarray(reserved, np.int64))
    for _ in range(REDRAW_ROUNDS):
        redo = _clashes(rid_body(area, birth, seq), taken)
        if redo.size == 0:
            return seq
        seq[redo] = 2 * rng.integers(0, SEQS_PER_SEX, redo.size) + (sex[redo] == 1)
    redo = _clashes(rid_body(area, birth, seq), taken)
    if redo.size:
        seq[redo] = _free_sequences(rng, area, birth, sex, seq, redo, taken)
    return seq


def _clashes(body: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Rows whose body an earlier row (or a reserved id) already has."""
    order = np.argsort(body, kind="stable")
    sb = body[order]
    later = np.zeros(body.shape[0], dtype=bool)
    later[1:] = sb[1:] == sb[:-1]  # every holder of a value but the first
    redo = order[later]
    if taken.size:
        redo = np.union1d(redo, np.flatnonzero(np.isin(body, taken)))
    return redo


def _free_sequences(
    rng: np.random.Generator,
    area: np.ndarray,
    birth: np.ndarray,
    sex: np.ndarray,
    seq: np.ndarray,
    redo: np.ndarray,
    taken: np.ndarray,
) -> np.ndarray:
    """Sequences for the ``redo`` rows from the numbers their (area, date, sex) has left, in random
    order; a group with fewer free numbers than rows is the one impossible case."""
    parity = (sex[redo] == 1).astype(np.int64)
    base = rid_body(area[redo], birth[redo], np.zeros(redo.size, np.int64)) + parity  # sequence 000 / 001
    keep = np.ones(seq.shape[0], bool)
    keep[redo] = False
    used = np.union1d(rid_body(area[keep], birth[keep], seq[keep]), taken)
    groups, first, need = np.unique(base, return_index=True, return_counts=True)
    cand = (groups[:, None] + 2 * np.arange(SEQS_PER_SEX)[None, :]).ravel()
    free = ~np.isin(cand, used)
    have = free.reshape(groups.size, SEQS_PER_SEX).sum(axis=1)
    short = np.flatnonzero(have < need)
    if short.size:
        g = first[short[0]]
        raise RunFailed(
            f"resident ids: {int(need[short[0]]) + SEQS_PER_SEX - int(have[short[0]]):,} persons of one sex "
            f"born on {birth[redo][g]} under area code {area[redo][g]} exceed the {SEQS_PER_SEX} sequence "
            f"numbers GB 11643 gives a sex per area and day"
        )
    # the free numbers of each group in random order, then the k-th row of a group takes the k-th
    fc = cand[free]
    fg = np.repeat(np.arange(groups.size), have)
    fc = fc[np.lexsort((rng.random(fc.size), fg))]
    start = np.concatenate([[0], np.cumsum(have)[:-1]])
    order = np.argsort(base, kind="stable")
    g_of = np.searchsorted(groups, base[order])
    rank = np.arange(redo.size) - np.searchsorted(base[order], base[order], side="left")
    out = np.empty(redo.size, np.int64)
    out[order] = fc[start[g_of] + rank] - base[order] + parity[order]
    return out


def rid_strings(digits: np.ndarray) -> np.ndarray:
    """``<U18`` strings from an (N, 18) digit matrix."""
    return strs.cps_to_str(RID_CP[digits])


def rid15_strings(digits: np.ndarray) -> np.ndarray:
    """Legacy 15-digit form: area + yymmdd + sequence (drops the century and the check)."""
    d15 = np.concatenate([digits[:, :6], digits[:, 8:17]], axis=1)
    return strs.cps_to_str(d15.astype(np.uint32) + 48)


# -- organisations ------------------------------------------------------------------------------------


def mint_org_codes(rng: np.random.Generator, n: int, modern: np.ndarray) -> np.ndarray:
    """GB 11714 codes as an (N, 9) code-point matrix: digits before 2015, ``MA``+6 after.

    Only characters of the USCC alphabet are used so the code can be embedded in a USCC. Codes are
    unique (collisions redrawn).
    """
    cps = np.empty((n, 8), dtype=np.uint32)
    for _ in range(20):
        digits = rng.integers(0, 10, (n, 8)).astype(np.uint32) + 48
        digits[:, 0] = np.array([ord(c) for c in "035678"], np.uint32)[rng.integers(0, 6, n)]
        newer = _USCC_CP[rng.integers(0, 31, (n, 8))]
        newer[:, 0], newer[:, 1] = ord("M"), ord("A")
        cps = np.where(modern[:, None], newer, digits)
        key = cps.view("<U8").reshape(n)
        _, idx, cnt = np.unique(key, return_index=True, return_counts=True)
        if (cnt == 1).all():
            break
        rng = np.random.default_rng(rng.integers(1 << 62))
    vals = _ORG_VALUE[cps].astype(np.int64)
    check = np.ascontiguousarray(org_code_check_chars(vals)).view(np.uint32)
    return np.concatenate([cps, check[:, None]], axis=1)


def mint_usccs(authority: np.ndarray, category: np.ndarray, area: np.ndarray, org9: np.ndarray) -> np.ndarray:
    """USCC strings (``<U18``) from authority/category characters, 6-digit area and (N, 9) org codes."""
    head = np.stack(
        [
            np.ascontiguousarray(np.asarray(authority).astype("<U1")).view(np.uint32),
            np.ascontiguousarray(np.asarray(category).astype("<U1")).view(np.uint32),
        ],
        axis=1,
    )
    area_cp = strs.digit_matrix(area, 6).astype(np.uint32) + 48
    body = np.concatenate([head, area_cp, org9], axis=1)
    vals = _USCC_VALUE[body].astype(np.int64)
    if (vals < 0).any():
        raise ValueError("USCC body contains characters outside the GB 32100 alphabet")
    check = np.ascontiguousarray(uscc_check_chars(vals)).view(np.uint32)
    return strs.cps_to_str(np.concatenate([body, check[:, None]], axis=1))


def org_code_strings(org9: np.ndarray, hyphen: bool = True) -> np.ndarray:
    """Printed organisation codes ``XXXXXXXX-X`` (or 9 characters without the hyphen)."""
    if hyphen:
        org9 = np.concatenate(
            [org9[:, :8], np.full((org9.shape[0], 1), ord("-"), np.uint32), org9[:, 8:]], axis=1
        )
    return strs.cps_to_str(org9)


def mint_reg_nos(rng: np.random.Generator, area: np.ndarray) -> np.ndarray:
    """15-digit business registration numbers: authority area + 8-digit serial + ISO 7064 MOD 11,10 check."""
    n = area.shape[0]
    serial = rng.integers(0, 10**8, n)
    d = np.concatenate([strs.digit_matrix(area, 6), strs.digit_matrix(serial, 8)], axis=1).astype(np.int64)
    p = np.full(n, 10, dtype=np.int64)
    for j in range(14):  # MOD 11,10 recurrence, one column at a time
        s = (p + d[:, j]) % 10
        s = np.where(s == 0, 10, s)
        p = (2 * s) % 11
    check = (11 - p) % 10
    return strs.cps_to_str(np.concatenate([d, check[:, None]], axis=1).astype(np.uint32) + 48)


def sample_unique(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in ``[0, high)`` without materialising a permutation of ``high``."""
    if n > high:
        raise ValueError(f"cannot draw {n} distinct values below {high}")
    if n * 4 > high:
        return rng.permutation(high)[:n]
    out = np.unique(rng.integers(0, high, int(n * 1.2) + 16))
    while out.size < n:
        out = np.unique(np.concatenate([out, rng.integers(0, high, n)]))
    return rng.permutation(out)[:n]
