"""The licence types the city issues to legal entities: each one's holders, history and paper.

Every market entity has its business licence (number = USCC, issued at establishment) and every
social organisation or public institution its registration certificate; permits go to the entities
whose industry needs them (food, tobacco, construction, pollutant discharge, work safety, water
abstraction, outdoor advertising), renewed every ``validity_years`` since first issue, some lapsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import strs
from pipelines.synthetic.entities import LEVEL_NAMES, MARKET_KINDS, USCC_REFORM
from pipelines.synthetic.licences.library import ENTITY, Issued
from pipelines.synthetic.licences.model import Grant, LicenceType, Population, dates_between, draw_holders
from pipelines.synthetic.licences.person_types import title_number
from pipelines.synthetic.minting import sample_unique
from pipelines.synthetic.population import year_of

#: licence_status of a paper that follows its entity's status (存续, 吊销, 注销).
STATUS_OF_ENTITY = np.array(["1", "3", "2"])
FOOD_SCOPES = ("预包装食品销售", "散装食品销售", "热食类食品制售", "冷食类食品制售", "糕点类食品制售")
QUALIFICATIONS = (
    "建筑工程施工总承包三级",
    "建筑工程施工总承包二级",
    "市政公用工程施工总承包三级",
    "建筑装修装饰工程专业承包二级",
    "地基基础工程专业承包三级",
    "施工劳务不分等级",
)
SAFETY_TRADES = (("JZ", "建筑施工"), ("FM", "危险化学品生产"), ("WH", "烟花爆竹"), ("YS", "非煤矿山"))
WATER_SOURCES = ("地下水", "涡河", "西淝河", "茨淮新河")
#: How a department writes a paper: (rng, population, grant, papers already issued) -> number or detail.
Form = Callable[[np.random.Generator, Population, Grant, int], pa.Array]


@dataclass(frozen=True, kw_only=True)
class EntityLicence(LicenceType):
    """A type held by entities of some kinds (and an industry flag, or some trades), drawn with a share
    on day 1."""

    holder_kind: int = ENTITY
    kinds: tuple[int, ...]
    number_form: Form
    detail_form: Form | None = None
    flag: str | None = None
    #: industries (``industries.csv`` tails) whose entities need the paper; empty: any
    trades: tuple[str, ...] = ()
    #: only entities established before this date (a paper a later reform abolished)
    established_before: str | None = None
    share: float = 1.0
    #: kinds that top up a small city's holders (default: ``kinds``)
    fallback_kinds: tuple[int, ...] | None = None
    #: share of deregistered entities whose paper is still in the register (1: all)
    gone_share: float = 1.0
    #: share of entities without the industry flag that hold one anyway
    unflagged_share: float = 0.0
    live_only: bool = False
    #: day 1 draws the detail after the status (the order the city was first generated in)
    detail_after_status: bool = False

    def eligible(self, pop: Population) -> np.ndarray:
        e = pop.entities
        mask = self._kind_and_trade(pop)
        return mask & e.has(self.flag) if self.flag else mask

    def _kind_and_trade(self, pop: Population) -> np.ndarray:
        e = pop.entities
        mask = np.isin(e.kind, self.kinds)
        if self.trades:
            mask &= e.of_trade(self.trades)
        if self.established_before:
            mask &= e.established < np.datetime64(self.established_before)
        return mask

    def pick(self, rng: np.random.Generator, pop: Population) -> np.ndarray:
        """Day-1 holders: a share of the eligible, at least three (topped up from ``fallback_kinds``)."""
        e = pop.entities
        live = e.status == 0
        mask = self._kind_and_trade(pop)
        if self.flag:
            flagged = e.has(self.flag)
            if self.unflagged_share:
                flagged = flagged | (rng.random(e.n) < self.unflagged_share)
            mask = mask & flagged
        if self.gone_share < 1:
            mask = mask & (live | (rng.random(e.n) < self.gone_share))
        if self.live_only:
            mask = mask & live
        fallback = np.isin(e.kind, self.fallback_kinds or self.kinds) & live
        return draw_holders(rng, mask, self.share, k_min=3, fallback=fallback)

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array | None]:
        number = self.number_form(rng, pop, g, first_serial)
        return number, self.detail_form(rng, pop, g, first_serial) if self.detail_form else None

    def held(self, rng: np.random.Generator, pop: Population) -> Issued:
        if not self.detail_after_status:
            return super().held(rng, pop)
        g = self.stock(rng, pop)
        number = self.number_form(rng, pop, g, 0)
        status = self.status(rng, pop, g)
        detail = self.detail_form(rng, pop, g, 0) if self.detail_form else None
        return self.issued(g, number, detail, status, None)


@dataclass(frozen=True, kw_only=True)
class BusinessLicence(EntityLicence):
    """营业执照 and its variants: every market entity of the kind, numbered by its USCC."""

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = np.flatnonzero(self.eligible(pop))
        est = pop.entities.established[sel]
        return Grant(sel, est, *self.validity(pop, sel, est))

    def status(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        return STATUS_OF_ENTITY[pop.entities.status[g.holder]]


@dataclass(frozen=True, kw_only=True)
class RegistrationCertificate(BusinessLicence):
    """登记证书 of social organisations and public institutions, renewed every five years."""

    renewed: bool = True

    def status(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        gone = pop.entities.status[g.holder] > 0
        expired = np.where(g.valid_to < pop.day, "4", "1")
        return np.where(gone, STATUS_OF_ENTITY[pop.entities.status[g.holder]], expired).astype("<U1")


@dataclass(frozen=True, kw_only=True)
class Permit(EntityLicence):
    """A permit first issued some time after establishment (or the rule's start), renewed since."""

    since: str
    renewed: bool = True

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = self.pick(rng, pop)
        start = np.maximum(pop.entities.established[sel], np.datetime64(self.since))
        first = start + rng.integers(0, 60, sel.size).astype("timedelta64[D]")
        first = np.minimum(first, pop.day).astype("datetime64[D]")
        vf, vt = self.validity(pop, sel, first)
        lapsed = rng.random(sel.size) < 0.06
        vt = np.where(lapsed, np.minimum(vt, pop.day - np.timedelta64(20, "D")), vt)
        return Grant(sel, vf, vf, vt)


@dataclass(frozen=True, kw_only=True)
class TradeFiling(EntityLicence):
    """对外贸易经营者备案: filed once (no expiry) after the 2004 rule or the establishment."""

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = self.pick(rng, pop)
        start = np.maximum(pop.entities.established[sel], np.datetime64("2004-07-01"))
        issue = np.minimum(start + rng.integers(0, 200, sel.size).astype("timedelta64[D]"), pop.day)
        return Grant(sel, issue, *self.validity(pop, sel, issue))


@dataclass(frozen=True, kw_only=True)
class CorporateTitle(EntityLicence):
    """不动产权证书 held by companies and public institutions, registered since 2016."""

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = self.pick(rng, pop)
        issue = dates_between(rng, np.maximum(pop.entities.established[sel], np.datetime64("2016-01-01")),
                              pop.day, sel.size)
        return Grant(sel, issue, *self.validity(pop, sel, issue))


# -- paper forms -----------------------------------------------------------------------------------------


def _uscc(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.to_arrow(pop.entities.uscc[g.holder])


def _serials(rng: np.random.Generator, n: int, high: int, width: int) -> pa.Array:
    return strs.to_arrow(strs.zpad(sample_unique(rng, n, high), width))


def _civil_number(word: str) -> Form:
    """Civil affairs: the USCC since the 2015 reform, before it 亳民{word}登字第nnnn号."""

    def form(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
        e = pop.entities
        modern = e.established[g.holder] >= USCC_REFORM
        running = strs.to_arrow(strs.zpad(np.arange(g.n) + 1 + first_serial, 4))
        old_no = strs.cat("亳民", word, "登字第", running, "号")
        return pc.if_else(pa.array(modern), strs.to_arrow(e.uscc[g.holder]), old_no)

    return form


def _institution_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    running = strs.to_arrow(strs.zpad(np.arange(g.n) + 1 + first_serial, 5))
    return strs.cat("事证第1", strs.num(pop.entities.area[g.holder]), running, "号")


def _food_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    e = pop.entities
    body = np.where(e.kind[g.holder] == 0, 2, 1)
    return strs.cat(
        "JY",
        strs.num(body),
        strs.num(e.area[g.holder]),
        _serials(rng, g.n, 10**6, 6),
        strs.num(rng.integers(0, 10, g.n)),
    )


def _food_scope(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.take(list(FOOD_SCOPES), rng.integers(0, len(FOOD_SCOPES), g.n))


def _tobacco_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(strs.num(pop.entities.area[g.holder]), _serials(rng, g.n, 10**6, 6))


def _construction_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("D", strs.num(rng.integers(2, 4, g.n)), "34", _serials(rng, g.n, 10**7, 7))


def _qualification(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.take(list(QUALIFICATIONS), rng.integers(0, len(QUALIFICATIONS), g.n))


def _trade_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return _serials(rng, g.n, 10**8, 8)


def _discharge_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(
        strs.to_arrow(pop.entities.uscc[g.holder]),
        strs.to_arrow(strs.zpad(rng.integers(1, 4, g.n), 3)),
        strs.take(list("PVUX"), rng.integers(0, 4, g.n)),
    )


def _industry(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return pop.entities.industry_name.take(pa.array(g.holder))


def _safety_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    codes = [c for c, _ in SAFETY_TRADES]
    return strs.cat(
        "(皖)",
        strs.take(codes, rng.integers(0, len(codes), g.n)),
        "安许证字[",
        strs.num(year_of(g.valid_from)),
        "]",
        _serials(rng, g.n, 10**6, 6),
    )


def _safety_trade(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.take([t for _, t in SAFETY_TRADES], rng.integers(0, len(SAFETY_TRADES), g.n))


def _water_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("取水(皖亳)字[", strs.num(year_of(g.valid_from)), "]第", _serials(rng, g.n, 10**5, 5), "号")


def _water_intake(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(strs.take(list(WATER_SOURCES), rng.integers(0, len(WATER_SOURCES), g.n)), "取水口")


def _title_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    level = strs.take(LEVEL_NAMES, pop.entities.level[g.holder])
    return title_number(g.issue, level, sample_unique(rng, g.n, 10**6) + 10**6 * 8)


def _site(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat("安徽省亳州市", pop.entities.address.take(pa.array(g.holder)))


def _ads_number(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    small = g.n <= 5000
    running = _serials(rng, g.n, 10**4 if small else 10**6, 4 if small else 6)
    return strs.cat("亳城管广许[", strs.num(year_of(g.valid_from)), "]", running, "号")


def _shop_front(rng: np.random.Generator, pop: Population, g: Grant, first_serial: int) -> pa.Array:
    return strs.cat(pop.entities.address.take(pa.array(g.holder)), "门头")


#: The entity-held types in issuing order (day 1 draws them in this order, after the person types).
ENTITY_TYPES: tuple[LicenceType, ...] = (
    BusinessLicence(code="028", kinds=(1,), number_form=_uscc, on_day="registration"),
    BusinessLicence(code="029", kinds=(0,), number_form=_uscc, on_day="registration"),
    BusinessLicence(code="030", kinds=(2,), number_form=_uscc, on_day="registration"),
    RegistrationCertificate(code="011", kinds=(3,), number_form=_civil_number("社"), on_day="registration"),
    RegistrationCertificate(code="012", kinds=(4,), number_form=_civil_number("民"), on_day="registration"),
    RegistrationCertificate(code="013", kinds=(5,), number_form=_civil_number("基"), on_day="registration"),
    RegistrationCertificate(code="071", kinds=(6,), number_form=_institution_number, on_day="registration"),
    Permit(code="031", kinds=MARKET_KINDS, flag="food", share=0.8, gone_share=0.3, since="2015-10-01",
           number_form=_food_number, detail_form=_food_scope, revoke=0.01, on_day="registration"),
    Permit(code="073", kinds=MARKET_KINDS, flag="tobacco", share=0.45, since="2005-01-01",
           number_form=_tobacco_number, revoke=0.01),
    Permit(code="038", kinds=(1,), flag="construction", share=0.6, since="2010-01-01",
           number_form=_construction_number, detail_form=_qualification, detail_after_status=True, revoke=0.01),
    TradeFiling(code="060", kinds=(1,), flag="trade", share=0.25, number_form=_trade_number, revoke=0.01),
    Permit(code="053", kinds=(1, 2), flag="pollutant", share=0.5, since="2017-06-01",
           number_form=_discharge_number, detail_form=_industry, revoke=0.01),
    Permit(code="055", kinds=(1,), flag="safety", share=0.4, since="2005-01-01",
           number_form=_safety_number, detail_form=_safety_trade, detail_after_status=True, revoke=0.01),
    Permit(code="068", kinds=(1, 2), flag="water", share=0.15, since="2008-01-01",
           number_form=_water_number, detail_form=_water_intake, detail_after_status=True, revoke=0.01),
    CorporateTitle(code="035", kinds=(1, 6), share=0.15, live_only=True, number_form=_title_number,
                   detail_form=_site),
    Permit(code="065", kinds=(0, 1), flag="ads", unflagged_share=0.03, share=0.5, fallback_kinds=MARKET_KINDS,
           since="2012-01-01", number_form=_ads_number, detail_form=_shop_front, revoke=0.01),
)
