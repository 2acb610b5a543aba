"""The other papers departments issue to legal entities: permits of the trades that need them, and
the certificates of law firms, organs and trade unions.

Each permit goes to a share of the entities whose industry (``industries.csv``) needs it - pharmacies
their drug-trade licence, clinics and hospitals their practice licence, filling stations their fuel
retail certificate, developers their planning and pre-sale permits - first issued when the rule began
or the entity was established and renewed every ``validity_years`` since; the registrars' own
certificates go to every entity of their kind. Numbers follow each department's format
(皖CA5580123, 地字第341600202300123号, 皖交运管许可亳字341602001234号 ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.synthetic import places, strs
from pipelines.synthetic.entities import LAW_FIRM, MARKET_KINDS, ORGAN, UNION, USCC_REFORM
from pipelines.synthetic.licences.entity_types import BusinessLicence, EntityLicence, Form, Permit
from pipelines.synthetic.licences.model import Grant, LicenceType, Population, unique_serials
from pipelines.synthetic.population import year_of

ESTATES = tuple((places.DATA / "estates.txt").read_text(encoding="utf-8").split())
PHASES = ("", "一期", "二期", "三期")
#: Old tax registration certificates lapsed when the 2015 three-in-one reform's transition ended.
TAX_CERTIFICATES_END = np.datetime64("2017-12-31")
#: Organs received USCC certificates when codes were assigned to them (2016-2017).
ORGAN_CODES_FROM = np.datetime64("2016-01-01")
CLINICAL = ("内科；外科；中医科", "预防保健科；全科医疗科", "口腔科", "中医科；针灸科", "内科；妇产科；儿科；医学影像科")
PUBLIC_PLACES = ("住宿", "美容美发", "住宿；餐饮")
SCHOOLING = ("学前教育", "文化艺术培训", "职业技能培训", "语言培训")
DRUG_SCOPES = ("中药饮片、中成药、化学药制剂", "中成药、化学药制剂、生物制品", "中药材、中药饮片")
RADIATION = ("使用Ⅲ类射线装置", "使用Ⅱ类、Ⅲ类射线装置", "使用V类放射源")
HAZARDS = ("汽油、柴油", "硫酸、盐酸（不带储存设施）", "乙醇、甲醇（不带储存设施）")
TRANSPORT = ("道路普通货物运输", "道路旅客运输", "货物专用运输（集装箱）")


@dataclass(frozen=True, kw_only=True)
class UsccCertificate(BusinessLicence):
    """统一社会信用代码证书 of organs: printed when codes were assigned (2016-2017), not at founding."""

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = np.flatnonzero(self.eligible(pop))
        printed = ORGAN_CODES_FROM + rng.integers(0, 540, sel.size).astype("timedelta64[D]")
        issue = np.minimum(np.maximum(pop.entities.established[sel], printed), pop.day).astype("datetime64[D]")
        return Grant(sel, issue, *self.validity(pop, sel, issue))


@dataclass(frozen=True, kw_only=True)
class TaxCertificate(EntityLicence):
    """税务登记证 of entities registered before the 2015 reform: issued within a month of their
    founding, lapsed when the three-in-one licence replaced it (end of 2017)."""

    share: float = 0.85

    def eligible(self, pop: Population) -> np.ndarray:
        e = pop.entities
        return super().eligible(pop) & (e.established < USCC_REFORM) & (e.org_code != "")

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        e = pop.entities
        sel = np.flatnonzero(self.eligible(pop) & (rng.random(e.n) < self.share))
        issue = np.minimum(e.established[sel] + rng.integers(0, 30, sel.size).astype("timedelta64[D]"), pop.day)
        return Grant(sel, issue, issue, np.full(sel.size, TAX_CERTIFICATES_END))


# -- paper forms -----------------------------------------------------------------------------------------


def _year(g: Grant) -> pa.Array:
    return strs.num(year_of(g.issue))


def _area(pop: Population, g: Grant) -> pa.Array:
    return strs.num(pop.entities.area[g.holder])


def _pick(words: tuple[str, ...]) -> Form:
    def form(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
        return strs.take(list(words), rng.integers(0, len(words), g.n))

    return form


def _numbered(*parts: str | Form, width: int) -> Form:
    """A number of fixed text, per-paper parts and a unique serial, in the order given: ``"{year}"``
    is the issue year, ``"{area}"`` the holder's registering area, ``"{serial}"`` a serial of
    ``width`` digits (:func:`~.model.unique_serials`)."""

    def form(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
        out: list[pa.Array | str] = []
        for part in parts:
            if part == "{year}":
                out.append(_year(g))
            elif part == "{area}":
                out.append(_area(pop, g))
            elif part == "{serial}":
                out.append(unique_serials(rng, g.n, width))
            elif isinstance(part, str):
                out.append(part)
            else:
                out.append(part(rng, pop, g, first_serial))
        return strs.cat(*out)

    return form


def _uscc(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.to_arrow(pop.entities.uscc[g.holder])


def _tax_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    e = pop.entities
    return strs.to_arrow(np.char.add(e.area[g.holder].astype(str), np.char.replace(e.org_code[g.holder], "-", "")))


def _project(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    county = strs.take(places.COUNTY_NAMES, pop.entities.county[g.holder])
    estate = strs.take(list(ESTATES), rng.integers(0, len(ESTATES), g.n))
    return strs.cat(county, estate, strs.take(list(PHASES), rng.integers(0, len(PHASES), g.n)), "项目")


def _shop(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("安徽省亳州市", pop.entities.address.take(pa.array(g.holder)))


def _scope(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return pop.entities.scope.take(pa.array(g.holder))


def _drug_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    retail = pop.entities.kind[g.holder] == 0
    return strs.cat("皖", strs.take(["A", "C"], retail.astype(np.int64)), "A558", unique_serials(rng, g.n, 4))


def _project_code(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    """企业投资项目代码: yymm of filing - county - industry - running number (2611-341602-04-01-000123)."""
    y, m, _d = strs.date_parts(g.issue)
    county = strs.num(np.array([int(c) for c in places.COUNTIES])[pop.entities.county[g.holder]])
    running = strs.to_arrow(strs.zpad(np.arange(g.n) + 1 + first_serial, 6))
    return strs.cat(strs.to_arrow(strs.zpad(y % 100, 2)), strs.to_arrow(strs.zpad(m, 2)), "-", county, "-04-01-",
                    running)


def _union_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("工法证字第", _area(pop, g), strs.to_arrow(strs.zpad(np.arange(g.n) + 1 + first_serial, 6)), "号")


_HEALTH = ("诊所", "民办医院", "卫生院", "人民医院")
_HOUSING = ("房地产开发", "建筑工程", "建筑安装工程")

#: The other entity-held types, in issuing order (after the person papers).
ENTITY_PERMITS: tuple[LicenceType, ...] = (
    Permit(code="017", kinds=(1,), trades=("人力资源", "劳务"), share=0.7, since="2010-01-01",
           number_form=_numbered("(皖)人服证字[", "{year}", "]第", "{area}", "{serial}", "号", width=4)),
    Permit(code="018", kinds=(1,), trades=("劳务", "人力资源"), share=0.5, since="2013-07-01",
           number_form=_numbered("皖", "{area}", "{year}", "{serial}", width=4), revoke=0.01),
    Permit(code="023", kinds=(0, 4, 6), trades=_HEALTH, share=0.95, since="1994-09-01",
           number_form=_numbered("PDY", "{serial}", "{area}", "A1001", width=8),
           detail_form=_pick(CLINICAL), revoke=0.005),
    Permit(code="024", kinds=MARKET_KINDS, trades=("宾馆", "酒店管理", "理发店", "美容美发店"), share=0.8,
           since="2005-01-01", number_form=_numbered("亳卫公证字[", "{year}", "]第", "{serial}", "号", width=6), detail_form=_pick(PUBLIC_PLACES), revoke=0.01),
    Permit(code="027", kinds=(4,), trades=("幼儿园", "培训学校", "职业技能培训学校"), share=0.95, since="2003-09-01",
           number_form=_numbered("教民1", "{area}", "7", "{serial}", "号", width=6),
           detail_form=_pick(SCHOOLING)),
    Permit(code="032", kinds=(0, 1), trades=("大药房", "医药连锁", "药业"), share=0.85, since="2002-01-01",
           number_form=_drug_number, detail_form=_pick(DRUG_SCOPES), revoke=0.01),
    TaxCertificate(code="034", kinds=MARKET_KINDS + (3, 4, 5, 6), number_form=_tax_number),
    Permit(code="036", kinds=(1, 6), trades=_HOUSING + ("中学", "人民医院"), share=0.5, since="2008-01-01",
           number_form=_numbered("地字第341600", "{year}", "{serial}", "号", width=5),
           detail_form=_project),
    Permit(code="037", kinds=(1, 6), trades=_HOUSING + ("中学", "人民医院"), share=0.5, since="2008-06-01",
           number_form=_numbered("建字第341600", "{year}", "{serial}", "号", width=5),
           detail_form=_project),
    Permit(code="039", kinds=(1,), trades=_HOUSING, share=0.5, since="2010-01-01",
           number_form=_numbered("{area}", "{year}", "{serial}", width=8), detail_form=_project),
    Permit(code="040", kinds=(1,), trades=("房地产开发",), share=0.8, since="2005-01-01",
           number_form=_numbered("亳房预售证第", "{year}", "{serial}", "号", width=4),
           detail_form=_project),
    Permit(code="044", kinds=(0, 1), trades=("农资店", "农业科技"), share=0.7, since="2017-06-01",
           number_form=_numbered("农药经许（皖）", "{area}", "{serial}", width=5), revoke=0.01),
    Permit(code="045", kinds=MARKET_KINDS, trades=("养殖场", "畜牧", "生猪养殖专业合作社", "肉牛养殖专业合作社",
                                                  "山羊养殖专业合作社", "家禽养殖专业合作社"),
           share=0.8, since="2010-05-01",
           number_form=_numbered("(皖亳)动防合字第", "{serial}", "号", width=6), detail_form=_shop),
    BusinessLicence(code="052", kinds=(LAW_FIRM,), number_form=_uscc),
    Permit(code="054", kinds=(1, 4, 6), trades=("人民医院", "民办医院", "卫生院", "机械制造", "化工"), share=0.4,
           since="2006-03-01", number_form=_numbered("皖环辐证[", "{serial}", "]", width=5),
           detail_form=_pick(RADIATION), revoke=0.005),
    Permit(code="056", kinds=(0, 1), trades=("化工", "加油站", "农资店"), share=0.5, since="2002-11-15",
           number_form=_numbered("皖亳危化经字[", "{year}", "]", "{serial}", width=6),
           detail_form=_pick(HAZARDS), revoke=0.01),
    Permit(code="058", kinds=(1,), trades=("文化传媒", "广告"), share=0.3, since="2009-01-01",
           number_form=_numbered("{area}", "1", "{year}", "{serial}", width=3), revoke=0.01),
    Permit(code="059", kinds=(1,), trades=("旅行社",), share=0.95, since="2009-05-01",
           number_form=_numbered("L-AH-", "{serial}", width=5), revoke=0.01),
    Permit(code="061", kinds=(1,), trades=("加油站",), share=0.95, since="2007-01-01",
           number_form=_numbered("油零售证书第34", "{serial}", "号", width=5), revoke=0.005),
    Permit(code="062", kinds=(1,), share=0.08, live_only=True, since="2021-05-01", renewed=False,
           number_form=_project_code, detail_form=_project),
    Permit(code="063", kinds=(1,), trades=("财务咨询",), share=0.8, since="2016-05-01",
           number_form=_numbered("DLJZ", "{area}", "{year}", "{serial}", width=4)),
    Permit(code="064", kinds=(1, 2), share=0.7, since="1990-01-01", renewed=False, established_before="2017-01-01",
           number_form=_numbered("统登字", "{area}", "{serial}", width=6)),
    Permit(code="066", kinds=(1,), trades=("建筑工程", "建筑安装工程", "运输", "房地产开发"), share=0.3,
           since="2010-01-01", number_form=_numbered("亳城管建垃核[", "{year}", "]", "{serial}", width=4),
           detail_form=_project),
    Permit(code="067", kinds=MARKET_KINDS, trades=("饭店", "餐饮管理", "酒店管理", "宾馆", "食品", "酒业", "化工",
                                                  "汽车修理厂"), share=0.3, since="2015-03-01",
           number_form=_numbered("皖亳排字第", "{year}", "{serial}", "号", width=5), detail_form=_shop),
    Permit(code="070", kinds=(1, 2), trades=("苗木花卉专业合作社", "农业科技"), share=0.5, since="2016-01-01",
           number_form=_numbered("(皖亳)林种许字(", "{year}", ")第", "{serial}", "号", width=4)),
    UsccCertificate(code="072", kinds=(ORGAN,), number_form=_uscc),
    BusinessLicence(code="075", kinds=(UNION,), number_form=_union_number),
    Permit(code="076", kinds=(1,), trades=("运输", "物流"), share=0.8, since="2005-01-01",
           number_form=_numbered("皖交运管许可亳字", "{area}", "{serial}", "号", width=6),
           detail_form=_pick(TRANSPORT), revoke=0.01),
)

__all__ = ["ENTITY_PERMITS", "TaxCertificate", "UsccCertificate"]
