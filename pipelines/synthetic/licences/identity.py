"""Identity and household papers of public security: 居民身份证, 居民户口簿 and 居住证.

They are derived from the population register itself, as the bureaus issue them:

* **居民身份证** (001): everyone who reached 16 holds one (the dead too: their card fell with them),
  younger children on request (more of them as they near 16). The number is the resident id. Cards
  are valid by the holder's age at issue as GB 11643 practice has it - 5 years under 16, 10 years
  from 16 to 25, 20 years from 26 to 45, long-term from 46 - and are renewed around their expiry, so
  the card held today is the latest of that run; a few were reissued after a loss, a few lapsed.
  Second-generation cards replaced the first generation from 2004 to 2013, so nobody's card is older.
  Signed by the public security bureau of the holder's county.
* **居民户口簿** (002): one booklet per household, held by its head (户主) and numbered by the 户号; the
  booklet lists every member, but the library holds one licence per holder copy, so members reach
  it through the household number the population master records for them. When the head has died
  the booklet fell with him and the first living member holds the reissued one (户主变更). Signed by
  the police station of the household's town.
* **居住证** (003): the city's persons are its registered residents, so residence permits went to those
  who came from elsewhere (a resident id issued outside Bozhou) while their registration had not
  moved yet: issued since the 2016 rules, renewed yearly, most lapsed once the household moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.synthetic import places, strs
from pipelines.synthetic.licences.library import NAT
from pipelines.synthetic.licences.model import (
    Grant,
    IssuedBy,
    LicenceType,
    Population,
    dates_between,
    draw_holders,
)
from pipelines.synthetic.minting import rid_strings, sample_unique
from pipelines.synthetic.population import age_at, years

#: (age at issue below which, years valid) of a resident identity card; from 46 it is long-term.
CARD_TERMS = ((16, 5), (26, 10), (46, 20))
#: Second-generation cards were issued from this day; the first generation was replaced by 2013's end.
SECOND_GENERATION = np.datetime64("2004-03-29")
REPLACED_BY = np.datetime64("2013-12-31")
#: How many renewals a card's run may have had since 2004 (a 5-year child card, then 10, 20 ...).
MAX_RENEWALS = 6
RESIDENCE_RULES = np.datetime64("2016-01-01")
COUNTY_CODES = np.array([int(c) for c in places.COUNTIES])


def card_term(birth: np.ndarray, issue: np.ndarray) -> np.ndarray:
    """Years a card issued on ``issue`` is valid (0: long-term), by the holder's age then."""
    age = age_at(birth, issue)
    term = np.zeros(age.shape[0], np.int64)
    for below, yrs in reversed(CARD_TERMS):
        term = np.where(age < below, yrs, term)
    return term


def _card_end(birth: np.ndarray, issue: np.ndarray) -> np.ndarray:
    term = card_term(birth, issue)
    return np.where(term > 0, issue + years(term), NAT).astype("datetime64[D]")


@dataclass(frozen=True, kw_only=True)
class IdentityCard(LicenceType):
    """居民身份证: everyone from 16 (and children on request), valid by age at issue, renewed."""

    issued_by: IssuedBy = "county_police"
    #: share of holders who let an expired card lapse; share whose card was reissued after a loss
    lapse: float = 0.015
    reissued: float = 0.03

    def eligible(self, pop: Population) -> np.ndarray:
        return np.ones(pop.persons.n, bool)

    def rate(self, pop: Population) -> np.ndarray:
        age = age_at(pop.persons.birth, self._last_day(pop))
        return np.where(age >= 16, 0.995, np.clip(0.05 + 0.025 * age, 0, 1))

    def validity(self, pop: Population, holder: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return first, _card_end(pop.persons.birth[holder], first)

    @staticmethod
    def _last_day(pop: Population) -> np.ndarray:
        """The day 1 date, or the day of death: nothing is issued to the dead."""
        return np.where(pop.alive, pop.day, pop.persons.death).astype("datetime64[D]")

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        sel = draw_holders(rng, self.eligible(pop), self.rate(pop))
        birth, last = pop.persons.birth[sel], self._last_day(pop)[sel]
        at16 = birth + years(16 + rng.gamma(1.5, 0.25, sel.size))
        replaced = dates_between(rng, SECOND_GENERATION, REPLACED_BY, sel.size)
        child = age_at(birth, last) < 16
        on_request = dates_between(rng, np.maximum(birth + np.timedelta64(30, "D"), SECOND_GENERATION), last, sel.size)
        # who turned 16 before 2004 got the second-generation card in the replacement years
        issue = np.where(child, on_request, np.where(at16 >= SECOND_GENERATION, at16, replaced))
        issue = np.minimum(issue, last).astype("datetime64[D]")
        end = _card_end(birth, issue)
        renews = rng.random(sel.size) >= self.lapse
        for _ in range(MAX_RENEWALS):  # renewed a few weeks before the card runs out
            due = renews & ~np.isnat(end) & (end <= last)
            if not due.any():
                break
            again = end - rng.integers(0, 60, sel.size).astype("timedelta64[D]")
            issue = np.where(due, again, issue)
            end = np.where(due, _card_end(birth, again), end)
        lost = (rng.random(sel.size) < self.reissued) & (issue < last)
        issue = np.where(lost, dates_between(rng, issue, last, sel.size), issue)
        end = np.where(lost, _card_end(birth, issue), end)
        return Grant(sel, issue, issue, end)

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        return strs.to_arrow(rid_strings(pop.persons.id_digits[g.holder])), None


@dataclass(frozen=True, kw_only=True)
class HouseholdBooklet(LicenceType):
    """居民户口簿: one per household, held by the head (or, after the head's death, the next member)."""

    issued_by: IssuedBy = "police_station"

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.heads()

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        p, hh = pop.persons, pop.households
        heads = hh.head[hh.head < p.n]
        last = np.where(pop.alive, pop.day, p.death).astype("datetime64[D]")
        lo = np.maximum(p.birth[heads] + years(18), np.datetime64("1995-01-01"))
        issue = np.minimum(dates_between(rng, lo, last[heads], heads.size), last[heads])
        # the head died: the booklet is reissued to the first living member (户主变更)
        alive_members = np.flatnonzero(pop.alive & ~self.eligible(pop))
        first_alive = np.full(hh.n, p.n, np.int64)
        homes, at = np.unique(p.household[alive_members], return_index=True)  # members in person order
        first_alive[homes] = alive_members[at]
        orphaned = np.flatnonzero(~pop.alive[heads] & (first_alive[p.household[heads]] < p.n))
        successor = first_alive[p.household[heads[orphaned]]]
        changed = p.death[heads[orphaned]] + rng.integers(7, 90, orphaned.size).astype("timedelta64[D]")
        changed = np.minimum(changed, pop.day).astype("datetime64[D]")
        holder = np.concatenate([heads, successor])
        issued = np.concatenate([issue, changed])
        return Grant(holder, issued, *self.validity(pop, holder, issued))

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, pa.Array]:
        p = pop.persons
        home = p.household[g.holder]
        members = np.bincount(p.household[pop.alive], minlength=pop.households.n)[home]
        number = strs.to_arrow(pop.households.number[home].astype(str))
        return number, strs.cat("家庭户 ", strs.num(np.maximum(members, 1)), "人")


@dataclass(frozen=True, kw_only=True)
class ResidencePermit(LicenceType):
    """居住证 of persons from elsewhere, issued since 2016 and renewed yearly until they settled."""

    issued_by: IssuedBy = "county_police"
    renewed: bool = True
    share: float = 0.3
    lapse: float = 0.55

    def eligible(self, pop: Population) -> np.ndarray:
        return pop.alive & pop.persons.born_elsewhere & (pop.age >= 16)

    def rate(self, pop: Population) -> float:
        return self.share

    def stock(self, rng: np.random.Generator, pop: Population) -> Grant:
        p = pop.persons
        sel = draw_holders(rng, self.eligible(pop), self.share)
        arrived = np.where(np.isnat(p.marriage_date[sel]), p.birth[sel] + years(18), p.marriage_date[sel])
        first = dates_between(rng, np.maximum(arrived, RESIDENCE_RULES), pop.day, sel.size)
        vf, vt = self.validity(pop, sel, first)
        # settled: the household moved here and the permit was no longer renewed (its last year ran out)
        settled = (rng.random(sel.size) < self.lapse) & (first < pop.day - np.timedelta64(400, "D"))
        gone_by = dates_between(rng, first + np.timedelta64(365, "D"), pop.day - np.timedelta64(1, "D"), sel.size)
        vt = np.where(settled, gone_by, vt).astype("datetime64[D]")
        vf = np.where(settled, np.maximum(first, vt - np.timedelta64(365, "D")), vf).astype("datetime64[D]")
        return Grant(sel, vf, vf, vt)

    def paper(
        self, rng: np.random.Generator, pop: Population, g: Grant, first_serial: int
    ) -> tuple[pa.Array, None]:
        area = strs.num(COUNTY_CODES[pop.persons.county[g.holder]])
        return strs.cat("JZ", area, strs.to_arrow(strs.zpad(sample_unique(rng, g.n, 10**8), 8))), None


#: Public security's identity papers, in issuing order (after the types of person_types / entity_types).
IDENTITY_TYPES: tuple[LicenceType, ...] = (
    IdentityCard(code="001", on_day="application", daily_share=0.3),
    HouseholdBooklet(code="002"),
    ResidencePermit(code="003", revoke=0.0),
)
