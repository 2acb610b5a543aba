"""Fuzzy, Chinese-aware search of the masters.

Persons by name and birth date: the birth date selects the candidates (an index lookup, a few dozen
people per day of birth in a city of a million); names are then compared after the standard's name
normalisation (full/half width, punctuation, traditional -> simplified: 張偉 finds 张伟) and on their
pinyin keys (homophones: 章伟 finds 张伟), with a similarity fallback for other typos.

Entities by name: the registration prefix (安徽省亳州市谯城区) is dropped and 有限责任公司 written
有限公司, the name is turned into pinyin syllables (homophones and traditional characters read alike),
an FTS5 index over those syllables proposes candidates, and the same scoring ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from standards.text import normalise_name, pinyin_key
from warehouse.api.index import ReadModel, entity_name_key, syllables

PERSON_MIN = 0.7
ENTITY_MIN = 0.6


@dataclass
class Hit:
    master_id: str
    score: float
    match: str  # exact | homophone | similar
    data: str  # the master row as JSON text


def _score(q: str, q_py: str, name: str | None, py: str | None, partial: bool = False) -> tuple[float, str]:
    if not name:
        return 0.0, "none"
    if name == q:
        return 1.0, "exact"
    if py and py == q_py:
        return 0.95, "homophone"
    s = max(fuzz.ratio(q, name), fuzz.ratio(q_py, py or ""))
    if partial and len(q) >= 2:
        s = max(s, fuzz.partial_ratio(q, name) * 0.95)
    return round(s / 100 * 0.9, 4), "similar"


def search_persons(model: ReadModel, name: str, birth_date: date, limit: int = 10) -> list[Hit]:
    q = normalise_name(name) or ""
    if not q:
        return []
    q_py = pinyin_key(q) or ""
    hits = []
    for mid, nn, py, data in model.persons_born(birth_date.isoformat()):
        s, how = _score(q, q_py, nn, py)
        if s >= PERSON_MIN:
            hits.append(Hit(mid, s, how, data))
    hits.sort(key=lambda h: (-h.score, h.master_id))
    return hits[:limit]


def search_entities(model: ReadModel, name: str, limit: int = 10) -> list[Hit]:
    key = entity_name_key(name) or ""
    syl = syllables(key)
    if not key or not syl:
        return []
    q_py = "".join(syl)
    hits = []
    for mid, nk, py, data in model.entity_candidates(syl):
        s, how = _score(key, q_py, nk, py, partial=True)
        if s >= ENTITY_MIN:
            hits.append(Hit(mid, s, how, data))
    hits.sort(key=lambda h: (-h.score, h.master_id))
    return hits[:limit]
