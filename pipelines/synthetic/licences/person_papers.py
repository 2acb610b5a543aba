"""The other papers departments issue to persons: each a share of the persons a rule admits.

A :class:`PersonPaper` states who may hold it (a rule over the population: adults of some ages, rural
men, the divorced, household heads, depositors ...), how likely each of them does, from what age and
since when it was issued (or, for a certificate issued on request, only recently), and how the
department writes its number and detail. Validity and renewal come from ``licence_types.csv`` and
the :class:`~.model.LicenceType` rules, so a declaration here is the whole type.

Rates are this city's approximations of public figures: ~90 % of residents carry a social security
card, two thirds of adults activated the medical-insurance e-voucher, about one adult in eight owns a
car, a few percent hold a vocational qualification, nurses are ~0.4 % of the population (mostly
women), taxi drivers and disabled veterans a few in ten thousand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.synthetic import places, strs
from pipelines.synthetic.licences.model import (
    Grant,
    LicenceType,
    Population,
    dates_between,
    draw_holders,
    unique_serials,
)
from pipelines.synthetic.minting import rid_strings
from pipelines.synthetic.population import EDUCATION, year_of, years

#: How a department writes a paper: (rng, population, grant, papers already issued) -> number or detail.
PaperForm = Callable[[np.random.Generator, Population, Grant, int], pa.Array]
Rule = Callable[[Population], np.ndarray]
COUNTY_CODES = np.array([int(c) for c in places.COUNTIES])
VEHICLES = ("小型轿车", "小型普通客车", "小型轿车", "轻型普通货车", "小型越野客车", "普通二轮摩托车")
PLATE_CHARS = tuple("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
OCCUPATIONS = ("电工", "焊工", "育婴员", "保育员", "中式烹调师", "美发师", "汽车维修工", "家政服务员", "保安员",
               "养老护理员", "中药调剂员", "茶艺师", "电子商务师", "农艺工")
SKILL_LEVELS = ("五级/初级工", "四级/中级工", "三级/高级工", "二级/技师")
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "亳州药都农村商业银行", "徽商银行")
WARDS = ("亳州市人民医院", "亳州市中医院", "谯城区人民医院", "涡阳县人民医院", "蒙城县人民医院", "利辛县人民医院")
SPECIAL_EQUIPMENT = ("N1 叉车司机", "Q2 桥式起重机司机", "G1 工业锅炉司炉", "A 特种设备安全管理", "R1 快开门式压力容器操作")
FARM_MACHINES = ("G1", "G2", "H", "K")
DISABILITY_GRADES = tuple(f"{g}级" for g in "一二三四五六七八九十")
DISABILITY_CAUSES = ("因战", "因公", "因病")
ARCHIVE_KINDS = ("婚姻登记档案", "知青档案", "招工档案", "房地产档案", "学籍档案")
PROOFS = ("居住证明", "家庭成员关系证明", "无业证明", "收入证明", "生存证明")
TAXI_KINDS = ("巡游出租汽车", "网络预约出租汽车")
SCHOOLS = np.array([10357, 10358, 10370, 10371, 10878, 10879, 11059, 11305, 12216, 14198])
#: 学历证书 level digits by EDUCATION index (5 专科, 6 本科, 7 研究生).
LEVEL_DIGITS = {5: "05", 6: "06", 7: "01"}


@dataclass(frozen=True, kw_only=True)
class PersonPaper(LicenceType):
    """A paper held by a share of the persons ``who`` admits, first issued from ``from_age`` and
    ``since`` (or, issued on request, within the last ``within_days``) up to day 1."""

    who: Rule
    share: float | Rule
    number_form: PaperForm
    detail_form: PaperForm | None = None
    from_age: float = 18.0
    since: str = "1990-01-01"
    within_days: int | None = None
    #: first issued within this many days of the earliest date (a diploma at graduation)
    window_days: int | None = None
    #: share of renewable papers whose holder stopped renewing (the paper expired)
    lapse: float = 0.0

    def eligible(self, pop: Population) -> np.ndarray:
        return self.who(pop)

    def rate(self, pop: Population) -> float | np.ndarray:
        return self.share(pop) if callable(self.share) else self.share

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = draw_holders(rng, self.eligible(pop), self.rate(pop))
        p = pop.persons
        last = np.where(pop.alive[sel], pop.day, p.death[sel]).astype("datetime64[D]")
        lo = np.maximum(p.birth[sel] + years(self.from_age), np.datetime64(self.since))
        if self.within_days is not None:
            lo = np.maximum(lo, pop.day - np.timedelta64(self.within_days, "D"))
        hi = last if self.window_days is None else np.minimum(last, lo + np.timedelta64(self.window_days, "D"))
        first = np.minimum(dates_between(rng, lo, hi, sel.size), last)
        vf, vt = self.validity(pop, sel, first)
        if self.lapse:
            stopped = (rng.random(sel.size) < self.lapse) & ~np.isnat(vt)
            vt = np.where(stopped, np.minimum(vt, pop.day - np.timedelta64(30, "D")), vt).astype("datetime64[D]")
            vf = np.minimum(vf, vt)
        issue = vf if self.renewed else first
        return Grant(sel, issue, vf, vt)

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array | None]:
        number = self.number_form(rng, pop, g, first_serial)
        return number, self.detail_form(rng, pop, g, first_serial) if self.detail_form else None


# -- who may hold -----------------------------------------------------------------------------------------


def living(lo: int, hi: int = 200) -> Rule:
    """The living aged ``lo`` to ``hi``."""
    return lambda pop: pop.alive & (pop.age >= lo) & (pop.age <= hi)


def by_sex(men: float, women: float) -> Rule:
    return lambda pop: np.where(pop.persons.sex == 1, men, women)


def _rural(pop: Population) -> np.ndarray:
    return ~pop.households.urban[pop.persons.household]


def _divorced(pop: Population) -> np.ndarray:
    return (pop.persons.marital == 6) & (pop.age >= 22)  # MARITAL index 6: 40 离婚


def _heads(pop: Population) -> np.ndarray:
    return pop.alive & pop.heads()


def _poor_households(pop: Population) -> np.ndarray:
    return np.where(_rural(pop), 0.07, 0.02)


def _card_share(pop: Population) -> np.ndarray:
    return np.where(pop.age >= 16, 0.93, 0.7)


def _voucher_share(pop: Population) -> np.ndarray:
    return np.where(pop.persons.phone > 0, np.where(pop.age < 60, 0.7, 0.35), 0.0)


def _car_share(pop: Population) -> np.ndarray:
    return np.where(pop.persons.sex == 1, 0.26, 0.1) * np.clip((78 - pop.age) / 30, 0, 1)


def _renters(pop: Population) -> np.ndarray:
    p = pop.persons
    return pop.alive & (pop.age >= 20) & (p.res_address != p.hh_address)


def _depositors(pop: Population) -> np.ndarray:
    emp = pop.persons.employer
    return living(18, 60)(pop) & (emp >= 0)


def _graduates(pop: Population) -> np.ndarray:
    """College graduates since diplomas were registered electronically (2001)."""
    return (pop.persons.education >= 5) & (year_of(pop.persons.birth) >= 1979) & (pop.age >= 22)


# -- how departments write the papers ---------------------------------------------------------------------


def _pick(words: tuple[str, ...]) -> PaperForm:
    def form(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
        return strs.take(list(words), rng.integers(0, len(words), g.n))

    return form


def _resident_id(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    """Papers numbered by the holder's resident id (special-equipment, farm-machine, taxi papers)."""
    return strs.to_arrow(rid_strings(pop.persons.id_digits[g.holder]))


def _area(pop: Population, g: Grant) -> pa.Array:
    return strs.num(COUNTY_CODES[pop.persons.county[g.holder]])


def _vehicle_file(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("3416", unique_serials(rng, g.n, 8))


def _plate(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    chars = [strs.take(list(PLATE_CHARS), rng.integers(0, len(PLATE_CHARS), g.n)) for _ in range(5)]
    kind = strs.take(list(VEHICLES), rng.integers(0, len(VEHICLES), g.n))
    return strs.cat("皖S", *chars, " ", kind)


def _divorce_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("L", _area(pop, g), "-", strs.num(year_of(g.issue)), "-", unique_serials(rng, g.n, 6))


def _dibao_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(_area(pop, g), "-", strs.num(year_of(g.issue)), "-", unique_serials(rng, g.n, 6))


def _dibao_kind(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    members = np.bincount(pop.persons.household[pop.alive], minlength=pop.households.n)
    home = pop.persons.household[g.holder]
    rural = strs.take(["城市低保 ", "农村低保 "], (~pop.households.urban[home]).astype(np.int64))
    return strs.cat(rural, "保障人数", strs.num(np.maximum(members[home], 1)), "人")


def _card_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    letter = strs.take(list("ABCDEFGHJ"), rng.integers(0, 9, g.n))
    return strs.cat(letter, unique_serials(rng, g.n, 8))


def _qualification_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    yy = strs.to_arrow(strs.zpad(year_of(g.issue) % 100, 2))
    level = strs.num(rng.integers(2, 6, g.n))
    return strs.cat(yy, "341600", level, unique_serials(rng, g.n, 7))


def _skill(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    occ = strs.take(list(OCCUPATIONS), rng.integers(0, len(OCCUPATIONS), g.n))
    return strs.cat(occ, " ", strs.take(list(SKILL_LEVELS), rng.integers(0, len(SKILL_LEVELS), g.n)))


def _voucher_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("YB341600", unique_serials(rng, g.n, 12))


def _nurse_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(strs.num(year_of(g.issue)), "34", unique_serials(rng, g.n, 6))


def _diploma_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    edu = pop.persons.education[g.holder]
    level = strs.take([LEVEL_DIGITS.get(e, "05") for e in range(len(EDUCATION))], edu)
    school = strs.num(SCHOOLS[rng.integers(0, SCHOOLS.size, g.n)])
    return strs.cat(school, "1", strs.num(year_of(g.issue)), level, unique_serials(rng, g.n, 6))


def _diploma_level(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.take(list(EDUCATION), pop.persons.education[g.holder])


def _lease_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("亳房租备", strs.num(year_of(g.issue)), unique_serials(rng, g.n, 6))


def _residence(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("安徽省亳州市", strs.take(pop.addresses, pop.persons.res_address[g.holder]))


def _deposit_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("GJJZM", strs.to_arrow(strs.format_dates(g.issue, "%Y%m%d")), unique_serials(rng, g.n, 6))


def _disabled_veteran_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("皖军", strs.take(list("ABC"), rng.integers(0, 3, g.n)), unique_serials(rng, g.n, 6))


def _disability_grade(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    grade = strs.take(list(DISABILITY_GRADES), np.minimum(rng.geometric(0.25, g.n) + 3, 9))
    return strs.cat(strs.take(list(DISABILITY_CAUSES), rng.integers(0, 3, g.n)), " ", grade)


def _archive_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("DACY", strs.num(year_of(g.issue)), unique_serials(rng, g.n, 6))


def _proof_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    day = strs.to_arrow(strs.format_dates(g.issue, "%Y%m%d"))
    return strs.cat("BM", _area(pop, g), day, unique_serials(rng, g.n, 6))


#: The other person-held types, in issuing order (after the identity papers).
PERSON_PAPERS: tuple[LicenceType, ...] = (
    PersonPaper(code="005", who=living(20, 80), share=_car_share, from_age=20, since="2000-01-01",
                number_form=_vehicle_file, detail_form=_plate, revoke=0.03, on_day="application", daily_share=0.3),
    PersonPaper(code="010", who=_divorced, share=0.9, from_age=22, since="1995-01-01",
                number_form=_divorce_number, ends_with_holder=False),
    PersonPaper(code="014", who=_heads, share=_poor_households, from_age=20, since="2017-01-01", renewed=True,
                lapse=0.3, number_form=_dibao_number, detail_form=_dibao_kind),
    PersonPaper(code="015", who=living(0), share=_card_share, from_age=0, since="2011-07-01", renewed=True,
                number_form=_card_number, detail_form=_pick(BANKS), on_day="application", daily_share=0.3),
    PersonPaper(code="016", who=living(18, 65), share=0.06, since="1995-01-01",
                number_form=_qualification_number, detail_form=_skill, revoke=0.002),
    PersonPaper(code="019", who=living(16), share=_voucher_share, from_age=16, since="2019-11-24",
                number_form=_voucher_number, on_day="application", daily_share=0.3),
    PersonPaper(code="022", who=lambda pop: living(20, 60)(pop) & (pop.persons.education >= 4),
                share=by_sex(0.0008, 0.012), from_age=20, since="1994-01-01", renewed=True, lapse=0.05,
                number_form=_nurse_number, detail_form=_pick(WARDS), revoke=0.003),
    PersonPaper(code="026", who=_graduates, share=0.95, number_form=_diploma_number, detail_form=_diploma_level,
                from_age=21.6, since="2001-07-01", window_days=4 * 365, ends_with_holder=False),
    PersonPaper(code="033", who=living(20, 60), share=by_sex(0.008, 0.001), from_age=20, since="2005-01-01",
                renewed=True, lapse=0.08, number_form=_resident_id, detail_form=_pick(SPECIAL_EQUIPMENT)),
    PersonPaper(code="041", who=_renters, share=0.15, within_days=1095, number_form=_lease_number,
                detail_form=_residence),
    PersonPaper(code="042", who=_depositors, share=0.08, within_days=365, number_form=_deposit_number,
                on_day="application", daily_share=0.3),
    PersonPaper(code="046", who=lambda pop: living(18, 70)(pop) & _rural(pop), share=by_sex(0.04, 0.003),
                since="1995-01-01", renewed=True, lapse=0.1, number_form=_resident_id,
                detail_form=_pick(FARM_MACHINES)),
    PersonPaper(code="048", who=living(35), share=by_sex(0.0008, 0.00005), from_age=25, since="2004-10-01",
                number_form=_disabled_veteran_number, detail_form=_disability_grade),
    PersonPaper(code="074", who=living(18), share=0.004, within_days=1095, number_form=_archive_number,
                detail_form=_pick(ARCHIVE_KINDS), on_day="application", daily_share=0.1),
    PersonPaper(code="077", who=living(21, 60), share=by_sex(0.003, 0.0003), from_age=21, since="2012-01-01",
                renewed=True, lapse=0.1, number_form=_resident_id, detail_form=_pick(TAXI_KINDS), revoke=0.005),
    PersonPaper(code="078", who=living(16), share=0.015, within_days=365, number_form=_proof_number,
                detail_form=_pick(PROOFS), on_day="application", daily_share=0.2),
)

__all__ = ["PERSON_PAPERS", "PersonPaper"]
