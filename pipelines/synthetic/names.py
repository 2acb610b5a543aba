"""Chinese personal names as arrays of character indices, with realistic frequencies.

Why indices: entity resolution is hard in China because a few surnames and a few hundred given-name
characters cover most of the population, so full names collide constantly (张伟, 王芳, 李秀英).
Keeping a name as three small integers (surname, given 1, given 2) into one character vocabulary
lets the generator sample millions of names per era and sex with numpy, and lets the defect step
swap a character for a homophone or its traditional form by indexing a lookup table instead of
editing strings one by one.

Frequencies come from ``data/surnames.csv`` (published shares of the ~130 commonest surnames),
``data/given_chars.csv`` (character weights by sex and birth era: 建国/秀英 before the 1960s, 伟/芳
in 1965-1995, 子涵/浩宇 after) and ``data/given_names.csv`` (whole given names that recur verbatim).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.synthetic import strs

DATA = Path(__file__).resolve().parent / "data"
ERAS = ("old", "mid", "new")
#: Share of one-character given names by era (张伟 is a 1970s-80s name; 子涵 a 2010s one).
SINGLE_SHARE = {"old": 0.22, "mid": 0.42, "new": 0.10}
#: Share of two-character given names taken verbatim from the list of recurring whole names.
WHOLE_SHARE = {"old": 0.40, "mid": 0.22, "new": 0.45}


def era_of(birth_year: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Naming era 0/1/2 (old/mid/new) with a few years of jitter so fashions blend."""
    y = birth_year + rng.normal(0, 4, size=birth_year.shape)
    return np.where(y < 1962, 0, np.where(y < 1994, 1, 2)).astype(np.int8)


@dataclass
class NameModel:
    """Vocabulary and sampling tables; index 0 of ``vocab`` is the empty string (no 2nd character)."""

    vocab: list[str]
    surname_idx: np.ndarray
    surname_p: np.ndarray
    chars: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
    whole: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    _index: dict[str, int] = field(default_factory=dict)

    # -- vocabulary -------------------------------------------------------------------------------
    def idx(self, ch: str) -> int:
        if ch not in self._index:
            self._index[ch] = len(self.vocab)
            self.vocab.append(ch)
        return self._index[ch]

    @property
    def codepoints(self) -> np.ndarray:
        return np.array([ord(c) if c else 0 for c in self.vocab], dtype=np.uint32)

    # -- sampling ---------------------------------------------------------------------------------
    def sample_surnames(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.surname_idx[rng.choice(len(self.surname_idx), size=n, p=self.surname_p)]

    def sample_given(
        self, rng: np.random.Generator, sex: np.ndarray, era: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Given-name characters (g1, g2; g2 == 0 for one-character names) per person."""
        n = sex.shape[0]
        g1 = np.zeros(n, dtype=np.int32)
        g2 = np.zeros(n, dtype=np.int32)
        u = np.asarray(rng.random(n))
        for s in (1, 2):
            for e, ename in enumerate(ERAS):
                sel = np.flatnonzero((sex == s) & (era == e))
                if sel.size == 0:
                    continue
                ci, cp = self.chars[(s, e)]
                single = sel[u[sel] < SINGLE_SHARE[ename]]
                # one-character names concentrate on the top characters (many 张伟, 王芳)
                sp = cp**1.6
                g1[single] = ci[rng.choice(ci.size, size=single.size, p=sp / sp.sum())]
                double = sel[u[sel] >= SINGLE_SHARE[ename]]
                wsel = rng.random(double.size) < WHOLE_SHARE[ename]
                whole = double[wsel]
                w1, w2, wp = self.whole[(s, e)]
                k = rng.choice(w1.size, size=whole.size, p=wp)
                g1[whole], g2[whole] = w1[k], w2[k]
                comp = double[~wsel]
                g1[comp] = ci[rng.choice(ci.size, size=comp.size, p=cp)]
                g2[comp] = ci[rng.choice(ci.size, size=comp.size, p=cp)]
        return g1, g2

    # -- rendering --------------------------------------------------------------------------------
    def render(self, sur: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> pa.Array:
        """Names as an Arrow string array (one code-point matrix, no per-name work)."""
        cp = self.codepoints
        mat = np.stack([cp[sur], cp[g1], cp[g2]], axis=1)
        # a missing first given character would leave a NUL in the middle: shift g2 left
        hole = (mat[:, 1] == 0) & (mat[:, 2] != 0)
        if hole.any():
            mat[hole, 1], mat[hole, 2] = mat[hole, 2], 0
        return strs.to_arrow(strs.cps_to_str(mat))


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _base_tables() -> tuple:
    return _read("surnames.csv"), _read("given_chars.csv"), _read("given_names.csv")


def load_name_model() -> NameModel:
    """A fresh model (it grows its vocabulary when variant tables are built, so not shared)."""
    surnames, chars, wholes = _base_tables()
    m = NameModel(vocab=[""], surname_idx=np.empty(0, np.int32), surname_p=np.empty(0), chars={}, whole={})
    m._index[""] = 0
    m.surname_idx = np.array([m.idx(r["surname"]) for r in surnames], dtype=np.int32)
    p = np.array([float(r["share"]) for r in surnames])
    m.surname_p = p / p.sum()
    for s, sx in ((1, "m"), (2, "f")):
        for e, ename in enumerate(ERAS):
            col = f"{sx}_{ename}"
            rows = [(m.idx(r["char"]), float(r[col])) for r in chars if float(r[col]) > 0]
            ci = np.array([a for a, _ in rows], dtype=np.int32)
            cp = np.array([b for _, b in rows])
            m.chars[(s, e)] = (ci, cp / cp.sum())
            ws = [r for r in wholes if r["sex"] == sx and r["era"] == ename]
            w1 = np.array([m.idx(r["name"][0]) for r in ws], dtype=np.int32)
            w2 = np.array([m.idx(r["name"][1]) for r in ws], dtype=np.int32)
            wp = np.array([float(r["weight"]) for r in ws])
            m.whole[(s, e)] = (w1, w2, wp / wp.sum())
    return m


@dataclass
class NameVariants:
    """Per-character lookup tables the defect step indexes with whole name columns.

    ``homophones[i, :counts[i]]`` are vocabulary indices of characters that sound like ``vocab[i]``
    (同音字, the classic clerk's typo when a name is taken down by ear); ``traditional[i]`` is the
    traditional form (or ``i`` itself); ``pinyin[i]`` the toneless syllable in capitals.
    """

    homophones: np.ndarray
    counts: np.ndarray
    traditional: np.ndarray
    pinyin: list[str]


def build_variants(model: NameModel) -> NameVariants:
    """Build the tables from ``standards.text`` (a loop over a few hundred vocabulary characters)."""
    from standards.text import gb2312_hanzi, homophone_table, simplified_to_traditional_table

    base = [c for c in model.vocab if c]
    common = gb2312_hanzi()[:3755]  # GB 2312 level 1: the characters an IME offers first
    common_set = set(common)
    homo = homophone_table(base + list(common))
    s2t = simplified_to_traditional_table()
    n0 = len(model.vocab)
    alt_lists: list[list[int]] = [[] for _ in range(n0)]
    trad = np.arange(n0, dtype=np.int32)
    for i in range(1, n0):
        ch = model.vocab[i]
        alts = [a for a in homo.get(ch, []) if a != ch and a in common_set][:8]
        alt_lists[i] = [model.idx(a) for a in alts]
        t = s2t.get(ch)
        if t and t != ch and len(t) == 1:
            trad[i] = model.idx(t)
    n = len(model.vocab)
    trad = np.concatenate([trad, np.arange(n0, n, dtype=np.int32)])
    width = max(1, max(len(a) for a in alt_lists))
    homophones = np.full((n, width), -1, dtype=np.int32)
    counts = np.zeros(n, dtype=np.int32)
    for i, alt_idx in enumerate(alt_lists):
        homophones[i, : len(alt_idx)] = alt_idx
        counts[i] = len(alt_idx)
    pinyin = _pinyin_syllables(model.vocab)
    return NameVariants(homophones=homophones, counts=counts, traditional=trad, pinyin=pinyin)


def _pinyin_syllables(vocab: list[str]) -> list[str]:
    """Toneless capitalised syllables; surnames with a special reading use it (单 Shan, 曾 Zeng)."""
    from pypinyin import Style, lazy_pinyin

    special = {"单": "SHAN", "曾": "ZENG", "解": "XIE", "仇": "QIU", "朴": "PIAO", "查": "ZHA", "乐": "LE"}
    out = []
    for ch in vocab:
        if not ch:
            out.append("")
            continue
        py = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
        out.append(special.get(ch) or (py[0] if py else ""))
    return [s.replace("Ü", "V").replace("ü", "V").upper() for s in out]
