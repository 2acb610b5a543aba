"""Character-table steps over a whole DuckDB vector, in numpy.

The SQL functions ``t2s``, ``name_norm``, ``pinyin_key`` and ``pinyin_key_plain`` of
:mod:`standards.text` run here (why they are Python and not macros: :mod:`standards.sqlfunctions`).
A vector arrives as one string, its values joined with :data:`~standards.sqlfunctions.SEP`; it
becomes an array of code points, every character is mapped by indexing a table of all 1,114,112
code points, and the result goes back as a string - a few numpy operations per 2,048 values
instead of a Python call per value or per character.

The tables come from :mod:`standards.text`, built from the very tables its scalar functions read,
and the steps apply them in the same order, so both give the same strings
(``tests/standards/test_text.py`` holds them to it value by value). :data:`SEP` maps to itself
and no step acts across it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from standards.sqlfunctions import SEP

N_CODEPOINTS = 0x110000
_SEP = ord(SEP)
_DOT = ord("·")
#: Table entries: the character is removed / not looked at yet.
_REMOVED = np.uint32(0xFFFFFFFF)
_UNSEEN = np.uint32(0xFFFFFFFE)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def _text(cps: np.ndarray) -> str:
    return np.ascontiguousarray(cps, np.uint32).tobytes().decode("utf-32-le")


class CharTable:
    """Code point -> code point (or removed) for every code point; :data:`SEP` maps to itself.

    Either given whole (``mapping``: the rest map to themselves) or filled on first sight of a
    character by ``rule`` (one character -> its replacement or None for removed), like the lazy
    ``str.translate`` tables of the scalar functions.
    """

    def __init__(self, mapping: dict[int, int] | None = None, rule: Callable[[str], str | None] | None = None) -> None:
        if rule is None:
            self.table = np.arange(N_CODEPOINTS, dtype=np.uint32)
            self.table[list(mapping or {})] = list((mapping or {}).values())
        else:
            self.table = np.full(N_CODEPOINTS, _UNSEEN, dtype=np.uint32)
        self.table[_SEP] = _SEP
        self.rule = rule

    def __call__(self, cps: np.ndarray) -> np.ndarray:
        out = self.table[cps]
        if self.rule is not None and (unseen := out == _UNSEEN).any():
            for cp in np.unique(cps[unseen]).tolist():
                ch = self.rule(chr(cp))
                self.table[cp] = _REMOVED if ch is None else ord(ch)
            out = self.table[cps]
        return out


def translate_vector(text: str, table: CharTable) -> str:
    """Every character of a joined vector mapped by ``table`` (none removed: ``t2s``)."""
    return _text(table(_codepoints(text)))


def name_vector(text: str, table: CharTable) -> str:
    """``normalise_name`` of every value of a joined vector: map and remove characters by ``table``,
    then collapse runs of '·' and strip them at both ends of each value."""
    kept = table(_codepoints(text))
    kept = kept[kept != _REMOVED]
    if kept.size == 0:
        return ""
    dot = kept == _DOT
    kept = kept[~(dot & np.concatenate(([False], dot[:-1])))]
    dot = kept == _DOT
    edge = np.concatenate(([True], kept[:-1] == _SEP)) | np.concatenate((kept[1:] == _SEP, [True]))
    return _text(kept[~(dot & edge)])


class Readings:
    """Pinyin readings as ids: ``ids[cp]`` (0 = no reading), surname ids, the readings' code points.

    ``readings``: code point -> reading; ``single``: surname character -> its surname reading;
    ``compound``: two-character surname -> the readings of its two characters.
    """

    def __init__(self, readings: dict[int, str], single: dict[str, str], compound: dict[str, tuple[str, str]]) -> None:
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
        self.compound_ids = np.array([(p[1], p[2]) for p in pairs], dtype=np.int32).reshape(-1, 2)
        self.length = np.array([len(s) for s in syllables], dtype=np.int64)
        self.start = np.concatenate(([0], np.cumsum(self.length)[:-1]))
        self.text = _codepoints("".join(syllables))

    def surnames(self, cps: np.ndarray, ids: np.ndarray) -> None:
        """Give each value's first character (first two for a compound surname) its surname reading."""
        n = cps.size
        starts = np.flatnonzero(np.concatenate(([True], cps[:-1] == _SEP)))
        starts = starts[starts < n]
        starts = starts[cps[starts] != _SEP]  # an empty value has no surname
        two = starts[starts + 1 < n]
        two = two[cps[two + 1] != _SEP]
        keys = cps[two].astype(np.int64) << 21 | cps[two + 1].astype(np.int64)
        pos = np.searchsorted(self.compound_keys, keys).clip(max=max(self.compound_keys.size - 1, 0))
        hit = self.compound_keys[pos] == keys if self.compound_keys.size else np.zeros(keys.size, bool)
        at = two[hit]
        ids[at], ids[at + 1] = self.compound_ids[pos[hit], 0], self.compound_ids[pos[hit], 1]
        single = np.setdiff1d(starts, at, assume_unique=True)
        reading = self.surname[cps[single]]
        ids[single[reading > 0]] = reading[reading > 0]


def readings_vector(text: str, readings: Readings, surname: bool = True) -> str:
    """``pinyin_key`` of every value of a joined vector: a reading per character, concatenated."""
    cps = _codepoints(text)
    ids = readings.ids[cps]
    if surname:
        readings.surnames(cps, ids)
    lengths = readings.length[ids]
    ends = np.cumsum(lengths)
    within = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - lengths, lengths)
    return _text(readings.text[np.repeat(readings.start[ids], lengths) + within])
