"""The character-table steps of :mod:`standards.text` over a whole DuckDB vector, in numpy.

These are the SQL functions ``t2s``, ``name_norm``, ``pinyin_key`` and ``pinyin_key_plain``
(:func:`sql_functions`; why they are Python and not macros: :mod:`standards.sqlfunctions`). A
vector arrives as one string, its values joined with :data:`~standards.sqlfunctions.SEP`; here it
becomes an array of code points, every character is mapped by indexing a table of all 1,114,112
code points, and the result goes back as a string - a few numpy operations per 2,048 values
instead of a Python call per value or per character.

The tables are built from the very tables the scalar Python functions read, and the steps apply
them in the same order, so both give the same strings (``tests/standards/test_text.py`` holds them
to it value by value); :data:`SEP` maps to itself and no step acts across it.
"""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np

from standards import text as T
from standards.sqlfunctions import SEP, ArrowFunction, per_vector

N_CODEPOINTS = 0x110000
_SEP = ord(SEP)
_DOT = ord("·")
#: ``name_norm`` table entries: the character is removed / not looked at yet.
_REMOVED = np.uint32(0xFFFFFFFF)
_UNSEEN = np.uint32(0xFFFFFFFE)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def _text(cps: np.ndarray) -> str:
    return np.ascontiguousarray(cps, np.uint32).tobytes().decode("utf-32-le")


@lru_cache(maxsize=1)
def _t2s_table() -> np.ndarray:
    table = np.arange(N_CODEPOINTS, dtype=np.uint32)
    pairs = T.t2s_char_table()
    table[[ord(k) for k in pairs]] = [ord(v) for v in pairs.values()]
    return table


def t2s_text(text: str) -> str:
    """``to_simplified(phrases=False)`` of every value of a joined vector."""
    return _text(_t2s_table()[_codepoints(text)])


@lru_cache(maxsize=1)
def _name_table() -> np.ndarray:
    """Code point -> what ``normalise_name`` makes of it; filled on first sight (like its Python table)."""
    table = np.full(N_CODEPOINTS, _UNSEEN, dtype=np.uint32)
    table[_SEP] = _SEP
    return table


def _name_chars(cps: np.ndarray) -> np.ndarray:
    table = _name_table()
    out = table[cps]
    unseen = out == _UNSEEN
    if unseen.any():
        for cp in np.unique(cps[unseen]).tolist():
            ch = T.name_char(chr(cp))
            table[cp] = _REMOVED if ch is None else ord(ch)
        out = table[cps]
    return out


def name_norm_text(text: str) -> str:
    """``normalise_name`` of every value of a joined vector: map, remove, collapse and strip '·'."""
    kept = _name_chars(_codepoints(text))
    kept = kept[kept != _REMOVED]
    if kept.size == 0:
        return ""
    dot = kept == _DOT
    kept = kept[~(dot & np.concatenate(([False], dot[:-1])))]  # runs of '·' -> one
    dot = kept == _DOT
    edge = np.concatenate(([True], kept[:-1] == _SEP)) | np.concatenate((kept[1:] == _SEP, [True]))
    return _text(kept[~(dot & edge)])


class _Syllables:
    """Every reading as an id: ``ids[cp]`` (0 = no reading), surname ids, and the readings' code points."""

    def __init__(self) -> None:
        readings = T.pinyin_char_table()
        single, compound = T.surname_tables()
        names = sorted({*readings.values(), *single.values(), *(p for pair in compound.values() for p in pair)})
        syllables = ["", SEP, *names]
        index = {s: i for i, s in enumerate(syllables)}
        self.ids = np.zeros(N_CODEPOINTS, dtype=np.int32)
        self.ids[list(readings)] = [index[r] for r in readings.values()]
        self.ids[_SEP] = index[SEP]
        self.surname = np.zeros(N_CODEPOINTS, dtype=np.int32)
        self.surname[[ord(ch) for ch in single]] = [index[r] for r in single.values()]
        pairs = sorted((ord(k[0]) << 21 | ord(k[1]), index[a], index[b]) for k, (a, b) in compound.items())
        self.compound_keys = np.array([p[0] for p in pairs], dtype=np.int64)
        self.compound_ids = np.array([(p[1], p[2]) for p in pairs], dtype=np.int32)
        self.length = np.array([len(s) for s in syllables], dtype=np.int64)
        self.start = np.concatenate(([0], np.cumsum(self.length)[:-1]))
        self.text = _codepoints("".join(syllables))


@lru_cache(maxsize=1)
def _syllables() -> _Syllables:
    return _Syllables()


def _surname_readings(cps: np.ndarray, ids: np.ndarray, syl: _Syllables) -> None:
    """Give each value's first character (first two for a compound surname) its surname reading."""
    n = cps.size
    starts = np.flatnonzero(np.concatenate(([True], cps[:-1] == _SEP)))
    starts = starts[starts < n]
    starts = starts[cps[starts] != _SEP]  # empty values have no surname
    two = starts[(starts + 1 < n)]
    two = two[cps[two + 1] != _SEP]
    keys = cps[two].astype(np.int64) << 21 | cps[two + 1].astype(np.int64)
    pos = np.searchsorted(syl.compound_keys, keys).clip(max=max(syl.compound_keys.size - 1, 0))
    hit = syl.compound_keys[pos] == keys if syl.compound_keys.size else np.zeros(keys.size, bool)
    compound_at = two[hit]
    ids[compound_at], ids[compound_at + 1] = syl.compound_ids[pos[hit], 0], syl.compound_ids[pos[hit], 1]
    single_at = np.setdiff1d(starts, compound_at, assume_unique=True)
    reading = syl.surname[cps[single_at]]
    ids[single_at[reading > 0]] = reading[reading > 0]


def pinyin_key_text(text: str, surname: bool = True) -> str:
    """``pinyin_key`` of every value of a joined vector: a reading per character, concatenated."""
    syl = _syllables()
    cps = _codepoints(text)
    ids = syl.ids[cps]
    if surname:
        _surname_readings(cps, ids, syl)
    lengths = syl.length[ids]
    ends = np.cumsum(lengths)
    within = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - lengths, lengths)
    return _text(syl.text[np.repeat(syl.start[ids], lengths) + within])


@lru_cache(maxsize=1)
def sql_functions() -> dict[str, ArrowFunction]:
    """The SQL functions: name -> Arrow function over a DuckDB vector (the scalar form serves a
    vector that holds :data:`SEP` itself)."""
    return {
        "t2s": per_vector(t2s_text, partial(T.to_simplified, phrases=False)),
        "name_norm": per_vector(name_norm_text, T.normalise_name),
        "pinyin_key": per_vector(pinyin_key_text, T.pinyin_key),
        "pinyin_key_plain": per_vector(partial(pinyin_key_text, surname=False), partial(T.pinyin_key, surname=False)),
    }
