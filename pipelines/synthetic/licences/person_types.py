"""The licence types the city issues to persons: each one's holders, history and paper.

Holders are chosen the way the papers arise: driving licences for adults, birth certificates for
everyone born in the city since 1996, marriage certificates for both spouses of a couple (same
number), real-estate titles for household heads (often co-owned with the spouse), land-contract
certificates for rural households, and so on. Paper numbers follow each department's own format
(皖(2020)亳州市不动产权第0012345号, J341602-2015-001234 ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import places, strs
from pipelines.synthetic.entities import LEVEL_NAMES
from pipelines.synthetic.licences.library import NAT
from pipelines.synthetic.licences.model import (
    Grant,
    LicenceType,
    Population,
    dates_between,
    draw_holders,
    serial,
)
from pipelines.synthetic.minting import rid_strings, sample_unique
from pipelines.synthetic.population import age_at, area_at_issue, year_of, years

COUNTY_CODES = np.array([int(c) for c in places.COUNTIES])
DRIVING_CLASSES = (("C1", 70), ("C2", 10), ("B2", 4), ("A2", 2), ("A1", 1), ("B1", 2), ("D", 6), ("C1E", 5))
DISABILITY = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
SUBJECTS = (
    "语文",
    "数学",
    "英语",
    "物理",
    "化学",
    "生物",
    "历史",
    "地理",
    "政治",
    "音乐",
    "体育",
    "美术",
    "信息技术",
    "学前教育",
)
MEDICAL = ("临床", "中医", "口腔", "公共卫生")
LANGUAGES = ("普通话", "普通话", "普通话", "英语", "日语", "韩语")
LAW_FIRM_PLACES = ("安徽亳州", "安徽", "亳州")
LAW_FIRM_WORDS = (tuple("正华信德衡泰诚和君明"), tuple("律恒远达信泰诚安"))


def title_number(issue: np.ndarray, level_name: pa.Array, serials: np.ndarray) -> pa.Array:
    """不动产权证书 number: 皖(year)registry不动产权第nnnnnnn号."""
    return strs.cat(
        "皖(", strs.num(year_of(issue)), ")", level_name, "不动产权第", strs.to_arrow(strs.zpad(serials, 7)), "号"
    )


@dataclass(frozen=True, kw_only=True)
class DrivingLicence(LicenceType):
    """机动车驾驶证: valid 6 years from first issue, then 10, then long-term; some lapse unrenewed."""

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.age >= 18

    def rate(self, pop: Population) -> np.ndarray:
        return np.where(pop.persons.sex == 1, 0.52, 0.30) * np.clip((75 - pop.age) / 30, 0, 1)

    def validity(self, pop: Population, holder: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        held = (pop.day - first).astype(np.int64)
        long_term = held > 16 * 365
        vf = np.where(long_term, first + years(16), np.where(held > 6 * 365, first + years(6), first))
        first_term = first + years(self.validity_years or 6)
        vt = np.where(long_term, NAT, np.where(vf > first, vf + years(10), first_term))
        return vf, vt.astype("datetime64[D]")

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        p = pop.persons
        drv = draw_holders(rng, self.eligible(pop), self.rate(pop))
        first = np.maximum(p.birth[drv] + years(18 + rng.gamma(2.0, 4.0, drv.size)), np.datetime64("1992-01-01"))
        first = np.minimum(first, pop.day - np.timedelta64(3, "D")).astype("datetime64[D]")
        vf, vt = self.validity(pop, drv, first)
        lapsed = rng.random(drv.size) < 0.04
        vt = np.where(lapsed & ~np.isnat(vt), np.minimum(vt, pop.day - np.timedelta64(30, "D")), vt)
        return Grant(drv, first, vf, vt)

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        cls, w = zip(*DRIVING_CLASSES)
        detail = strs.take(list(cls), rng.choice(len(cls), size=g.n, p=np.array(w) / sum(w)))
        return serial("3416", sample_unique(rng, g.n, 10**8), 8), detail


@dataclass(frozen=True, kw_only=True)
class TravelDocument(LicenceType):
    """Passports and permits: the latest one issued within ten years, valid 5 years for a child."""

    letter: str
    share: float

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.age >= 1

    def rate(self, pop: Population) -> np.ndarray:
        return self.share * np.where((pop.age >= 18) & (pop.age <= 60), 1.6, 0.5)

    def validity(self, pop: Population, holder: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        child = age_at(pop.persons.birth[holder], first) < 16
        return first, (first + years(np.where(child, 5, self.validity_years or 10))).astype("datetime64[D]")

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = draw_holders(rng, self.eligible(pop), self.rate(pop))
        lo = np.maximum(pop.persons.birth[sel], pop.day - np.timedelta64(3650, "D"))
        issue = dates_between(rng, lo, pop.day, sel.size)
        return Grant(sel, issue, *self.validity(pop, sel, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        return serial(self.letter, sample_unique(rng, g.n, 10**8), 8), None


@dataclass(frozen=True, kw_only=True)
class MarriageCertificate(LicenceType):
    """结婚证: one paper per couple, held by both spouses, numbered by the registering county."""

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.persons.spouse >= 0

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        p = pop.persons
        first = np.flatnonzero((p.spouse >= 0) & (np.arange(p.n) < p.spouse))
        wed = p.marriage_date[first]
        return Grant(first, wed, *self.validity(pop, first, wed))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        year = year_of(g.issue)
        area = area_at_issue(pop.persons.county[g.holder].astype(np.int64), year)
        ser = sample_unique(rng, g.n, 10**6) if g.n <= 10**6 else rng.integers(0, 10**6, g.n)
        return strs.cat("J", strs.num(area), "-", strs.num(year), "-", strs.to_arrow(strs.zpad(ser, 6))), None

    def co_holders(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        return pop.persons.spouse[g.holder]


@dataclass(frozen=True, kw_only=True)
class BirthCertificate(LicenceType):
    """出生医学证明: everyone born in the city since 1996, issued within weeks of the birth."""

    def eligible(self, pop: Population) -> np.ndarray:
        p = pop.persons
        return (p.birth >= np.datetime64("1996-01-01")) & ~p.born_elsewhere

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        bc = np.flatnonzero(self.eligible(pop))
        issue = np.minimum(pop.persons.birth[bc] + rng.integers(0, 40, bc.size).astype("timedelta64[D]"), pop.day)
        return Grant(bc, issue, *self.validity(pop, bc, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        series = np.clip((year_of(pop.persons.birth[g.holder]) - 1996) // 2, 0, 25)
        letter = strs.take([chr(ord("A") + i) for i in range(26)], series)
        return strs.cat(letter, strs.to_arrow(strs.zpad(sample_unique(rng, g.n, 10**9), 9))), None


#: How a profession's paper is written: (rng, pop, grant, issue year, serials, area codes) -> number, detail.
PracticeForm = Callable[
    [np.random.Generator, Population, Grant, pa.Array, np.ndarray, pa.Array], tuple[pa.Array, pa.Array]
]


@dataclass(frozen=True, kw_only=True)
class Practice(LicenceType):
    """Professional papers (physicians, teachers, lawyers, notaries, tour guides) of educated adults."""

    share: float
    ages: tuple[int, int]
    form: PracticeForm
    renewed: bool = True

    def eligible(self, pop: Population) -> np.ndarray:
        lo, hi = self.ages
        return (pop.persons.education >= 5) & pop.alive & (pop.age >= lo) & (pop.age <= hi)

    def rate(self, pop: Population) -> float:
        return self.share

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = draw_holders(rng, self.eligible(pop), self.share)
        issue = dates_between(rng, pop.persons.birth[sel] + years(self.ages[0] - 2), pop.day, sel.size)
        return Grant(sel, issue, *self.validity(pop, sel, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        yr = strs.num(year_of(g.issue))
        ser = sample_unique(rng, g.n, 10**6)
        area6 = strs.num(COUNTY_CODES[pop.persons.county[g.holder]])
        return self.form(rng, pop, g, yr, ser, area6)


def _physician(
    rng: np.random.Generator, pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array
) -> tuple[pa.Array, pa.Array]:
    number = strs.cat(strs.num(rng.integers(1, 5, g.n)), area6, yr, strs.to_arrow(strs.zpad(ser % 10**4, 4)))
    return number, strs.take(list(MEDICAL), rng.integers(0, len(MEDICAL), g.n))


def _teacher(
    rng: np.random.Generator, pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array
) -> tuple[pa.Array, pa.Array]:
    number = strs.cat(yr, area6, strs.num(rng.integers(1, 5, g.n)), strs.to_arrow(strs.zpad(ser, 6)))
    return number, strs.take(list(SUBJECTS), rng.integers(0, len(SUBJECTS), g.n))


def _lawyer_number(pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array) -> pa.Array:
    sex = strs.num(pop.persons.sex[g.holder] % 2)
    return strs.cat("1", area6, yr, sex, strs.to_arrow(strs.zpad(ser % 10**5, 5)))


def _lawyer(
    rng: np.random.Generator, pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array
) -> tuple[pa.Array, pa.Array]:
    number = _lawyer_number(pop, g, yr, ser, area6)
    firm = strs.take(list(LAW_FIRM_PLACES), rng.integers(0, len(LAW_FIRM_PLACES), g.n))
    first, second = LAW_FIRM_WORDS
    detail = strs.cat(
        firm,
        strs.take(list(first), rng.integers(0, len(first), g.n)),
        strs.take(list(second), rng.integers(0, len(second), g.n)),
        "律师事务所",
    )
    return number, detail


def _notary(
    rng: np.random.Generator, pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array
) -> tuple[pa.Array, pa.Array]:
    office = strs.cat(strs.take(places.COUNTY_NAMES, pop.persons.county[g.holder]), "公证处")
    rng.integers(0, len(LAW_FIRM_PLACES), g.n)  # drawn and unused, as in the first generator: same seed, same city
    return _lawyer_number(pop, g, yr, ser, area6), office


def _tour_guide(
    rng: np.random.Generator, pop: Population, g: Grant, yr: pa.Array, ser: np.ndarray, area6: pa.Array
) -> tuple[pa.Array, pa.Array]:
    number = strs.cat("D-3416-", strs.to_arrow(strs.zpad(ser, 6)))
    return number, strs.take(list(LANGUAGES), rng.integers(0, len(LANGUAGES), g.n))


@dataclass(frozen=True, kw_only=True)
class RealEstateTitle(LicenceType):
    """不动产权证书 of households: most urban heads own, some a second property, often with the spouse."""

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.heads()

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        hh = pop.households
        heads = hh.head[hh.head < pop.persons.n]
        own = heads[rng.random(heads.size) < np.where(hh.urban[: heads.size], 0.85, 0.55)]
        extra = own[rng.random(own.size) < 0.18]  # a second property
        owners = np.concatenate([own, extra])
        issue = dates_between(rng, np.datetime64("2016-01-01"), pop.day, owners.size)
        return Grant(owners, issue, *self.validity(pop, owners, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        p = pop.persons
        level = np.where(pop.households.urban[p.household[g.holder]], 0, p.county[g.holder] + 1)
        number = title_number(g.issue, strs.take(LEVEL_NAMES, level), sample_unique(rng, g.n, 8 * 10**6))
        where = pc.binary_join_element_wise("安徽省亳州市", strs.take(pop.addresses, p.hh_address[g.holder]), "")
        return number, where

    def co_holders(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        spouse = pop.persons.spouse[g.holder]
        co = (spouse >= 0) & pop.alive[np.maximum(spouse, 0)] & (rng.random(g.n) < 0.5)
        return np.where(co, spouse, -1)

    def status(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        historical = rng.random(g.n) < 0.04  # sold or transferred since
        return np.where(historical, "2", np.where(pop.alive[g.holder], "1", "2")).astype("<U1")


@dataclass(frozen=True, kw_only=True)
class LandContract(LicenceType):
    """土地承包经营权证: one per rural household, to the head, from the 2016-2019 confirmation."""

    def eligible(self, pop: Population) -> np.ndarray:
        hh = pop.households
        heads = np.zeros(pop.persons.n, bool)
        heads[hh.head[(~hh.urban) & (hh.head < pop.persons.n)]] = True
        return heads

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        hh = pop.households
        heads = hh.head[(~hh.urban) & (hh.head < pop.persons.n)]
        issue = dates_between(rng, np.datetime64("2016-03-01"), np.datetime64("2019-12-31"), heads.size)
        return Grant(heads, issue, *self.validity(pop, heads, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        hh, n = pop.households, g.n
        home = pop.persons.household[g.holder]
        code19 = strs.cat(
            strs.num(COUNTY_CODES[hh.county[home]]),
            strs.to_arrow(strs.zpad(hh.town[home] % 1000 + 100, 3)),
            strs.to_arrow(strs.zpad(rng.integers(200, 240, n), 3)),
            strs.to_arrow(strs.zpad(rng.integers(1, 12, n), 2)),
            strs.to_arrow(strs.zpad(home % 10**4, 4)),
            "J",
        )
        area_mu = strs.cat(
            strs.num(rng.integers(1, 12, n)), ".", strs.to_arrow(strs.zpad(rng.integers(0, 100, n), 2)), "亩"
        )
        return code19, area_mu


@dataclass(frozen=True, kw_only=True)
class VeteransCard(LicenceType):
    """退役军人优待证: issued since mid-2022 to veterans (mostly men)."""

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.alive & (pop.age >= 22)

    def rate(self, pop: Population) -> np.ndarray:
        return np.where(pop.persons.sex == 1, 0.03, 0.002)

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        vet = draw_holders(rng, self.eligible(pop), self.rate(pop))
        issue = dates_between(rng, np.datetime64("2022-06-01"), pop.day, vet.size)
        return Grant(vet, issue, *self.validity(pop, vet, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        return serial("YD3416", sample_unique(rng, g.n, 10**7), 7), None


@dataclass(frozen=True, kw_only=True)
class DisabilityCertificate(LicenceType):
    """残疾人证: numbered by the holder's id, category and grade; more common with age."""

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.age >= 1

    def rate(self, pop: Population) -> np.ndarray:
        return 0.012 + 0.0006 * np.clip(pop.age - 40, 0, 50)

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        dis = draw_holders(rng, self.eligible(pop), self.rate(pop))
        lo = np.maximum(pop.persons.birth[dis] + years(1), pop.day - np.timedelta64(4000, "D"))
        issue = dates_between(rng, lo, pop.day, dis.size)
        return Grant(dis, issue, *self.validity(pop, dis, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        category = rng.integers(0, len(DISABILITY), g.n)
        grade = rng.integers(1, 5, g.n)
        ids = strs.to_arrow(rid_strings(pop.persons.id_digits[g.holder]))
        return strs.cat(ids, strs.num(category + 1), strs.num(grade)), strs.take(list(DISABILITY), category)


@dataclass(frozen=True, kw_only=True)
class LoggingPermit(LicenceType):
    """林木采伐许可证: a one-year permit of rural adults, for woodland by their home."""

    def eligible(self, pop: Population) -> np.ndarray:
        p = pop.persons
        return pop.alive & (pop.age >= 25) & ~pop.households.urban[p.household]

    def rate(self, pop: Population) -> float:
        return 0.0025

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = draw_holders(rng, self.eligible(pop), self.rate(pop))
        issue = dates_between(rng, pop.day - np.timedelta64(1500, "D"), pop.day, sel.size)
        return Grant(sel, issue, *self.validity(pop, sel, issue))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        p = pop.persons
        number = strs.cat(
            strs.num(COUNTY_CODES[p.county[g.holder]]),
            "-",
            strs.num(year_of(g.issue)),
            "-",
            strs.to_arrow(strs.zpad(sample_unique(rng, g.n, 10**5), 5)),
        )
        return number, strs.cat(strs.take(pop.addresses, p.hh_address[g.holder]), "林地")


#: The person-held types in issuing order (day 1 draws them in this order from one stream).
PERSON_TYPES: tuple[LicenceType, ...] = (
    DrivingLicence(code="004", on_day="application", daily_share=0.4, revoke=0.01),
    TravelDocument(code="006", letter="E", share=0.08, on_day="application", daily_share=0.3, revoke=0.002),
    TravelDocument(code="007", letter="C", share=0.05, revoke=0.002),
    TravelDocument(code="008", letter="L", share=0.01, revoke=0.002),
    MarriageCertificate(code="009", on_day="marriage", ends_with_holder=False),
    BirthCertificate(code="020", on_day="birth", ends_with_holder=False),
    Practice(code="021", share=0.006, ages=(25, 65), form=_physician, revoke=0.005),
    Practice(code="025", share=0.022, ages=(22, 65), form=_teacher, revoke=0.005),
    Practice(code="050", share=0.0012, ages=(25, 65), form=_lawyer, revoke=0.005),
    Practice(code="051", share=0.0002, ages=(28, 65), form=_notary, revoke=0.005),
    Practice(code="057", share=0.0008, ages=(20, 55), form=_tour_guide, revoke=0.005),
    RealEstateTitle(code="035"),
    LandContract(code="043", revoke=0.0),
    VeteransCard(code="047", on_day="application", daily_share=0.15),
    DisabilityCertificate(code="049", on_day="application", daily_share=0.15, revoke=0.0),
    LoggingPermit(code="069", revoke=0.0),
)
