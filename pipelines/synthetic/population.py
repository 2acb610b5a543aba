"""The population of the true world: persons in households, from one numpy Generator.

Everything departments hold is a distorted view of this world, and the ground truth the platform is
scored against is this world, so it must be internally consistent: spouses point at each other,
children carry their father's surname and were born after their parents, a resident id's area code
is the county (as coded at the time) where the number was issued, its sequence parity is the sex,
infants have guardians, the dead have a death date and widowed spouses.

Persons are built household by household but without a loop over households: per-household draws
(head age, spouse?, how many children, an elderly parent?) are expanded with ``np.repeat`` into
member rows, and every member attribute is a function of its household's draws and its rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipelines.synthetic import minting, places
from pipelines.synthetic.names import NameModel, era_of

DAY1 = np.datetime64("2026-11-25")
DAY2 = DAY1 + np.timedelta64(1, "D")
EARLIEST_BIRTH = np.datetime64("1925-01-01")
YEAR = 365.25

HEAD, SPOUSE, CHILD, ELDER = 0, 1, 2, 3
#: 与户主关系 as public security writes it, indexed by relation code below.
RELATIONS = ("户主", "配偶", "子", "女", "父亲", "母亲")
MARITAL = ("10", "20", "21", "22", "23", "30", "40", "90")
EDUCATION = ("文盲或半文盲", "小学", "初中", "高中", "中等专科", "大学专科", "大学本科", "研究生")
#: GB 3304 codes other than 汉 that occur in Bozhou, with relative weights (回 dominates).
MINORITIES = (
    ("03", 60),
    ("11", 8),
    ("02", 5),
    ("08", 5),
    ("06", 4),
    ("15", 4),
    ("07", 3),
    ("05", 3),
    ("10", 2),
    ("04", 2),
    ("12", 2),
    ("13", 2),
)
MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        175,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        184,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)
#: Area codes a Bozhou county's resident ids carried over time: (code, used from year, until year).
#: 谯城区 was 亳县 (Fuyang prefecture), then county-level 亳州市 from 1986, moved under Fuyang city in
#: 1996, and became 谯城区 of the new prefecture-level Bozhou in 2000 (standards/codes/gb2260.csv).
AREA_LINEAGE: tuple[tuple[tuple[str, int, int], ...], ...] = (
    (("342126", 0, 1986), ("342102", 1986, 1996), ("341281", 1996, 2000), ("341602", 2000, 9999)),
    (("342124", 0, 1996), ("341223", 1996, 2000), ("341621", 2000, 9999)),
    (("342125", 0, 1996), ("341224", 1996, 2000), ("341622", 2000, 9999)),
    (("342130", 0, 1996), ("341227", 1996, 2000), ("341623", 2000, 9999)),
)


def years(n: np.ndarray | float) -> np.ndarray:
    """A number of years as a day timedelta array."""
    return (np.asarray(n) * YEAR).astype("timedelta64[D]")


def year_of(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def age_at(birth: np.ndarray, when: np.datetime64 | np.ndarray = DAY1) -> np.ndarray:
    """Whole years of age at ``when``."""
    return ((when - birth).astype(np.int64) / YEAR).astype(np.int64)


@dataclass
class Persons:
    """One row per person ever registered (the dead included); index = true person id."""

    n: int
    household: np.ndarray
    role: np.ndarray
    relation: np.ndarray
    sex: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    sur: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    former_g1: np.ndarray  # 0 = no former name
    former_g2: np.ndarray
    ethnicity: np.ndarray  # index into ETHNIC_CODES
    id_digits: np.ndarray  # (N, 18) uint8, check value 10 = X
    old_id_digits: np.ndarray  # (N, 18), meaningful where reissued
    reissued: np.ndarray
    id_area: np.ndarray
    born_elsewhere: np.ndarray
    county: np.ndarray  # index 0..3 of the household registration county
    hh_address: np.ndarray  # index into World.addresses
    res_address: np.ndarray
    old_res_address: np.ndarray  # -1 if none
    phone: np.ndarray  # int64, 0 = none
    old_phone: np.ndarray
    marital: np.ndarray  # index into MARITAL
    spouse: np.ndarray  # person id or -1
    marriage_date: np.ndarray
    mother: np.ndarray
    father: np.ndarray
    twin: np.ndarray
    education: np.ndarray  # index into EDUCATION, -1 for small children
    employer: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # entity id or -1

    @property
    def alive(self) -> np.ndarray:
        return np.isnat(self.death)

    @property
    def age(self) -> np.ndarray:
        return age_at(self.birth)

    def guardian(self) -> np.ndarray:
        """The mother if known, else the father, else -1."""
        return np.where(self.mother >= 0, self.mother, self.father)


@dataclass
class Households:
    n: int
    number: np.ndarray  # 9-digit 户号
    county: np.ndarray
    urban: np.ndarray
    town: np.ndarray
    address: np.ndarray  # index into World.addresses
    head: np.ndarray


def _bracket_draw(rng: np.random.Generator, n: int, edges: list[int], probs: list[float]) -> np.ndarray:
    b = rng.choice(len(probs), size=n, p=np.array(probs) / sum(probs))
    lo = np.array(edges[:-1])[b]
    hi = np.array(edges[1:])[b]
    return lo + rng.random(n) * (hi - lo)


@dataclass
class _Frame:
    """The household skeleton: who lives where, in which role, and the heads' family timeline."""

    n: int
    nh: int  # households
    hh: np.ndarray  # household of each person
    start: np.ndarray  # first person (the head) of each household
    role: np.ndarray
    rank: np.ndarray  # a child's birth order (0 = first)
    head_birth: np.ndarray  # per drawn household (h0 >= nh of them)
    has_spouse: np.ndarray
    kids: np.ndarray
    first_gap: np.ndarray  # head's age at the first child
    spacing: np.ndarray  # years between children
    elder_birth: np.ndarray


def build_persons(
    rng: np.random.Generator, n: int, names: NameModel, gaz: places.Gazetteer, address_book: list[pa.Array]
) -> tuple[Persons, Households]:
    """Households and their members; appends address texts to ``address_book`` (index = position)."""
    f = _frame(rng, n)
    sex, birth, twin_idx, head_male = _sex_and_birth(rng, f)
    twin = np.zeros(n, dtype=bool)
    twin[twin_idx] = True
    twin[twin_idx - 1] = True
    father, mother = _parents(f, head_male)
    sur, g1, g2, fg1, fg2 = _person_names(rng, names, f, sex, birth, father, twin_idx)
    eth = _ethnicity(rng, f)
    age = (DAY1 - birth).astype(np.int64) / YEAR
    death = _deaths(rng, f, birth, age)
    spouse, marriage_date, m_idx = _marriages(rng, f, birth, death, age.astype(np.int64))
    relation = np.select(
        [f.role == HEAD, f.role == SPOUSE, f.role == CHILD],
        [0, 1, np.where(sex == 1, 2, 3)],
        np.where(sex == 1, 4, 5),
    ).astype(np.int8)
    households, res, old_res = _homes(rng, gaz, f, age.astype(np.int64), address_book)
    county = households.county.astype(np.int64)[f.hh]
    phone, old_phone = _phones(rng, age.astype(np.int64))
    edu = _education(rng, birth, age.astype(np.int64))
    area, elsewhere, reissued, id_digits, old_digits = _resident_ids(rng, f, sex, birth, county)
    persons = Persons(
        n=n,
        household=f.hh.astype(np.int64),
        role=f.role.astype(np.int8),
        relation=relation,
        sex=sex,
        birth=birth,
        death=death,
        sur=sur,
        g1=g1,
        g2=g2,
        former_g1=fg1,
        former_g2=fg2,
        ethnicity=eth,
        id_digits=id_digits,
        old_id_digits=old_digits,
        reissued=reissued,
        id_area=area.astype(np.int64),
        born_elsewhere=elsewhere,
        county=county.astype(np.int8),
        hh_address=households.address[f.hh],
        res_address=res,
        old_res_address=old_res,
        phone=phone.astype(np.int64),
        old_phone=old_phone.astype(np.int64),
        marital=m_idx,
        spouse=spouse,
        marriage_date=marriage_date,
        mother=mother.astype(np.int64),
        father=father.astype(np.int64),
        twin=twin,
        education=edu,
    )
    return persons, households


def _frame(rng: np.random.Generator, n: int) -> _Frame:
    """Households drawn until ``n`` persons: a head, maybe a spouse, children born by DAY1, an elder."""
    h0 = int(n / 2.7) + 64
    head_age = _bracket_draw(
        rng, h0, [20, 25, 30, 40, 50, 60, 70, 80, 96], [0.05, 0.08, 0.17, 0.20, 0.20, 0.16, 0.10, 0.04]
    )
    head_birth = DAY1 - years(head_age)
    p_spouse = np.select([head_age < 25, head_age < 70, head_age < 80], [0.45, 0.88, 0.68], 0.45)
    has_spouse = rng.random(h0) < p_spouse
    kid_probs = np.select(
        [np.repeat((head_age < a)[:, None], 5, 1) for a in (25, 35, 50, 65)],
        [
            np.array([0.55, 0.38, 0.07, 0, 0]),
            np.array([0.12, 0.42, 0.36, 0.09, 0.01]),
            np.array([0.05, 0.30, 0.44, 0.18, 0.03]),
            np.array([0.35, 0.40, 0.19, 0.06, 0.0]),
        ],
        np.array([0.62, 0.28, 0.10, 0, 0]),
    )
    kid_max = (rng.random(h0)[:, None] > np.cumsum(kid_probs, axis=1)).sum(axis=1)
    first_gap = 21.5 + rng.gamma(3.0, 1.4, h0)
    spacing = 1.2 + rng.gamma(2.0, 1.1, h0)
    kids = np.zeros(h0, dtype=np.int64)
    for r in range(4):  # children not yet born by DAY1 do not exist
        born = head_birth + years(first_gap + r * spacing) <= DAY1
        kids += (r < kid_max) & born
    has_elder = (head_age > 28) & (head_age < 62) & (rng.random(h0) < 0.13)
    elder_birth = head_birth - years(22 + rng.gamma(3, 2.0, h0))
    has_elder &= elder_birth >= EARLIEST_BIRTH
    size = 1 + has_spouse + kids + has_elder
    ends = np.cumsum(size)
    nh = int(np.searchsorted(ends, n, side="left")) + 1
    hh = np.repeat(np.arange(nh), size[:nh])[:n]
    start = np.concatenate([[0], ends[:-1]])[:nh]
    pos = np.arange(n) - start[hh]
    sp = has_spouse[hh].astype(np.int64)
    role = np.where(
        pos == 0, HEAD, np.where(pos < 1 + sp, SPOUSE, np.where(pos < 1 + sp + kids[hh], CHILD, ELDER))
    )
    return _Frame(n, nh, hh, start, role, pos - 1 - sp, head_birth, has_spouse, kids, first_gap, spacing, elder_birth)


def _sex_and_birth(
    rng: np.random.Generator, f: _Frame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sex and birth date of everyone (spouses near the head's age, children spaced), the twins (each
    a child born the same day as the previous one, ~0.3 % of persons) and whether heads are men."""
    n, hh, role = f.n, f.hh, f.role
    head_male = rng.random(f.nh) < np.where(f.has_spouse[: f.nh], 0.86, 0.62)
    u = rng.random(n)
    sex = np.where(
        role == HEAD,
        np.where(head_male[hh], 1, 2),
        np.where(role == SPOUSE, np.where(head_male[hh], 2, 1), np.where(u < 0.515, 1, 2)),
    ).astype(np.uint8)
    gap = np.where(head_male[hh], 2.0, -2.0)
    spouse_birth = f.head_birth[hh] + years(gap + rng.normal(0, 2.5, n))
    # a child exists when its planned birth is by DAY1; the few months of jitter spread its birth
    # over the days up to DAY1 rather than piling the latest births onto DAY1 itself (which would
    # crowd one date past the 500 resident-id sequences a sex has per area and day)
    planned = (f.head_birth[hh] + years(f.first_gap[hh] + f.rank * f.spacing[hh])).astype("datetime64[D]")
    room = np.clip((DAY1 - planned).astype(np.int64), 0, int(0.3 * YEAR))
    child_birth = planned + (rng.random(n) * (room + 1)).astype(np.int64).astype("timedelta64[D]")
    birth = np.select(
        [role == HEAD, role == SPOUSE, role == CHILD],
        [f.head_birth[hh], spouse_birth, child_birth],
        f.elder_birth[hh],
    ).astype("datetime64[D]")
    birth = np.clip(birth, EARLIEST_BIRTH, DAY1)
    twin_next = (role == CHILD) & (f.rank >= 1) & (rng.random(n) < 0.014)
    twin_idx = np.flatnonzero(twin_next)
    birth[twin_idx] = birth[twin_idx - 1]
    return sex, birth, twin_idx, head_male


def _parents(f: _Frame, head_male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Father and mother of each child (the head and spouse; -1 beyond the last household)."""
    spouse_id = np.where(f.has_spouse[: f.nh], f.start + 1, -1)
    father_of_kids = np.where(head_male, f.start, spouse_id)
    mother_of_kids = np.where(head_male, spouse_id, f.start)
    is_child = f.role == CHILD
    father = np.where(is_child, father_of_kids[f.hh], -1)
    mother = np.where(is_child, mother_of_kids[f.hh], -1)
    # a child's parent must exist in the truncated tail household
    return np.where(father >= f.n, -1, father), np.where(mother >= f.n, -1, mother)


def _person_names(
    rng: np.random.Generator,
    names: NameModel,
    f: _Frame,
    sex: np.ndarray,
    birth: np.ndarray,
    father: np.ndarray,
    twin_idx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Surnames (children mostly the father's), given names by era, twins' names, former names."""
    n, role = f.n, f.role
    sur = names.sample_surnames(rng, n)
    fam_sur = np.where(father >= 0, sur[np.maximum(father, 0)], sur)
    sur = np.where((role == CHILD) & (rng.random(n) < 0.97), fam_sur, sur)
    elder_same = (role == ELDER) & (rng.random(n) < 0.5)
    sur = np.where(elder_same, sur[f.start[f.hh]], sur).astype(np.int32)
    era = era_of(year_of(birth), rng)
    g1, g2 = names.sample_given(rng, sex, era)
    # twins: one-character names stay one-character (伟/强); two-character ones share the first
    # character (子轩/子涵), never the whole name
    prev_single = g2[twin_idx - 1] == 0
    alt1, _ = names.sample_given(rng, sex[twin_idx], np.full(twin_idx.size, 2, np.int8))
    own2 = g2[twin_idx]
    g2[twin_idx] = np.where(prev_single, 0, np.where((own2 == 0) | (own2 == g2[twin_idx - 1]), alt1, own2))
    sur[twin_idx] = sur[twin_idx - 1]  # twins share the family name whatever the household does
    g1[twin_idx] = np.where(
        prev_single, np.where(g1[twin_idx] == g1[twin_idx - 1], alt1, g1[twin_idx]), g1[twin_idx - 1]
    )
    former = rng.random(n) < 0.02
    fg1, fg2 = names.sample_given(rng, sex, era)
    return sur, g1, g2, np.where(former, fg1, 0).astype(np.int32), np.where(former, fg2, 0).astype(np.int32)


def _ethnicity(rng: np.random.Generator, f: _Frame) -> np.ndarray:
    """A household's ethnicity (1 % minorities, mostly 回); some spouses are 汉 anyway."""
    codes = np.array([c for c, _ in MINORITIES])
    w = np.array([x for _, x in MINORITIES], dtype=float)
    head_eth = np.where(rng.random(f.nh) < 0.99, 0, 1 + rng.choice(codes.size, f.nh, p=w / w.sum()))
    eth = head_eth[f.hh]
    return np.where((f.role == SPOUSE) & (rng.random(f.n) < 0.2), 0, eth).astype(np.int16)


def _deaths(rng: np.random.Generator, f: _Frame, birth: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Deaths over the last 12 years (Gompertz hazard); a parent dies after the youngest child's birth."""
    n, hh, role, start = f.n, f.hh, f.role, f.start
    look = np.minimum(age, 12.0)
    hazard = 0.00003 * np.exp(0.095 * np.minimum(age, 105))
    dead = rng.random(n) < 1 - np.exp(-hazard * look)
    death = np.where(dead, DAY1 - years(rng.random(n) * look), np.datetime64("NaT")).astype("datetime64[D]")
    death = np.where(dead & (death <= birth), birth + np.timedelta64(1, "D"), death)
    last_child = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    child_days = birth.astype(np.int64)
    for parent in (
        np.where(role == CHILD, start[hh], -1),
        np.where(role == CHILD, np.where(f.has_spouse[hh], start[hh] + 1, -1), -1),
    ):
        ok = (parent >= 0) & (parent < n)
        np.maximum.at(last_child, parent[ok], child_days[ok])
    late = dead & (last_child > death.astype(np.int64))
    return np.where(late, np.minimum(last_child + 1, DAY1.astype(np.int64)).astype("datetime64[D]"), death)


def _marriages(
    rng: np.random.Generator, f: _Frame, birth: np.ndarray, death: np.ndarray, age_i: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spouses (head and spouse of a household), wedding dates (before the first child and before
    either dies) and marital status codes (indices into MARITAL)."""
    n, hh, role, start = f.n, f.hh, f.role, f.start
    spouse = np.full(n, -1, dtype=np.int64)
    hsel = np.flatnonzero((role == HEAD) & f.has_spouse[hh] & (start[hh] + 1 < n))
    spouse[hsel] = hsel + 1
    spouse[hsel + 1] = hsel
    h0 = f.head_birth.size
    first_kid = f.head_birth + years(f.first_gap)
    wed = np.where(
        f.kids > 0, first_kid - years(0.3 + rng.random(h0) * 2.5), f.head_birth + years(22 + rng.random(h0) * 8)
    )
    wed = np.minimum(wed, DAY1 - np.timedelta64(1, "D"))
    married = spouse >= 0
    other = np.maximum(spouse, 0)
    marriage_date = np.where(married, wed[hh], np.datetime64("NaT")).astype("datetime64[D]")
    later_birth = np.maximum(birth, np.where(married, birth[other], birth))
    marriage_date = np.where(married, np.maximum(marriage_date, later_birth + years(20)), marriage_date)
    marriage_date = np.where(married, np.minimum(marriage_date, DAY1 - np.timedelta64(1, "D")), marriage_date)
    # nobody marries after dying: pull the wedding before the first death of the couple
    first_death = np.minimum(
        np.where(np.isnat(death), DAY1, death),
        np.where(married, np.where(np.isnat(death[other]), DAY1, death[other]), DAY1),
    )
    too_late = married & (marriage_date >= first_death)
    marriage_date = np.where(too_late, first_death - np.timedelta64(30, "D"), marriage_date)
    m_idx = np.full(n, 0, dtype=np.int8)  # 10 未婚
    married_kind = rng.choice([1, 2, 3, 4], size=n, p=[0.70, 0.22, 0.06, 0.02])
    m_idx = np.where(married, married_kind, m_idx)
    m_idx = np.where(married & ~np.isnat(death[other]), 5, m_idx)  # 30 丧偶
    lone_head = (role == HEAD) & (spouse < 0)
    lone_status = np.where(
        f.kids[hh] > 0,
        np.where((age_i > 45) & (rng.random(n) < 0.45), 5, 6),
        np.where(age_i < 30, 0, rng.choice([0, 6, 5], size=n, p=[0.4, 0.35, 0.25])),
    )
    m_idx = np.where(lone_head, lone_status, m_idx)
    m_idx = np.where(role == ELDER, np.where(rng.random(n) < 0.85, 5, 1), m_idx)
    m_idx = np.where((role == CHILD) & (age_i >= 22) & (rng.random(n) < 0.03), 7, m_idx)  # 90 未说明
    return spouse, marriage_date, np.where(age_i < 20, 0, m_idx).astype(np.int8)


def _homes(
    rng: np.random.Generator, gaz: places.Gazetteer, f: _Frame, age_i: np.ndarray, address_book: list[pa.Array]
) -> tuple[Households, np.ndarray, np.ndarray]:
    """Households (county, urban, registered address, 户号) and each person's residence: some adults
    moved within the city (the registered address is then their old one), some moved earlier."""
    n, nh, hh = f.n, f.nh, f.hh
    county_h = rng.choice(4, size=nh, p=places.COUNTY_SHARE)
    urban_h = rng.random(nh) < 0.36
    addr_text, town_h = places.make_addresses(rng, gaz, county_h, urban_h)
    hh_addr = _book(address_book, addr_text)
    hh_number = (county_h.astype(np.int64) + 1) * 10**8 + minting.sample_unique(rng, nh, 10**8)
    county = county_h[hh]
    moved = (rng.random(n) < 0.22) & (age_i >= 18)
    mv = np.flatnonzero(moved)
    mv_text, _ = places.make_addresses(rng, gaz, county[mv], rng.random(mv.size) < 0.7)
    res = hh_addr[hh].copy()
    res[mv] = _book(address_book, mv_text)
    old_res = np.full(n, -1, dtype=np.int64)
    old_res[mv] = hh_addr[hh][mv]
    earlier = np.flatnonzero(~moved & (age_i >= 18) & (rng.random(n) < 0.08))
    e_text, _ = places.make_addresses(rng, gaz, county[earlier], rng.random(earlier.size) < 0.5)
    old_res[earlier] = _book(address_book, e_text)
    households = Households(
        n=nh,
        number=hh_number,
        county=county_h.astype(np.int8),
        urban=urban_h,
        town=town_h,
        address=hh_addr,
        head=f.start,
    )
    return households, res, old_res


def _book(address_book: list[pa.Array], texts: pa.Array) -> np.ndarray:
    """Append ``texts`` to the address book; their positions in it."""
    base = sum(len(a) for a in address_book)
    address_book.append(texts)
    return base + np.arange(len(texts))


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    return MOBILE_PREFIXES[rng.integers(0, MOBILE_PREFIXES.size, n)] * 10**8 + rng.integers(0, 10**8, n)


def _phones(rng: np.random.Generator, age_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mobile for most from 15 (fewer of the old), a quarter with an earlier number (0 = none)."""
    n = age_i.shape[0]
    has_phone = np.where(age_i >= 75, rng.random(n) < 0.45, (age_i >= 15) & (rng.random(n) < 0.94))
    phone = np.where(has_phone, _mobiles(rng, n), 0)
    old_phone = np.where(has_phone & (rng.random(n) < 0.25), _mobiles(rng, n), 0)
    return phone, old_phone


def _education(rng: np.random.Generator, birth: np.ndarray, age_i: np.ndarray) -> np.ndarray:
    """Highest education (index into EDUCATION) by birth cohort, capped by age; -1 under six."""
    n = age_i.shape[0]
    by = year_of(birth)
    edu_p = np.select(
        [np.repeat((by < 1960)[:, None], 8, 1), np.repeat((by < 1985)[:, None], 8, 1)],
        [
            np.array([0.25, 0.40, 0.24, 0.07, 0.02, 0.015, 0.005, 0.0]),
            np.array([0.03, 0.20, 0.45, 0.14, 0.08, 0.06, 0.035, 0.005]),
        ],
        np.array([0.0, 0.04, 0.33, 0.16, 0.12, 0.18, 0.155, 0.015]),
    )
    edu = (np.asarray(rng.random(n))[:, None] > np.cumsum(edu_p, axis=1)).sum(axis=1).clip(0, 7)
    capped = np.where(age_i < 15, np.minimum(edu, 2), np.where(age_i < 22, np.minimum(edu, 5), edu))
    return np.where(age_i < 6, -1, np.where(age_i < 12, 1, capped)).astype(np.int8)


def _resident_ids(
    rng: np.random.Generator, f: _Frame, sex: np.ndarray, birth: np.ndarray, county: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resident id numbers: the area the id was issued under (historic codes, some spouses from
    elsewhere), unique sequences by sex, and the earlier id of the few whose id was reissued."""
    n = f.n
    by = year_of(birth)
    elsewhere = rng.random(n) < np.where(f.role == SPOUSE, 0.12, 0.03)
    origin = np.where((f.role == SPOUSE) & (rng.random(n) < 0.15), rng.integers(0, 4, n), county)
    issue_year = np.where(by >= 1984, by, rng.integers(1985, 1996, n))
    area = area_at_issue(origin, issue_year)
    keep_hist = rng.random(n) < 0.7  # the rest re-registered and got a current-code number
    area = np.where(
        (area // 100 != 3416) & ~keep_hist, np.array([int(c) for c in places.COUNTIES])[origin], area
    )
    area = np.where(elsewhere, _elsewhere_areas(rng, n), area)
    reissued = (rng.random(n) < 0.003) & (by < 2005)
    old_birth = np.where(
        reissued & (rng.random(n) < 0.5), birth + rng.integers(-20, 21, n).astype("timedelta64[D]"), birth
    )
    old_birth = np.where(old_birth == birth, birth, old_birth)
    rs = np.flatnonzero(reissued)
    seq_all = minting.unique_sequences(
        rng,
        np.concatenate([area, area[rs]]),
        np.concatenate([birth, old_birth[rs]]),
        np.concatenate([sex, sex[rs]]),
    )
    id_digits = minting.rid_digits(minting.rid_body(area, birth, seq_all[:n]))
    old_digits = id_digits.copy()
    old_digits[rs] = minting.rid_digits(minting.rid_body(area[rs], old_birth[rs], seq_all[n:]))
    return area, elsewhere, reissued, id_digits, old_digits


def area_at_issue(county: np.ndarray, issue_year: np.ndarray) -> np.ndarray:
    """The GB/T 2260 code a county's ids were issued under in a given year (see AREA_LINEAGE)."""
    out = np.zeros(county.shape[0], dtype=np.int64)
    for c, lineage in enumerate(AREA_LINEAGE):
        sel = county == c
        for code, lo, hi in lineage:
            out = np.where(sel & (issue_year >= lo) & (issue_year < hi), int(code), out)
    return out


def _elsewhere_areas(rng: np.random.Generator, n: int) -> np.ndarray:
    """County codes outside Bozhou: other Anhui counties (half) and neighbouring provinces."""
    from standards.codetables import load_code_table

    t = load_code_table("gb2260")
    level = np.array(t.column("level").to_pylist())
    code = np.array(t.column("code").to_pylist())
    valid_to = np.array([v or "" for v in t.column("valid_to").to_pylist()])
    name = np.array(t.column("name").to_pylist())
    ok = (level == "county") & (valid_to == "") & (name != "市辖区")
    code = code[ok].astype(np.int64)
    prov = code // 10000
    weights = {
        34: 50.0,
        41: 16.0,
        32: 10.0,
        37: 6.0,
        33: 5.0,
        31: 3.0,
        44: 3.0,
        42: 2.0,
        36: 2.0,
        13: 1.5,
        11: 1.5,
    }
    w = np.vectorize(lambda p: weights.get(int(p), 0.0))(prov)  # over ~2,800 county codes
    w = np.where(code // 100 == 3416, 0.0, w)
    per_prov = {p: (prov == p).sum() for p in np.unique(prov)}
    w = w / np.vectorize(lambda p: per_prov[p])(prov)
    return code[rng.choice(code.size, size=n, p=w / w.sum())]
