"""The licence-issuance model: what the rules of one licence type say, for day 1 and for day 2.

A :class:`LicenceType` states once who may hold its papers (:meth:`~LicenceType.eligible`, weighted by
:meth:`~LicenceType.rate`), how a paper's validity runs from its issue (``validity_years`` of
``licence_types.csv``, renewed or not), what the department writes on it (number format and detail,
:meth:`~LicenceType.paper`), its status (expired, fallen with its holder, revoked) and how new papers
arise on a simulated day (:attr:`~LicenceType.on_day`: at a birth, a marriage, a registration, or by
application). Day 1 asks each type for the papers the city already holds (:meth:`~LicenceType.held`,
from its history in :meth:`~LicenceType.stock`); the day-2 delta asks it for the papers of the day
(:meth:`~LicenceType.issued_on`). Both go through the same rules, so a type is declared in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import strs
from pipelines.synthetic.entities import Entities
from pipelines.synthetic.licences.library import ENTITY, NAT, PERSON, Issued, licence_types
from pipelines.synthetic.minting import sample_unique
from pipelines.synthetic.population import Households, Persons, age_at, years

#: How new papers of a type arise on a simulated day.
OnDay = Literal["birth", "marriage", "registration", "application"]
#: Who signs a paper: the issuing department of ``licence_types.csv``, or the public security office
#: of the holder's county (identity cards) or of the household's town (household booklets).
IssuedBy = Literal["department", "county_police", "police_station"]
#: Tries to draw a new paper number that no paper in the library has yet.
NUMBER_TRIES = 10


@dataclass
class Population:
    """What issuance may look at, as of ``day``: persons, households, entities and the address book."""

    persons: Persons
    households: Households
    entities: Entities
    addresses: pa.Array
    day: np.datetime64
    age: np.ndarray = field(init=False)
    alive: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.age = age_at(self.persons.birth, self.day)
        self.alive = self.persons.alive

    def heads(self) -> np.ndarray:
        """Whether each person heads a household (户主)."""
        mask = np.zeros(self.persons.n, bool)
        hh = self.households
        mask[hh.head[hh.head < self.persons.n]] = True
        return mask

    def gone(self, holder_kind: int, holders: np.ndarray) -> np.ndarray:
        """Whether each holder has died (a person) or left the register (an entity)."""
        if holder_kind == PERSON:
            return ~self.alive[holders]
        return self.entities.status[holders] > 0


@dataclass
class Grant:
    """Who is issued a paper, and its issue date and validity, before the paper itself is drawn."""

    holder: np.ndarray
    issue: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray

    @property
    def n(self) -> int:
        return int(self.holder.shape[0])

    def take(self, idx: np.ndarray) -> Grant:
        return Grant(self.holder[idx], self.issue[idx], self.valid_from[idx], self.valid_to[idx])


@dataclass(frozen=True)
class LifeEvents:
    """What happened on a simulated day that makes departments issue papers or end them."""

    births: np.ndarray
    grooms: np.ndarray  # with brides[i]: the couples married on the day
    brides: np.ndarray
    deaths: np.ndarray
    registrations: np.ndarray
    deregistrations: np.ndarray
    applications: int  # papers applied for on the day, spread over the types by their daily share


@dataclass(frozen=True, kw_only=True)
class LicenceType:
    """One licence type as the city issues it (subclasses state its history and its paper)."""

    code: str
    holder_kind: int = PERSON
    on_day: OnDay | None = None
    #: share of the day's applications that are for this type (``on_day="application"``)
    daily_share: float = 0.0
    #: share of the stock revoked over its life; None: no revocations (and no draw for them)
    revoke: float | None = None
    #: the paper falls (status 2) when its holder dies or is deregistered
    ends_with_holder: bool = True
    #: a paper's validity runs again from each renewal (else it simply ends after validity_years)
    renewed: bool = False
    issued_by: IssuedBy = "department"

    # -- the rules -----------------------------------------------------------------------------------
    @property
    def validity_years(self) -> int | None:
        vy = licence_types()[self.code]["validity_years"]
        return int(vy) if vy else None

    def eligible(self, pop: Population) -> np.ndarray:
        """Who may hold a paper of this type (a mask over persons or entities)."""
        raise NotImplementedError

    def rate(self, pop: Population) -> float | np.ndarray:
        """How likely each eligible one holds (or applies for) a paper."""
        return 1.0

    def validity(self, pop: Population, holder: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Valid from / to as of ``pop.day`` for papers first issued on ``first`` (NaT: long-term)."""
        vy = self.validity_years
        if vy is None:
            return first, np.full(first.shape[0], NAT)
        if self.renewed:
            return renewal(first, vy, pop.day)
        return first, (first + years(vy)).astype("datetime64[D]")

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array | None]:
        """The paper number and detail the department writes; running numbers start after
        ``first_serial`` papers of the type already issued."""
        raise NotImplementedError

    def co_holders(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray | None:
        """A second holder of each paper (-1: none), or None when a paper always has one holder."""
        return None

    def status(self, rng: np.random.Generator, pop: Population, g: Grant) -> np.ndarray:
        """Status of held papers as of ``pop.day``: expired, fallen with the holder, revoked."""
        gone = pop.gone(self.holder_kind, g.holder) & self.ends_with_holder
        return stock_status(g.valid_to, gone, pop.day, rng, self.revoke)

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        """Day 1: who holds a paper of this type and since when (the type's history)."""
        raise NotImplementedError

    # -- the two days ----------------------------------------------------------------------------------
    def held(self, rng: np.random.Generator, pop: Population) -> Issued:
        """Day 1: the papers of this type the city holds."""
        g = self.stock(rng, pop)
        number, detail = self.paper(rng, pop, g, 0)
        co = self.co_holders(rng, pop, g)
        return self.issued(g, number, detail, self.status(rng, pop, g), co)

    def issued_on(
        self, rng: np.random.Generator, pop: Population, holders: np.ndarray, taken: pa.Array, first_serial: int
    ) -> Issued:
        """Papers issued on ``pop.day`` to ``holders``, numbered unlike any paper in ``taken``."""
        first = np.full(holders.shape[0], pop.day, "datetime64[D]")
        g = Grant(holders, first, *self.validity(pop, holders, first))
        number, detail = self.paper(rng, pop, g, first_serial)
        for _ in range(NUMBER_TRIES):
            clash = np.asarray(pc.is_in(number, value_set=taken))
            if not clash.any():
                break
            again, again_detail = self.paper(rng, pop, g.take(np.flatnonzero(clash)), first_serial)
            number = pc.replace_with_mask(number, pa.array(clash), again.cast(number.type))
            if detail is not None and again_detail is not None:
                detail = pc.replace_with_mask(detail, pa.array(clash), again_detail.cast(detail.type))
        co = self.co_holders(rng, pop, g)
        return self.issued(g, number, detail, np.full(g.n, "1"), co)

    def issued(
        self,
        g: Grant,
        number: pa.Array,
        detail: pa.Array | None,
        status: np.ndarray,
        co: np.ndarray | None,
    ) -> Issued:
        """The batch of rows for papers: one per holder, the second holders of a paper after all the
        first ones, sharing its number, dates, status, detail and paper group."""
        if co is None:
            return Issued(self.code, self.holder_kind, g.holder, number, g.issue, g.valid_from, g.valid_to,
                          status, detail)
        cs = np.flatnonzero(co >= 0)

        def both(v: np.ndarray) -> np.ndarray:
            return np.concatenate([v, v[cs]])

        def both_text(v: pa.Array) -> pa.Array:
            return pa.concat_arrays([v, v.take(pa.array(cs))])

        return Issued(
            self.code,
            self.holder_kind,
            np.concatenate([g.holder, co[cs]]),
            both_text(number),
            both(g.issue),
            both(g.valid_from),
            both(g.valid_to),
            both(status),
            None if detail is None else both_text(detail),
            both(np.arange(g.n)),
        )


# -- what the rules of several types share ---------------------------------------------------------------


def draw_holders(
    rng: np.random.Generator,
    eligible: np.ndarray,
    p: float | np.ndarray,
    k_min: int = 3,
    fallback: np.ndarray | None = None,
) -> np.ndarray:
    """Holders drawn with probability ``p`` among the eligible, at least ``k_min`` of them (so even a
    small test city has every licence type and every source table has rows); when too few are
    eligible, the ``fallback`` pool (e.g. any enterprise instead of a construction one) tops up."""
    sel = np.flatnonzero(eligible & (rng.random(eligible.size) < p))
    for pool_mask in (eligible, fallback):
        if sel.size >= k_min or pool_mask is None:
            break
        pool = np.setdiff1d(np.flatnonzero(pool_mask), sel)
        sel = np.union1d(sel, rng.choice(pool, size=min(k_min - sel.size, pool.size), replace=False))
    return sel


def dates_between(
    rng: np.random.Generator, lo: np.ndarray | np.datetime64, hi: np.ndarray | np.datetime64, n: int
) -> np.ndarray:
    """``n`` uniform random days in ``[lo, hi]`` (bounds per row or shared)."""
    lo = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (n,))
    span = np.maximum((hi - lo).astype(np.int64), 0)
    return lo + (rng.random(n) * (span + 1)).astype(np.int64).astype("timedelta64[D]")


def renewal(first: np.ndarray, period_years: int, as_of: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    """Latest renewal start and its end as of ``as_of`` for a paper renewed every ``period_years``."""
    span = (as_of - first).astype(np.int64) / 365.25
    k = np.floor(np.maximum(span, 0) / period_years)
    vf = (first + years(k * period_years)).astype("datetime64[D]")
    return vf, (vf + years(period_years)).astype("datetime64[D]")


def stock_status(
    valid_to: np.ndarray,
    gone: np.ndarray,
    as_of: np.datetime64,
    rng: np.random.Generator,
    revoke: float | None,
) -> np.ndarray:
    """licence_status codes: 4 expired, 2 fallen with its holder, 3 revoked (share ``revoke``), else 1."""
    s = np.where(~np.isnat(valid_to) & (valid_to < as_of), "4", "1")
    s = np.where(gone, "2", s)
    if revoke is not None:
        s = np.where(rng.random(valid_to.shape[0]) < revoke, "3", s)
    return s.astype("<U1")


def unique_serials(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """``n`` distinct random serials of ``width`` digits, zero-padded - wider when ``n`` would crowd
    them (a seed-scale city issues more papers of a type than a small register's format holds)."""
    digits = max(width, len(str(4 * n)))
    return strs.to_arrow(strs.zpad(sample_unique(rng, n, 10**digits), digits))


def serial(prefix: str | pa.Array, values: np.ndarray, width: int) -> pa.Array:
    """``prefix`` followed by ``values`` zero-padded to ``width``."""
    return strs.cat(prefix, strs.to_arrow(strs.zpad(values, width)))


__all__ = [
    "ENTITY",
    "PERSON",
    "Grant",
    "IssuedBy",
    "LicenceType",
    "LifeEvents",
    "OnDay",
    "Population",
    "dates_between",
    "draw_holders",
    "renewal",
    "serial",
    "stock_status",
    "unique_serials",
]
